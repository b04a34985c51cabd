"""launch_core.spec.agent_config.load_agent_config: layers, file resolution and W&B compatibility.

Real files in tmp dirs; the environment layer is passed explicitly with ``environ=``
so the test process's own RELAUNCH_* variables never leak in.
"""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from launch_core.errors import ConfigError
from launch_core.spec.agent_config import AgentConfig, load_agent_config
from tests.support import write

WANDB_AWS_CONFIG = """\
max_jobs: 4
entity: my-team
queues:
  - default
  - gpu-queue
max_schedulers: 2
environment:
  type: aws
  region: us-east-1
registry:
  type: ecr
  uri: 123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repo
builder:
  type: docker
  build-context-store: s3://my-bucket/contexts
verbosity: 1
"""

WANDB_GCP_CONFIG = """\
# W&B Launch agent on GCP (Vertex AI), building with Kaniko
max_jobs: -1
entity: ml-research
queues:
  - vertex-queue
environment:
  type: gcp
  region: us-central1
registry:
  type: gcr
  uri: us-central1-docker.pkg.dev/my-project/my-repo/my-image
builder:
  type: kaniko
  build-context-store: gs://my-bucket/build-contexts
  build-job-name: wandb-image-build
verbosity: 2
"""

pytestmark = pytest.mark.usefixtures("home")


# --- defaults and file values -------------------------------------------------------


def test_built_in_defaults_without_any_file() -> None:
    config, warnings = load_agent_config(None, environ={})
    assert warnings == []
    assert config.max_jobs == 1
    assert not config.unlimited
    assert config.queues == []
    # entity defaults to RELAUNCH_ENTITY else the user name; the agent fills it in later
    assert config.entity in (None, getpass.getuser())
    assert config.verbosity == 0
    assert config.stopped_run_timeout == 60
    assert config.secure_mode is False
    assert config.database is None
    assert config.poll_interval == 1
    assert config.lease_seconds == 60
    assert config.registry is None
    assert config.environment is None
    assert config.builder.type is None  # docker-or-noop is decided by the agent
    assert config.allow_git_schemes == []


def test_file_values_are_read(tmp_path: Path) -> None:
    path = write(tmp_path / "agent.yaml", """\
max_jobs: 3
entity: vision
queues: [a, b]
verbosity: 2
stopped_run_timeout: 5
secure_mode: true
database: postgresql://db.example/relaunch
poll_interval: 0.5
lease_seconds: 30
builder:
  type: noop
  destination: registry.example.com/team/repo
  platform: linux/amd64
""")
    config, warnings = load_agent_config(str(path), environ={})
    assert warnings == []
    assert config.max_jobs == 3
    assert config.entity == "vision"
    assert config.queues == ["a", "b"]
    assert config.verbosity == 2
    assert config.stopped_run_timeout == 5
    assert config.secure_mode is True
    assert config.database == "postgresql://db.example/relaunch"
    assert config.poll_interval == 0.5
    assert config.lease_seconds == 30
    assert config.builder.type == "noop"
    assert config.builder.destination == "registry.example.com/team/repo"
    assert config.builder.platform == "linux/amd64"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "empty.yaml", "")
    config, _ = load_agent_config(str(path), environ={})
    assert config.model_dump() == AgentConfig().model_dump()
    assert config.source == path


def test_json_file_is_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "agent.json", '{"max_jobs": 2, "queues": ["q"]}')
    config, _ = load_agent_config(str(path), environ={})
    assert (config.max_jobs, config.queues) == (2, ["q"])


# --- precedence ---------------------------------------------------------------------

FILE_LAYER = """\
entity: from-file
max_jobs: 2
database: sqlite:////from/file.db
queues: [file-q]
"""
ENV_LAYER = {"RELAUNCH_ENTITY": "from-env", "RELAUNCH_MAX_JOBS": "5",
             "RELAUNCH_DATABASE_URL": "postgresql://env-host/relaunch"}


def test_file_overrides_defaults(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", FILE_LAYER)
    config, _ = load_agent_config(str(path), environ={})
    assert config.entity == "from-file"
    assert config.max_jobs == 2
    assert config.database == "sqlite:////from/file.db"
    assert config.queues == ["file-q"]


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", FILE_LAYER)
    config, _ = load_agent_config(str(path), environ=dict(ENV_LAYER))
    assert config.entity == "from-env"
    assert config.max_jobs == 5
    assert config.database == "postgresql://env-host/relaunch"
    assert config.queues == ["file-q"]  # no environment variable for queues


def test_environment_overrides_defaults_without_file() -> None:
    config, _ = load_agent_config(None, environ=dict(ENV_LAYER))
    assert (config.entity, config.max_jobs) == ("from-env", 5)
    assert config.database == "postgresql://env-host/relaunch"


def test_flags_override_environment_and_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", FILE_LAYER)
    config, _ = load_agent_config(
        str(path), environ=dict(ENV_LAYER),
        flags={"entity": "from-flag", "max_jobs": 7, "queues": ["flag-q"]})
    assert config.entity == "from-flag"
    assert config.max_jobs == 7
    assert config.queues == ["flag-q"]
    assert config.database == "postgresql://env-host/relaunch"  # no flag: env still wins


def test_unset_flags_do_not_hide_lower_layers(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", FILE_LAYER)
    config, _ = load_agent_config(str(path), environ={"RELAUNCH_MAX_JOBS": "6"},
                                  flags={"entity": None, "max_jobs": None, "queues": []})
    assert config.entity == "from-file"
    assert config.max_jobs == 6
    assert config.queues == ["file-q"]


def test_empty_environment_values_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", FILE_LAYER)
    config, _ = load_agent_config(str(path), environ={"RELAUNCH_ENTITY": "",
                                                      "RELAUNCH_MAX_JOBS": ""})
    assert (config.entity, config.max_jobs) == ("from-file", 2)


def test_non_integer_max_jobs_in_environment_is_an_error() -> None:
    with pytest.raises(ConfigError, match="RELAUNCH_MAX_JOBS"):
        load_agent_config(None, environ={"RELAUNCH_MAX_JOBS": "four"})


def test_environ_argument_replaces_the_process_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAUNCH_ENTITY", "process-env")
    monkeypatch.setenv("RELAUNCH_MAX_JOBS", "9")
    config, _ = load_agent_config(None, environ={})
    assert config.entity != "process-env"
    assert config.max_jobs == 1


# --- which file ---------------------------------------------------------------------


def _default_file(home: Path, text: str) -> Path:
    return write(home / ".config" / "relaunch" / "launch-config.yaml", text)


def test_default_path_under_home_is_used(home: Path) -> None:
    _default_file(home, "entity: from-default\n")
    config, _ = load_agent_config(None, environ={})
    assert config.entity == "from-default"


def test_relaunch_config_beats_default_path(home: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _default_file(home, "entity: from-default\n")
    other = write(tmp_path / "other.yaml", "entity: from-relaunch-config\n")
    monkeypatch.setenv("RELAUNCH_CONFIG", str(other))
    config, _ = load_agent_config(None, environ={"RELAUNCH_CONFIG": str(other)})
    assert config.entity == "from-relaunch-config"


def test_explicit_path_beats_relaunch_config(home: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    _default_file(home, "entity: from-default\n")
    other = write(tmp_path / "other.yaml", "entity: from-relaunch-config\n")
    explicit = write(tmp_path / "explicit.yaml", "entity: from-flag-c\n")
    monkeypatch.setenv("RELAUNCH_CONFIG", str(other))
    config, _ = load_agent_config(str(explicit), environ={"RELAUNCH_CONFIG": str(other)})
    assert config.entity == "from-flag-c"


def test_relaunch_config_given_in_environ_argument_is_used(tmp_path: Path) -> None:
    """``environ=`` is the environment: RELAUNCH_CONFIG in it picks the file too."""
    other = write(tmp_path / "other.yaml", "entity: from-relaunch-config\n")
    config, _ = load_agent_config(None, environ={"RELAUNCH_CONFIG": str(other)})
    assert config.entity == "from-relaunch-config"


def test_missing_explicit_file_is_an_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="nope.yaml"):
        load_agent_config(str(missing), environ={})


def test_missing_relaunch_config_file_is_an_error(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "gone.yaml"
    monkeypatch.setenv("RELAUNCH_CONFIG", str(missing))
    with pytest.raises(ConfigError, match="gone.yaml"):
        load_agent_config(None, environ={"RELAUNCH_CONFIG": str(missing)})


# --- validation ---------------------------------------------------------------------


def test_unknown_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "typo.yaml", "max_job: 3\nqueues: [q]\n")
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    message = str(info.value)
    assert "max_job" in message
    assert str(path) in message
    assert "unknown key" in message


def test_unknown_nested_key_names_the_section(tmp_path: Path) -> None:
    path = write(tmp_path / "nested.yaml", "builder:\n  type: docker\n  colour: blue\n")
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    assert "builder.colour" in str(info.value)
    assert str(path) in str(info.value)


def test_wandb_only_key_is_accepted_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "wandb.yaml", "base_url: https://api.wandb.ai\nqueues: [q]\n")
    config, warnings = load_agent_config(str(path), environ={})
    assert config.queues == ["q"]
    assert len(warnings) == 1
    assert "base_url" in warnings[0]
    assert str(path) in warnings[0]


@pytest.mark.parametrize("value", [-1, 1, 64])
def test_max_jobs_accepted(tmp_path: Path, value: int) -> None:
    path = write(tmp_path / "c.yaml", f"max_jobs: {value}\n")
    config, _ = load_agent_config(str(path), environ={})
    assert config.max_jobs == value
    assert config.unlimited is (value == -1)


@pytest.mark.parametrize("value", [0, -2, -100])
def test_max_jobs_rejected_in_file(tmp_path: Path, value: int) -> None:
    path = write(tmp_path / "c.yaml", f"max_jobs: {value}\n")
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    assert "max_jobs" in str(info.value)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("value", ["0", "-2"])
def test_max_jobs_rejected_from_environment(value: str) -> None:
    with pytest.raises(ConfigError, match="max_jobs"):
        load_agent_config(None, environ={"RELAUNCH_MAX_JOBS": value})


@pytest.mark.parametrize("value", [0, -2])
def test_max_jobs_rejected_from_flags(value: int) -> None:
    with pytest.raises(ConfigError, match="max_jobs"):
        load_agent_config(None, environ={}, flags={"max_jobs": value})


def test_max_jobs_unlimited_from_environment() -> None:
    config, _ = load_agent_config(None, environ={"RELAUNCH_MAX_JOBS": "-1"})
    assert config.unlimited


def test_bad_verbosity_names_the_key(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "verbosity: loud\n")
    with pytest.raises(ConfigError, match="verbosity"):
        load_agent_config(str(path), environ={})


def test_wandb_verbosity_above_two_is_read_as_two_with_a_warning(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "verbosity: 3\n")
    config, warnings = load_agent_config(str(path), environ={})
    assert config.verbosity == 2
    assert len(warnings) == 1
    assert "verbosity 3" in warnings[0] and str(path) in warnings[0]


def test_malformed_yaml_is_a_config_error_naming_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "broken.yaml", "max_jobs: [1,\nqueues: q\n")
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    assert "broken.yaml" in str(info.value)


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string\n", "42\n"])
def test_non_mapping_file_is_a_config_error_naming_the_file(tmp_path: Path,
                                                            text: str) -> None:
    path = write(tmp_path / "list.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    assert "list.yaml" in str(info.value)


# --- W&B Launch configs load unchanged -----------------------------------------------


def test_wandb_aws_agent_config_loads_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path / "launch-config.yaml", WANDB_AWS_CONFIG)
    config, warnings = load_agent_config(str(path), environ={})
    assert config.max_jobs == 4
    assert config.entity == "my-team"
    assert config.queues == ["default", "gpu-queue"]
    assert config.environment is not None
    assert (config.environment.type, config.environment.region) == ("aws", "us-east-1")
    assert config.registry is not None
    assert config.registry.type == "ecr"
    assert config.registry.uri == "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-repo"
    assert config.builder.type == "docker"
    assert config.builder.build_context_store == "s3://my-bucket/contexts"
    assert config.verbosity == 1
    assert config.max_schedulers == 2  # W&B's: sweep schedulers run at once
    assert warnings == []


def test_wandb_gcp_agent_config_loads_unchanged(tmp_path: Path) -> None:
    path = write(tmp_path / "launch-config.yaml", WANDB_GCP_CONFIG)
    config, warnings = load_agent_config(str(path), environ={})
    assert warnings == []
    assert config.unlimited
    assert config.entity == "ml-research"
    assert config.queues == ["vertex-queue"]
    assert config.environment is not None
    assert (config.environment.type, config.environment.region) == ("gcp", "us-central1")
    assert config.registry is not None
    assert config.registry.type == "gcr"
    assert config.registry.uri == "us-central1-docker.pkg.dev/my-project/my-repo/my-image"
    assert config.builder.type == "kaniko"
    assert config.builder.build_context_store == "gs://my-bucket/build-contexts"
    assert config.builder.build_job_name == "wandb-image-build"
    assert config.verbosity == 2


def test_wandb_config_as_default_file_with_flag_overrides(home: Path) -> None:
    _default_file(home, WANDB_AWS_CONFIG)
    config, _ = load_agent_config(None, environ={"RELAUNCH_MAX_JOBS": "8"},
                                  flags={"queues": ["cli-q"]})
    assert config.max_jobs == 8
    assert config.queues == ["cli-q"]
    assert config.entity == "my-team"
    assert config.registry is not None and config.registry.type == "ecr"
