"""Kubernetes manifest guardrails and schema checks through the console script: exit 2
with one line naming the JSON path (and the ``--allow-field`` name) at queue create,
queue update, ``launch`` and ``launch --dry-run``; nothing is stored or enqueued."""

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
    assert line.startswith(f"error: {POD}.hostNetwork: the host's network (hostNetwork) may "
                           "only be set by the queue's config"), line


def test_dry_run_of_a_clean_queue_prints_the_manifest(relaunch):
    created = relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                       json.dumps(manifest()))
    assert created.code == 0, created.err
    shown = relaunch("launch", "-q", "k8s", "--docker-image", "python:3.11", "--dry-run")
    assert shown.code == 0, shown.err
    assert "python:3.11" in shown.out and '"kind": "Job"' in shown.out


def create(relaunch, config: dict[str, Any], *extra: str) -> None:
    created = relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                       json.dumps(config), *extra)
    assert created.code == 0, created.err


def refused_launch(relaunch, resource_args: dict[str, Any], *extra: str) -> str:
    """The one error line of ``launch`` and of ``launch --dry-run`` (the same line);
    nothing enqueued."""
    args = ["launch", "-q", "k8s", "--docker-image", "python:3.11", "-R",
            json.dumps({"kubernetes": resource_args}), *extra]
    line = error_line(relaunch(*args))
    assert error_line(relaunch(*args, "--dry-run")) == line
    assert relaunch("job", "list", "--json").json() == []
    return line


def refused_create(relaunch, config: dict[str, Any], *extra: str) -> str:
    line = error_line(relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                               json.dumps(config), *extra))
    assert relaunch("queue", "list", "--json").json() == []
    return line


def test_resource_args_cannot_point_the_agent_at_another_cluster(relaunch):
    create(relaunch, manifest())  # no template variables: -R is allowed
    hostile = {"configFile": "~/.relaunch/runs/${run_id}/code/kc.yaml", "context": "prod-admin"}
    for args, path in [(hostile, "configFile"), ({"context": "prod-admin"}, "context"),
                       ({"namespace": "kube-system"}, "namespace"),
                       ({"metadata": {"namespace": "kube-system"}}, "metadata.namespace"),
                       ({"kind": "CronJob"}, "kind")]:
        line = refused_launch(relaunch, args)
        assert line.startswith(f"error: {path}: "), line
        assert "may only be set by the queue's config" in line, line


def test_queue_create_refuses_a_templated_namespace_and_a_daemonset(relaunch):
    variables = {"ns": {"type": "string", "default": "team-a"}}
    line = refused_create(relaunch, {**manifest(), "namespace": "{{ ns }}"},
                          "--template-variables", json.dumps(variables))
    assert line.startswith("error: queue create: config: namespace: the namespace "
                           "(namespace) may only be set by the queue's config"), line
    daemon = {"apiVersion": "apps/v1", "kind": "DaemonSet", **manifest()}
    line = refused_create(relaunch, daemon)
    assert line.startswith("error: queue create: config: kind: 'DaemonSet' (apps/v1) is "
                           "refused: a kubernetes queue runs one of batch/v1 Job, "), line
    assert "kubeflow.org PyTorchJob" in line and "jobset.x-k8s.io JobSet" in line


def test_an_allowed_privileged_init_container_cannot_be_replaced_by_a_job(relaunch):
    init = {"name": "setup", "image": "admin/sysctl:1", "command": ["sysctl", "-w", "a=1"],
            "securityContext": {"privileged": True}}
    create(relaunch, manifest(initContainers=[init]), "--allow-field", "privileged")
    evil = {**init, "image": "evil/shell:1", "command": ["sh", "-c", "id"]}
    line = refused_launch(relaunch, {"spec": {"template": {"spec": {"initContainers": [evil]}}}})
    assert line.startswith(f"error: {POD}.initContainers[0].securityContext.privileged: "
                           "a privileged container (privileged) may only be set"), line
    assert f"{POD}.initContainers[0] as a whole must be the admin's" in line


def test_a_job_cannot_mount_a_secret_read_the_agents_or_pick_a_node(relaunch):
    create(relaunch, manifest())
    for pod, path in [
            ({"volumes": [{"name": "s", "secret": {"secretName": "relaunch-agent"}}]},
             f"{POD}.volumes[0].secret"),
            ({"containers": [{"name": "main", "envFrom": [
                {"secretRef": {"name": "relaunch-agent"}}]}]}, f"{POD}.containers[0].envFrom"),
            ({"serviceAccountName": "relaunch-agent"}, f"{POD}.serviceAccountName"),
            ({"nodeName": "control-plane"}, f"{POD}.nodeName"),
            ({"tolerations": [{"operator": "Exists"}]}, f"{POD}.tolerations[0]")]:
        line = refused_launch(relaunch, {"spec": {"template": {"spec": pod}}})
        assert line.startswith(f"error: {path}: "), line


def test_queue_create_refuses_the_baselines_other_fields_naming_the_allow_field(relaunch):
    for pod, path, name in [
            ({"securityContext": {"sysctls": [{"name": "kernel.msgmax", "value": "1"}]}},
             f"{POD}.securityContext.sysctls[0]", "sysctls"),
            ({"containers": [{"name": "main", "securityContext": {"procMount": "Unmasked"}}]},
             f"{POD}.containers[0].securityContext.procMount", "procMount")]:
        line = refused_create(relaunch, manifest(**pod))
        assert line.startswith(f"error: queue create: config: {path}: "), line
        assert line.endswith(f"--allow-field {name})"), line
