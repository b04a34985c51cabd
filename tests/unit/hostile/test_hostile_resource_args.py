"""Hostile resource args and template values on local-container, sagemaker and vertex
queues: a submitter narrows what the queue's admin wrote, never widens it or points it
elsewhere (the admin-only fields each backend declares, launch_core.spec.guardrails).

Through the real CLI on a private SQLite store: each payload is refused at ``launch``
and ``launch --dry-run`` with exit 2 and one line naming the field, and nothing is
stored; a template variable placed in an admin-only field is refused at queue create.
No cloud is reached (queue create, dry-run and enqueue never call one)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.sample_configs import ECR_IMAGE, SAGEMAKER, VERTEX

LOCAL_CONTAINER = {"memory": "2g", "cpus": 1, "pids_limit": 256}
CONFIGS = {"local-container": LOCAL_CONTAINER, "sagemaker": SAGEMAKER, "vertex": VERTEX}
IMAGES = {"local-container": "img:1", "sagemaker": ECR_IMAGE, "vertex": "img:1"}

# (resource, -R payload, the field the refusal names)
HOSTILE = [
    ("local-container", {"network": "host"}, "network"),
    ("local-container", {"--network": "bridge"}, "network"),
    ("local-container", {"user": "0:0"}, "user"),
    ("local-container", {"memory": None}, "memory"),
    ("local-container", {"m": "512g"}, "memory"),
    ("local-container", {"pids-limit": -1}, "pids_limit"),
    ("local-container", {"gpus": "all"}, "gpus"),
    ("local-container", {"shm_size": "64g"}, "shm_size"),
    ("local-container", {"ulimit": "nofile=1048576"}, "ulimit"),
    ("sagemaker", {"RoleArn": "arn:aws:iam::123456789012:role/admin"}, "RoleArn"),
    ("sagemaker", {"profile": "prod-admin"}, "profile"),
    ("sagemaker", {"region": "eu-west-1"}, "region"),
    ("sagemaker", {"VpcConfig": {"SecurityGroupIds": ["sg-1"], "Subnets": ["s-1"]}},
     "VpcConfig"),
    ("sagemaker", {"ResourceConfig": {"InstanceType": "ml.p4d.24xlarge",
                                      "InstanceCount": 8, "VolumeSizeInGB": 10}},
     "ResourceConfig"),
    ("sagemaker", {"StoppingCondition": {"MaxRuntimeInSeconds": 2419200}},
     "StoppingCondition"),
    ("vertex", {"run": {"service_account": "admin@p.iam.gserviceaccount.com"}},
     "run.service_account"),
    ("vertex", {"run": {"network": "projects/1/global/networks/prod"}}, "run.network"),
    ("vertex", {"spec": {**VERTEX["spec"], "persistent_resource_id": "team-a-pool"}},
     "spec.persistent_resource_id"),
    # The builder section, whatever the resource: the agent pushes with its own registry
    # credentials, so a job must not point the push at another registry.
    ("local-container", {"builder": {"destination": "registry.evil.example/loot"}},
     "builder.destination"),
    ("sagemaker", {"builder": {"destination": "registry.evil.example/loot"}},
     "builder.destination"),
]

# Resource args that only narrow: they still pass.
BENIGN = [
    ("local-container", {"network": "none", "cpus": 1, "env": {"A": "1"}}),
    ("local-container", {"cpuset_cpus": "0", "workdir": "/tmp"}),
    ("sagemaker", {"EnableNetworkIsolation": True, "Environment": {"A": "1"}}),
    ("sagemaker", {"HyperParameters": {"lr": "0.1"}}),
    ("vertex", {"run": {"timeout": 60}}),
    ("local-container", {"builder": {"base_image": "python:3.12-slim"}}),
]


def _queue(relaunch: Any, tmp_path: Path, resource: str, config: dict[str, Any],
           *extra: str) -> Any:
    path = tmp_path / f"{resource}.json"
    path.write_text(json.dumps(config))
    return relaunch("queue", "create", "q", "-r", resource, "--config", str(path), *extra)


def _launch(relaunch: Any, resource: str, args: dict[str, Any], *flags: str) -> Any:
    return relaunch("launch", "-q", "q", "-d", IMAGES[resource], "-R",
                    json.dumps({resource: args}), *flags)


@pytest.mark.parametrize(("resource", "payload", "field"), HOSTILE,
                         ids=[f"{r}-{f}" for r, _, f in HOSTILE])
def test_an_admin_only_field_from_resource_args_is_refused_and_nothing_is_stored(
        relaunch: Any, tmp_path: Path, resource: str, payload: dict[str, Any],
        field: str) -> None:
    assert _queue(relaunch, tmp_path, resource, CONFIGS[resource]).code == 0
    for flags in (("--dry-run",), ()):
        result = _launch(relaunch, resource, payload, *flags)
        assert result.code == 2, (flags, result.out, result.err)
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), result.err
        assert f"{field}:" in lines[0], lines[0]
    listed = relaunch("job", "list", "--json")
    assert listed.code == 0 and json.loads(listed.out) == []


@pytest.mark.parametrize(("resource", "payload"), BENIGN,
                         ids=[f"{r}-{'-'.join(p)}" for r, p in BENIGN])
def test_resource_args_that_only_narrow_still_pass(
        relaunch: Any, tmp_path: Path, resource: str, payload: dict[str, Any]) -> None:
    assert _queue(relaunch, tmp_path, resource, CONFIGS[resource]).code == 0
    result = _launch(relaunch, resource, payload)
    assert result.code == 0, result.err


def test_a_limit_the_admin_left_open_may_be_added(relaunch: Any, tmp_path: Path) -> None:
    assert _queue(relaunch, tmp_path, "local-container", {}).code == 0
    result = _launch(relaunch, "local-container", {"memory": "1g", "pids_limit": 64},
                     "--dry-run")
    assert result.code == 0, result.err
    assert result.json()["resource_config"] == {"memory": "1g", "pids_limit": 64}


@pytest.mark.parametrize(("resource", "config", "field"), [
    ("local-container", {"network": "{{ net }}"}, "network"),
    ("sagemaker", {**SAGEMAKER, "RoleArn": "{{ net }}"}, "RoleArn"),
    ("vertex", {**VERTEX, "run": {"service_account": "{{ net }}"}}, "run.service_account"),
])
def test_a_template_variable_in_an_admin_only_field_is_refused_at_queue_create(
        relaunch: Any, tmp_path: Path, resource: str, config: dict[str, Any],
        field: str) -> None:
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"net": {"type": "string", "enum": ["host", "none"]}}))
    result = _queue(relaunch, tmp_path, resource, config,
                    "--template-variables", str(variables))
    assert result.code == 2, result.err
    assert f"{field}:" in result.err and len(result.err.strip().splitlines()) == 1
    assert json.loads(relaunch("queue", "list", "--json").out) == []


def test_a_templated_limit_stays_within_the_variable_bounds(
        relaunch: Any, tmp_path: Path) -> None:
    variables = tmp_path / "vars.json"
    variables.write_text(json.dumps({"mem": {"type": "string", "enum": ["1g", "2g"],
                                             "default": "1g"}}))
    assert _queue(relaunch, tmp_path, "local-container", {"memory": "{{ mem }}"},
                  "--template-variables", str(variables), "--allow-resource-args").code == 0
    ok = relaunch("launch", "-q", "q", "-d", "img:1", "-v", "mem=2g", "--dry-run")
    assert ok.code == 0 and ok.json()["resource_config"] == {"memory": "2g"}, ok.err
    widened = _launch(relaunch, "local-container", {"memory": "512g"}, "--dry-run")
    assert widened.code == 2 and "memory:" in widened.err, widened.err


def test_allow_field_means_nothing_on_a_local_container_queue(
        relaunch: Any, tmp_path: Path) -> None:
    result = _queue(relaunch, tmp_path, "local-container", {}, "--allow-field", "privileged")
    assert result.code == 2 and "--allow-field" in result.err, result.err
    assert json.loads(relaunch("queue", "list", "--json").out) == []
