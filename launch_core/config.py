"""Agent configuration: ``launch-config.yaml`` (W&B Launch compatible) and overrides.

Precedence: built-in defaults < file < environment (RELAUNCH_ENTITY,
RELAUNCH_MAX_JOBS, RELAUNCH_DATABASE_URL) < CLI flags.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from launch_core.errors import ConfigError, InvalidInput
from launch_core.inputs import describe_validation_error, parse_json_or_yaml

DEFAULT_CONFIG_PATH = Path("~/.config/relaunch/launch-config.yaml")
# Keys a W&B Launch agent config may hold that relaunch accepts but does not use.
WANDB_ONLY_KEYS = frozenset({"max_schedulers", "base_url"})


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


class RegistryConfig(_Section):
    """Legacy ``registry`` section: a form of ``builder.destination``."""

    type: Literal["ecr", "gcr", "acr"] | None = None
    uri: str | None = None


class EnvironmentConfig(_Section):
    """Cloud environment of the agent (``environment`` section)."""

    type: Literal["aws", "gcp", "azure"] | None = None
    region: str | None = None


class AgentConfig(_Section):
    """Everything an agent runs with. Unknown keys are errors."""

    max_jobs: int = 1
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

    @field_validator("max_jobs")
    @classmethod
    def _check_max_jobs(cls, value: int) -> int:
        if value < -1 or value == 0:
            raise ValueError("must be a positive number of jobs, or -1 for unlimited")
        return value

    @property
    def unlimited(self) -> bool:
        return self.max_jobs == -1


def config_path(explicit: str | None = None,
                environ: dict[str, str] | None = None) -> Path | None:
    """The config file to read: ``-c``, else RELAUNCH_CONFIG, else the default if it exists."""
    environ = dict(os.environ) if environ is None else environ
    if explicit:
        return Path(explicit)
    if environ.get("RELAUNCH_CONFIG"):
        return Path(environ["RELAUNCH_CONFIG"])
    default = DEFAULT_CONFIG_PATH.expanduser()
    return default if default.is_file() else None


def load_agent_config(path: str | None = None, *, flags: dict[str, Any] | None = None,
                      environ: dict[str, str] | None = None,
                      data: dict[str, Any] | None = None) -> tuple[AgentConfig, list[str]]:
    """Build the agent config from its layers; return it with warnings to show.

    ``data`` replaces the file (e.g. a config loaded from a Prefect block). Raises
    ConfigError naming the key and the file for an unknown key or a bad value.
    """
    environ = dict(os.environ) if environ is None else environ
    source = "launch config"
    if data is None:
        file = config_path(path, environ)
        data, source = ({}, source) if file is None else (_read_file(file), str(file))
    warnings = [f"{source}: key {key!r} is a W&B Launch setting relaunch does not use"
                for key in data if key in WANDB_ONLY_KEYS]
    layered = {k: v for k, v in data.items() if k not in WANDB_ONLY_KEYS}
    layered.update(_from_environment(environ))
    layered.update({k: v for k, v in (flags or {}).items() if v not in (None, [], ())})
    try:
        return AgentConfig.model_validate(layered), warnings
    except ValidationError as exc:
        message = describe_validation_error(exc, source)
        raise ConfigError(message.replace(": unknown field", ": unknown key")) from None


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


def _from_environment(environ: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if environ.get("RELAUNCH_ENTITY"):
        found["entity"] = environ["RELAUNCH_ENTITY"]
    if environ.get("RELAUNCH_MAX_JOBS"):
        try:
            found["max_jobs"] = int(environ["RELAUNCH_MAX_JOBS"])
        except ValueError:
            raise ConfigError("RELAUNCH_MAX_JOBS: expected an integer") from None
    if environ.get("RELAUNCH_DATABASE_URL"):
        found["database"] = environ["RELAUNCH_DATABASE_URL"]
    return found
