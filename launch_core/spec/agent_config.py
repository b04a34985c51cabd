"""Agent configuration: ``launch-config.yaml`` (W&B Launch compatible) and overrides.

Precedence: built-in defaults < file < environment (RELAUNCH_ENTITY, RELAUNCH_MAX_JOBS,
RELAUNCH_DATABASE_URL, then W&B's WANDB_ENTITY, WANDB_LAUNCH_MAX_JOBS) < CLI flags.
A key W&B's agent accepts but relaunch does not use is warned about, never an error.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from launch_core.errors import ConfigError, InvalidInput
from launch_core.spec.inputs import describe_validation_error, parse_json_or_yaml

DEFAULT_CONFIG_PATH = Path("~/.config/relaunch/launch-config.yaml")
WANDB_CONFIG_PATH = Path("~/.config/wandb/launch-config.yaml")  # read when ours is absent
# Keys of a W&B Launch agent config that relaunch accepts but does not use, by section
# ("" is the top level): W&B's agent schema, plus the keys its registries (repository,
# account_id, image-name, project, region) and its kaniko builder read from their sections.
WANDB_UNUSED_KEYS: dict[str, frozenset[str]] = {
    "": frozenset({"base_url"}),
    "builder": frozenset({"kaniko-config"}),
    "registry": frozenset({"repository", "account_id", "image-name", "project", "region"}),
}
MAX_VERBOSITY = 2
# The environment variables of a setting, relaunch's name first: the first one set wins.
ENV_NAMES: dict[str, tuple[str, ...]] = {
    "entity": ("RELAUNCH_ENTITY", "WANDB_ENTITY"),
    "project": ("RELAUNCH_PROJECT", "WANDB_PROJECT"),
    "max_jobs": ("RELAUNCH_MAX_JOBS", "WANDB_LAUNCH_MAX_JOBS"),
    "database": ("RELAUNCH_DATABASE_URL",),
}


def normalise_destination(value: str) -> str:
    """An image destination without ``https://``. Raises ValueError when it ends in a
    tag or digest (relaunch tags each image with the hash of its build context)."""
    value = value.removeprefix("https://")
    last = value.rsplit("/", 1)[1] if "/" in value else ""
    if ":" in last or "@" in last:
        raise ValueError(f"{value!r} includes a tag; give the repository only, relaunch "
                         "tags each image with the hash of its build context")
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BuilderConfig(_Section):
    """How images are built (``builder`` section)."""

    type: Literal["docker", "kaniko", "noop"] | None = None
    destination: str | None = None
    platform: str | None = None
    build_context_store: str | None = Field(None, alias="build-context-store")
    build_job_name: str | None = Field(None, alias="build-job-name")
    kaniko_image: str | None = Field(None, alias="kaniko-image")
    secret_name: str | None = Field(None, alias="secret-name")
    secret_key: str | None = Field(None, alias="secret-key")
    # relaunch's own keys: the generated Dockerfile's base image, and the name of a
    # Prefect credentials block for the destination (DockerRegistryCredentials for
    # OCI/ACR, AwsCredentials for ECR, GcpCredentials for Artifact Registry).
    base_image: str | None = Field(None, alias="base-image")
    credentials_block: str | None = Field(None, alias="credentials-block")

    @field_validator("destination")
    @classmethod
    def _check_destination(cls, value: str | None) -> str | None:
        return None if value is None else normalise_destination(value)

    @model_validator(mode="after")
    def _check_builder_settings(self) -> BuilderConfig:
        """The chosen builder checks its own keys (kaniko: build-context-store...)."""
        if self.type:
            from launch_core.backends.table import load_class
            from launch_core.errors import MissingExtra

            try:
                builder = load_class("builder", self.type)
            except MissingExtra:
                return self  # the agent, which builds with it, names the missing extra
            builder.check_settings(self)
        return self


class RegistryConfig(_Section):
    """Legacy ``registry`` section: a form of ``builder.destination``."""

    type: Literal["ecr", "gcr", "acr"] | None = None
    uri: str | None = None

    @field_validator("uri")
    @classmethod
    def _check_uri(cls, value: str | None) -> str | None:
        return None if value is None else normalise_destination(value)


class EnvironmentConfig(_Section):
    """Cloud environment of the agent (``environment`` section)."""

    type: Literal["aws", "gcp", "azure"] | None = None
    region: str | None = None


class AgentConfig(_Section):
    """Everything an agent runs with. Unknown keys are errors."""

    max_jobs: int = 1
    # Sweep schedulers it runs at once (W&B's, default 1, -1 unlimited); they do not
    # take a max_jobs slot (launch_core/sweep_runs/).
    max_schedulers: int = 1
    entity: str | None = None
    queues: list[str] = Field(default_factory=list)
    builder: BuilderConfig = Field(default_factory=lambda: BuilderConfig.model_validate({}))
    registry: RegistryConfig | None = None
    environment: EnvironmentConfig | None = None
    verbosity: Literal[0, 1, 2] = 0
    stopped_run_timeout: float = Field(60.0, ge=0)
    secure_mode: bool = False
    database: str | None = None
    poll_interval: float = Field(1.0, gt=0, le=60)
    lease_seconds: float = Field(60.0, ge=5)
    # Git URL schemes allowed besides https, ssh and scp-style (e.g. "file", "git").
    allow_git_schemes: list[str] = Field(default_factory=list)
    # Jobs also get W&B's variables (WANDB_CONFIG, WANDB_RUN_ID...); false: RELAUNCH_* only.
    wandb_env: bool = True
    # GPU devices this agent shares out to its local-process and local-container jobs
    # (launch-agent --gpus 0,1,2,3); None: it does not count GPUs.
    gpus: list[str] | None = None
    # Prometheus /metrics of the agent (launch-agent --metrics-port); None: not served.
    # 127.0.0.1 by default: the figures name queues and no one else need read them;
    # a pod sets 0.0.0.0 so Prometheus scrapes it on the pod IP.
    metrics_port: int | None = None
    metrics_host: str = Field("127.0.0.1", pattern=r"^[A-Za-z0-9.:_-]{1,253}$")
    # Seconds between two looks at each queue for its page in the Prefect UI (a table
    # artifact, flows/queue_artifact.py), written when it changed; 0: no page.
    queue_page_interval: float = Field(5.0, ge=0, le=3600)
    _source: Path | None = PrivateAttr(None)

    @field_validator("max_jobs", "max_schedulers")
    @classmethod
    def _check_max_jobs(cls, value: int) -> int:
        if value < -1 or value == 0:
            raise ValueError("must be a positive number of jobs, or -1 for unlimited")
        return value

    @field_validator("queue_page_interval")
    @classmethod
    def _check_queue_page_interval(cls, value: float) -> float:
        if 0 < value < 1:
            raise ValueError("must be 0 (no queue page) or at least 1 second")
        return value

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _check_metrics_port(cls, value: Any) -> Any:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or not 1 <= value <= 65535):
            raise ValueError("must be a TCP port from 1 to 65535")
        return value

    @field_validator("gpus", mode="before")
    @classmethod
    def _split_gpus(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        if isinstance(value, list):
            value = [str(part) if isinstance(part, int) and not isinstance(part, bool)
                     else part for part in value]
            if any(not isinstance(part, str) or not re.fullmatch(r"[A-Za-z0-9:_.-]{1,64}", part)
                   for part in value):
                raise ValueError("must be GPU device ids, e.g. 0,1,2,3 or GPU-uuid")
            if len(set(value)) != len(value):
                raise ValueError("names a device twice")
        return value

    @property
    def unlimited(self) -> bool:
        return self.max_jobs == -1

    @property
    def source(self) -> Path | None:
        """The file this config was read from; None when there was none (or a block)."""
        return self._source


def config_path(explicit: str | None = None,
                environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file to read: ``-c``, else RELAUNCH_CONFIG, else relaunch's default
    file if it exists, else W&B's (``~/.config/wandb/launch-config.yaml``) if it exists."""
    environ = os.environ if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get("RELAUNCH_CONFIG"):
        return Path(environ["RELAUNCH_CONFIG"])
    for default in (DEFAULT_CONFIG_PATH, WANDB_CONFIG_PATH):
        if default.expanduser().is_file():
            return default.expanduser()
    return None


def env_setting(key: str, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The first non-empty environment variable of setting ``key`` (``ENV_NAMES``:
    relaunch's name, then W&B's) as (name, value); None when none is set."""
    environ = os.environ if environ is None else environ
    for name in ENV_NAMES[key]:
        if environ.get(name):
            return name, environ[name]
    return None


def load_agent_config(path: str | None = None, *, flags: dict[str, Any] | None = None,
                      environ: Mapping[str, str] | None = None,
                      data: dict[str, Any] | None = None) -> tuple[AgentConfig, list[str]]:
    """Build the agent config from its layers; return it with warnings to show.

    ``data`` replaces the file (e.g. a config loaded from a Prefect block). The
    config's ``source`` is the file read, if any. Raises ConfigError naming the key
    and the file for an unknown key or a bad value; a W&B key relaunch does not use
    gets one warning naming it.
    """
    environ = os.environ if environ is None else environ
    source, file = "launch config", None
    if data is None:
        file = config_path(path, environ)
        data, source = ({}, source) if file is None else (_read_file(file), str(file))
    layered, warnings = _set_aside_wandb_keys(data, source)
    layered.update(_from_environment(environ))
    layered.update({k: v for k, v in (flags or {}).items() if v not in (None, [], ())})
    try:
        config = AgentConfig.model_validate(layered)
    except ValidationError as exc:
        message = describe_validation_error(exc, source)
        raise ConfigError(message.replace(": unknown field", ": unknown key")) from None
    config._source = file
    return config, warnings


def _set_aside_wandb_keys(data: dict[str, Any], source: str
                          ) -> tuple[dict[str, Any], list[str]]:
    """``data`` without the W&B keys relaunch does not use (and without null values,
    which W&B reads as its defaults), with one warning per key set aside. W&B's
    ``verbosity`` goes past 2; relaunch reads anything above as 2."""
    kept = {key: value for key, value in data.items()
            if value is not None and key not in WANDB_UNUSED_KEYS[""]}
    unused = [key for key, value in data.items()
              if value is not None and key in WANDB_UNUSED_KEYS[""]]
    for section in ("builder", "registry", "environment"):
        if isinstance(kept.get(section), dict):
            found = [key for key in kept[section] if _unused_in(section, key)]
            kept[section] = {k: v for k, v in kept[section].items() if k not in found}
            unused += [f"{section}.{key}" for key in found]
    warnings = [f"{source}: key {key!r} is a W&B Launch setting relaunch does not use"
                for key in unused]
    verbosity = kept.get("verbosity")
    if isinstance(verbosity, int) and not isinstance(verbosity, bool) and verbosity > MAX_VERBOSITY:
        warnings.append(f"{source}: verbosity {verbosity} is read as {MAX_VERBOSITY}, "
                        "relaunch's most verbose level")
        kept["verbosity"] = MAX_VERBOSITY
    return kept, warnings


def _unused_in(section: str, key: str) -> bool:
    if section == "environment":  # W&B warns about any key besides type and region
        return key not in EnvironmentConfig.model_fields
    return key in WANDB_UNUSED_KEYS[section]


def _read_file(file: Path) -> dict[str, Any]:
    if not file.is_file():
        raise ConfigError(f"-c/--config: file {file} not found")
    try:
        parsed = parse_json_or_yaml(file.read_text(encoding="utf-8"), str(file))
    except InvalidInput as exc:
        raise ConfigError(str(exc)) from None
    if parsed is None:
        return {}
    if not isinstance(parsed, dict):
        raise ConfigError(f"{file}: expected a mapping of keys, got {type(parsed).__name__}")
    return parsed


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in ("entity", "max_jobs", "database"):
        setting = env_setting(key, environ)
        if setting is None:
            continue
        name, value = setting
        if key == "max_jobs":
            try:
                found[key] = int(value)
            except ValueError:
                raise ConfigError(f"{name}: expected an integer") from None
        else:
            found[key] = value
    return found
