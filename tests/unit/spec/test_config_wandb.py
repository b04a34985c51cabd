"""A W&B Launch agent config loads unchanged: W&B's default file, W&B's environment
variables, every key of W&B's agent schema (used, or warned about once), and W&B's
destination rules (``https://`` stripped, a tag refused).

Real files under a temporary HOME; the environment layer is passed with ``environ=``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from launch_core.errors import ConfigError
from launch_core.spec.agent_config import env_setting, load_agent_config
from tests.support import write

# Every key of W&B's agent config schema (wandb/sdk/launch/agent/config.py), plus the
# keys W&B's registries and kaniko builder read from their sections, with values from
# W&B's documentation.
EVERY_WANDB_KEY = """\
entity: my-team
queues: [default, gpu-queue]
max_jobs: 4
max_schedulers: 2
base_url: https://api.wandb.ai
secure_mode: true
verbosity: 1
stopped_run_timeout: 30
environment:
  type: gcp
  region: us-central1
  project: my-gcp-project
registry:
  type: gcr
  uri: https://us-central1-docker.pkg.dev/my-gcp-project/my-repo/my-image
  repository: my-repo
  image-name: my-image
  project: my-gcp-project
  region: us-central1
  account_id: "123456789012"
builder:
  type: kaniko
  destination: https://us-central1-docker.pkg.dev/my-gcp-project/my-repo/my-image
  platform: linux/amd64
  build-context-store: gs://my-bucket/build-contexts
  build-job-name: wandb-image-build
  secret-name: registry-secret
  secret-key: config.json
  kaniko-image: gcr.io/kaniko-project/executor:latest
  kaniko-config:
    spec:
      template:
        spec:
          containers:
            - args: ["--cache=false"]
"""
UNUSED_KEYS = ["base_url", "builder.kaniko-config", "registry.repository",
               "registry.image-name", "registry.project", "registry.region",
               "registry.account_id", "environment.project"]

pytestmark = pytest.mark.usefixtures("home")


def wandb_default(home: Path, text: str) -> Path:
    return write(home / ".config" / "wandb" / "launch-config.yaml", text)


def relaunch_default(home: Path, text: str) -> Path:
    return write(home / ".config" / "relaunch" / "launch-config.yaml", text)


# --- which file ---------------------------------------------------------------------


def test_wandb_default_file_is_read_when_relaunch_has_none(home: Path) -> None:
    path = wandb_default(home, "entity: from-wandb\nqueues: [q]\n")
    config, _ = load_agent_config(None, environ={})
    assert (config.entity, config.queues) == ("from-wandb", ["q"])
    assert config.source == path


def test_relaunch_default_file_wins_over_wandb_default_file(home: Path) -> None:
    wandb_default(home, "entity: from-wandb\n")
    path = relaunch_default(home, "entity: from-relaunch\n")
    config, _ = load_agent_config(None, environ={})
    assert config.entity == "from-relaunch"
    assert config.source == path


def test_no_file_at_all_has_no_source() -> None:
    config, _ = load_agent_config(None, environ={})
    assert config.source is None


def test_data_from_a_block_has_no_source(home: Path) -> None:
    wandb_default(home, "entity: from-wandb\n")
    config, _ = load_agent_config(None, environ={}, data={"entity": "from-block"})
    assert (config.entity, config.source) == ("from-block", None)


def test_unknown_key_in_wandb_default_file_names_that_file(home: Path) -> None:
    path = wandb_default(home, "max_job: 3\n")
    with pytest.raises(ConfigError) as info:
        load_agent_config(None, environ={})
    assert str(path) in str(info.value) and "max_job" in str(info.value)


# --- environment variables ------------------------------------------------------------


def test_wandb_environment_variables_are_honoured() -> None:
    config, _ = load_agent_config(None, environ={"WANDB_ENTITY": "wandb-team",
                                                 "WANDB_LAUNCH_MAX_JOBS": "3"})
    assert (config.entity, config.max_jobs) == ("wandb-team", 3)


def test_relaunch_environment_variables_win_over_wandb_ones() -> None:
    config, _ = load_agent_config(None, environ={
        "RELAUNCH_ENTITY": "ours", "WANDB_ENTITY": "theirs",
        "RELAUNCH_MAX_JOBS": "2", "WANDB_LAUNCH_MAX_JOBS": "9"})
    assert (config.entity, config.max_jobs) == ("ours", 2)


def test_wandb_environment_variables_override_the_file(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "entity: from-file\nmax_jobs: 2\n")
    config, _ = load_agent_config(str(path), environ={"WANDB_ENTITY": "from-env",
                                                      "WANDB_LAUNCH_MAX_JOBS": "-1"})
    assert config.entity == "from-env"
    assert config.unlimited


def test_non_integer_wandb_max_jobs_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="WANDB_LAUNCH_MAX_JOBS: expected an integer"):
        load_agent_config(None, environ={"WANDB_LAUNCH_MAX_JOBS": "many"})


@pytest.mark.parametrize(("environ", "expected"), [
    ({"RELAUNCH_PROJECT": "ours", "WANDB_PROJECT": "theirs"}, ("RELAUNCH_PROJECT", "ours")),
    ({"RELAUNCH_PROJECT": "", "WANDB_PROJECT": "theirs"}, ("WANDB_PROJECT", "theirs")),
    ({}, None),
])
def test_project_setting_reads_relaunch_name_then_wandb_name(
        environ: dict[str, str], expected: tuple[str, str] | None) -> None:
    assert env_setting("project", environ) == expected


# --- every W&B key ------------------------------------------------------------------


def test_every_wandb_agent_key_loads_with_one_warning_per_unused_key(tmp_path: Path) -> None:
    path = write(tmp_path / "launch-config.yaml", EVERY_WANDB_KEY)
    config, warnings = load_agent_config(str(path), environ={})
    assert (config.entity, config.queues, config.max_jobs) == ("my-team", ["default",
                                                                           "gpu-queue"], 4)
    assert config.secure_mode is True and config.max_schedulers == 2
    assert (config.verbosity, config.stopped_run_timeout) == (1, 30)
    assert config.environment is not None
    assert (config.environment.type, config.environment.region) == ("gcp", "us-central1")
    assert config.registry is not None and config.registry.type == "gcr"
    assert config.registry.uri == "us-central1-docker.pkg.dev/my-gcp-project/my-repo/my-image"
    builder = config.builder
    assert (builder.type, builder.platform) == ("kaniko", "linux/amd64")
    assert builder.destination == "us-central1-docker.pkg.dev/my-gcp-project/my-repo/my-image"
    assert builder.build_context_store == "gs://my-bucket/build-contexts"
    assert builder.build_job_name == "wandb-image-build"
    assert (builder.secret_name, builder.secret_key) == ("registry-secret", "config.json")
    assert builder.kaniko_image == "gcr.io/kaniko-project/executor:latest"
    assert len(warnings) == len(UNUSED_KEYS)
    for key in UNUSED_KEYS:
        [warning] = [w for w in warnings if f"key {key!r}" in w]
        assert warning.startswith(f"{path}: ")


def test_any_extra_environment_key_is_warned_about_as_wandb_does(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "environment:\n  type: aws\n  region: eu-west-1\n"
                                      "  profile: ml\n")
    config, warnings = load_agent_config(str(path), environ={})
    assert config.environment is not None and config.environment.region == "eu-west-1"
    assert warnings == [f"{path}: key 'environment.profile' is a W&B Launch setting "
                        "relaunch does not use"]


@pytest.mark.parametrize("text", ["registry:\n  colour: blue\n",
                                  "builder:\n  kaniko_config: {}\n",
                                  "max_schedulerz: 1\n"])
def test_keys_unknown_to_wandb_too_stay_errors(tmp_path: Path, text: str) -> None:
    path = write(tmp_path / "typo.yaml", text)
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    assert "unknown key" in str(info.value) and str(path) in str(info.value)


def test_null_values_read_as_defaults_as_in_wandb(tmp_path: Path) -> None:
    path = write(tmp_path / "c.yaml", "max_jobs:\nentity:\nbuilder:\nqueues: [q]\n")
    config, _ = load_agent_config(str(path), environ={})
    assert (config.max_jobs, config.entity, config.builder.type) == (1, None, None)


def test_wandb_env_is_on_by_default_and_can_be_turned_off(tmp_path: Path) -> None:
    assert load_agent_config(None, environ={})[0].wandb_env is True
    path = write(tmp_path / "c.yaml", "wandb_env: false\n")
    assert load_agent_config(str(path), environ={})[0].wandb_env is False


# --- destinations -------------------------------------------------------------------


@pytest.mark.parametrize(("given", "kept"), [
    ("https://registry.example.com/team/repo", "registry.example.com/team/repo"),
    ("localhost:5000/team/repo", "localhost:5000/team/repo"),
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/repo",
     "123456789012.dkr.ecr.us-east-1.amazonaws.com/repo"),
])
@pytest.mark.parametrize("section", ["builder:\n  destination", "registry:\n  uri"])
def test_destination_is_normalised(tmp_path: Path, section: str, given: str,
                                   kept: str) -> None:
    path = write(tmp_path / "c.yaml", f"{section}: {given}\n")
    config, _ = load_agent_config(str(path), environ={})
    value = config.builder.destination if section.startswith("builder") else (
        config.registry.uri if config.registry else None)
    assert value == kept


@pytest.mark.parametrize(("section", "key"), [("builder:\n  destination", "builder.destination"),
                                              ("registry:\n  uri", "registry.uri")])
@pytest.mark.parametrize("given", ["https://registry.example.com/team/repo:v1",
                                   "localhost:5000/repo:latest",
                                   "registry.example.com/repo@sha256:" + "a" * 64])
def test_destination_with_a_tag_is_refused_naming_the_key_and_file(
        tmp_path: Path, section: str, key: str, given: str) -> None:
    path = write(tmp_path / "c.yaml", f"{section}: {given}\n")
    with pytest.raises(ConfigError) as info:
        load_agent_config(str(path), environ={})
    message = str(info.value)
    assert message.startswith(f"{path}: {key}: ")
    assert "includes a tag" in message and "\n" not in message
