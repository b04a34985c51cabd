"""Reading W&B's launch spec (``launch -c``) into relaunch's launch fields."""

from __future__ import annotations

import re

import pytest

from launch_core.errors import InvalidInput
from launch_core.spec.launch_spec import read_launch_spec, resource_args_for

SOURCE = "-c/--config"


def test_every_supported_key_lands_in_its_field() -> None:
    spec = {
        "uri": "https://github.com/wandb/launch-jobs.git", "git": {"version": "main"},
        "docker": {"docker_image": "img:1"},
        "overrides": {"entry_point": ["python", "job.py"], "args": ["--lr", 0.5],
                      "run_config": {"lr": 0.5}, "dockerfile": "Dockerfile.wandb"},
        "resource_args": {"local-container": {"gpus": "all"}},
        "template_variables": {"gpus": 2}, "resource": "local-container", "priority": "high",
        "entity": "team", "project": "proj", "name": "run", "author": "me",
    }
    assert read_launch_spec(spec, SOURCE) == {
        "uri": "https://github.com/wandb/launch-jobs.git", "ref": "main", "image": "img:1",
        "entry_point": ["python", "job.py"], "args": ["--lr", "0.5"],
        "run_config": {"lr": 0.5}, "dockerfile": "Dockerfile.wandb",
        "resource_args": {"local-container": {"gpus": "all"}},
        "template_values": {"gpus": 2}, "resource": "local-container", "priority": "high",
        "entity": "team", "project": "proj", "name": "run", "author": "me",
    }


def test_the_empty_sections_wandb_fills_in_mean_unset() -> None:
    # construct_launch_spec always writes these, empty, into a spec it builds.
    spec = {"docker": {}, "git": {}, "overrides": {"args": [], "entry_point": []},
            "resource": None, "project": "", "run_id": None, "resource_args": {}}
    assert read_launch_spec(spec, SOURCE) == {}


def test_entry_point_string_is_split_like_a_shell() -> None:
    fields = read_launch_spec({"overrides": {"entry_point": "python 'my job.py'"}}, SOURCE)
    assert fields["entry_point"] == ["python", "my job.py"]


@pytest.mark.parametrize(("value", "name"), [(0, "critical"), (1, "high"), (2, "medium"),
                                              (3, "low"), ("LOW", "low")])
def test_priority_takes_wandb_numbers_and_names(value: object, name: str) -> None:
    assert read_launch_spec({"priority": value}, SOURCE)["priority"] == name


def test_job_is_read_as_a_launch_job_reference() -> None:
    assert read_launch_spec({"job": "team/proj/train:v0"}, SOURCE) == {
        "job": "team/proj/train:v0"}


@pytest.mark.parametrize(("spec", "message"), [
    ({"foo": 1}, "key 'foo' is not supported (-c takes W&B's launch spec"),
    ({"out": "/tmp"}, "put a run config under overrides.run_config, or pass it with "
                      "--run-config"),
    ({"overrides": {"bar": 1}}, "key 'overrides.bar' is not supported"),
    ({"run_id": "abc"}, "key 'run_id' is not supported (relaunch assigns"),
    ({"docker": {"user_id": 1000}}, "key 'docker.user_id' is not supported"),
    ({"overrides": {"artifacts": {"a": "b"}}}, "key 'overrides.artifacts' is not supported"),
    ({"overrides": "x"}, "key 'overrides' must be a mapping, got str"),
    ({"overrides": {"args": "--lr 1"}}, "key 'overrides.args' must be a list of strings"),
    ({"overrides": {"args": [True]}}, "key 'overrides.args' must be a list of strings"),
    ({"overrides": {"entry_point": [1]}}, "key 'overrides.entry_point' must be a list"),
    ({"overrides": {"run_config": [1]}}, "key 'overrides.run_config' must be a mapping"),
    ({"name": 3}, "key 'name' must be a string, got int"),
    ({"priority": 7}, "key 'priority' must be critical, high, medium, low or 0-3, got 7"),
])
def test_unsupported_keys_and_bad_values_name_the_key(spec: dict[str, object],
                                                      message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        read_launch_spec(spec, SOURCE)
    assert str(raised.value).startswith(f"{SOURCE}: ")
    assert message in str(raised.value)


def test_resource_args_for_the_queue_resource_are_its_body() -> None:
    args = {"local-container": {"gpus": "all"}}
    assert resource_args_for(args, "local-container", "q") == {"gpus": "all"}
    assert resource_args_for({}, "local-container", "q") == {}


@pytest.mark.parametrize(("args", "message"), [
    ({"kubernetes": {"namespace": "x"}},
     "resource_args: key 'kubernetes' is for another resource than queue 'q', which runs "
     "on local-container"),
    ({"local-process": {}}, "resource_args: key 'local-process' is for another resource"),
    ({"gpus": "all"}, "resource_args: key 'gpus' is not a resource: resource args are "
                      'keyed by resource, as in W&B ({"local-container": {...}})'),
    ({"local-container": ["x"]}, "resource_args: 'local-container' must be a mapping"),
])
def test_resource_args_for_another_resource_are_refused(args: dict[str, object],
                                                        message: str) -> None:
    with pytest.raises(InvalidInput, match="^" + re.escape(message)):
        resource_args_for(args, "local-container", "q")
