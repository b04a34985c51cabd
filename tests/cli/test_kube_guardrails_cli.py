"""Kubernetes manifest guardrails and schema checks through the console script: exit 2
with the JSON path at queue create, queue update and ``launch --dry-run``; nothing
is stored or enqueued."""

from __future__ import annotations

import json
from typing import Any

POD = "spec.template.spec"


def manifest(**pod: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": {"containers": [{"name": "main"}], **pod}}}}


def pod_args(**pod: Any) -> str:
    return json.dumps({"kubernetes": {"spec": {"template": {"spec": pod}}}})


def error_line(result: Any) -> str:
    assert result.code == 2, (result.out, result.err)
    (line,) = result.err.strip().splitlines()
    return str(line)


def test_queue_create_refuses_a_guardrail_naming_its_path(relaunch):
    config = manifest(volumes=[{"name": "host", "hostPath": {"path": "/"}}])
    line = error_line(relaunch("queue", "create", "k8s", "-r", "kubernetes",
                               "--config", json.dumps(config)))
    assert f"{POD}.volumes[0].hostPath: a hostPath volume is refused" in line
    assert "--allow-field hostPath" in line
    assert relaunch("queue", "list", "--json").json() == []


def test_queue_create_with_the_field_allowed_shows_it(relaunch):
    config = manifest(hostNetwork=True)
    created = relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                       json.dumps(config), "--allow-field", "hostNetwork")
    assert created.code == 0, created.err
    assert relaunch("queue", "show", "k8s", "--json").json()["allow_fields"] == ["hostNetwork"]
    line = error_line(relaunch("queue", "update", "k8s", "--allow-field", ""))
    assert f"{POD}.hostNetwork: the host's network is refused" in line


def test_queue_create_refuses_a_typo_naming_the_field(relaunch):
    line = error_line(relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                               json.dumps(manifest(containerz=[]))))
    assert f"{POD}.containerz: unknown field (Kubernetes 1." in line


def test_dry_run_refuses_resource_args_that_add_a_guarded_field(relaunch):
    created = relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                       json.dumps(manifest()), "--allow-field", "privileged")
    assert created.code == 0, created.err
    privileged = {"kubernetes": {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "securityContext": {"privileged": True}}]}}}}}
    for args, path in [(json.dumps(privileged),
                        f"{POD}.containers[0].securityContext.privileged"),
                       (pod_args(serviceAccountName="cluster-admin"),
                        f"{POD}.serviceAccountName"),
                       (pod_args(hostPID=True), f"{POD}.hostPID")]:
        line = error_line(relaunch("launch", "-q", "k8s", "--docker-image", "python:3.11",
                                   "-R", args, "--dry-run"))
        assert line.startswith(f"error: {path}: "), line
    assert relaunch("queue", "show", "k8s", "--json").json()["pending"] == []


def test_dry_run_refuses_a_template_value_in_an_allowed_field(relaunch):
    config = manifest(hostNetwork="{{ host_network }}")
    variables = {"host_network": {"type": "boolean", "default": False}}
    created = relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                       json.dumps(config), "--template-variables", json.dumps(variables),
                       "--allow-field", "hostNetwork")
    assert created.code == 0, created.err
    line = error_line(relaunch("launch", "-q", "k8s", "--docker-image", "python:3.11",
                               "-v", "host_network=true", "--dry-run"))
    assert line.startswith(f"error: {POD}.hostNetwork: hostNetwork may only be set by the "
                           "queue's config"), line


def test_dry_run_of_a_clean_queue_prints_the_manifest(relaunch):
    created = relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                       json.dumps(manifest()))
    assert created.code == 0, created.err
    shown = relaunch("launch", "-q", "k8s", "--docker-image", "python:3.11", "--dry-run")
    assert shown.code == 0, shown.err
    assert "python:3.11" in shown.out and '"kind": "Job"' in shown.out
