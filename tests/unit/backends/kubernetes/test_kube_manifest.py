"""The manifest a kubernetes run sends (kube_manifest) and the namespace it goes to
(kube_client), built from the queue config and the job. No service: kube config
files and service-account folders are written to a temp dir."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from launch_core.backends.kubernetes.client import ClusterChoice, resolve_namespace
from launch_core.backends.kubernetes.manifest import build_manifest, pull_secret
from launch_core.backends.kubernetes.resource import KubernetesResource
from launch_core.backends.resource import JobContext
from launch_core.errors import InvalidInput


def _job(config: dict[str, Any], **fields: Any) -> JobContext:
    values: dict[str, Any] = dict(
        run_id="abc123def456", item_id=7, entry_point=["python3", "train.py"],
        args=["--lr", "0.1"], env={"RELAUNCH_RUN_ID": "abc123def456", "WANDB_PROJECT": "p"},
        config=config, run_dir=Path("."), workdir=None, image="reg.example:5000/team/img:1",
        queue="gpu", entity="team", agent="agent one")
    values.update(fields)
    return JobContext(**values)


def test_silent_job_manifest_gets_wandb_defaults_name_labels_and_the_job():
    manifest = build_manifest(_job({}), {"apiVersion": "batch/v1", "kind": "Job"}, "ns")
    assert manifest["metadata"]["name"] == "relaunch-abc123def456"
    assert manifest["metadata"]["namespace"] == "ns"
    assert manifest["spec"]["backoffLimit"] == 0
    assert manifest["spec"]["ttlSecondsAfterFinished"] == 3600
    pod = manifest["spec"]["template"]
    assert pod["spec"]["restartPolicy"] == "Never"
    [container] = pod["spec"]["containers"]
    assert container["image"] == "reg.example:5000/team/img:1"
    assert (container["command"], container["args"]) == (["python3", "train.py"],
                                                         ["--lr", "0.1"])
    labels = manifest["metadata"]["labels"]
    assert labels["relaunch/agent"] == "agent-one"  # a valid label value
    assert manifest["metadata"]["annotations"]["relaunch/agent"] == "agent one"
    assert pod["metadata"]["labels"]["relaunch/run"] == "relaunch-abc123def456"
    assert {"relaunch/run-id", "relaunch/item-id", "relaunch/queue",
            "relaunch/entity"} <= set(labels)


def test_manifest_values_win_over_defaults_and_its_env_over_the_jobs_but_relaunch_vars():
    base = {"apiVersion": "batch/v1", "kind": "Job", "spec": {
        "backoffLimit": 2, "template": {"spec": {"restartPolicy": "OnFailure", "containers": [
            {"name": "main", "env": [{"name": "WANDB_PROJECT", "value": "admin"},
                                     {"name": "RELAUNCH_RUN_ID", "value": "forged"},
                                     {"name": "TOKEN", "valueFrom": {"secretKeyRef": {
                                         "name": "s", "key": "k"}}}]}]}}}}
    manifest = build_manifest(_job({}), base, "ns")
    assert manifest["spec"]["backoffLimit"] == 2
    spec = manifest["spec"]["template"]["spec"]
    assert spec["restartPolicy"] == "OnFailure"
    env = spec["containers"][0]["env"]
    assert {"name": "WANDB_PROJECT", "value": "admin"} in env
    assert {"name": "RELAUNCH_RUN_ID", "value": "abc123def456"} in env
    assert not any(e.get("value") == "forged" for e in env)
    assert any("valueFrom" in e for e in env)


def test_the_annotated_container_runs_the_job_in_every_pod_template():
    base = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
            "metadata": {"annotations": {"relaunch/container": "pytorch"}},
            "spec": {"pytorchReplicaSpecs": {role: {"template": {"spec": {"containers": [
                {"name": "sidecar", "image": "proxy:1"}, {"name": "pytorch"}]}}}
                for role in ("Master", "Worker")}}}
    manifest = build_manifest(_job({}), base, "ns")
    assert "backoffLimit" not in manifest["spec"]  # Job defaults are for batch/v1 Jobs
    for role in ("Master", "Worker"):
        sidecar, main = manifest["spec"]["pytorchReplicaSpecs"][role]["template"]["spec"][
            "containers"]
        assert sidecar["image"] == "proxy:1" and "env" not in sidecar
        assert main["image"] == "reg.example:5000/team/img:1"


def test_a_named_container_that_is_missing_names_the_path():
    base = {"metadata": {"annotations": {"relaunch/container": "trainer"}},
            "spec": {"template": {"spec": {"containers": [{"name": "main"}]}}}}
    with pytest.raises(InvalidInput, match=r"spec\.template\.spec\.containers: no container "
                                           "named 'trainer'"):
        build_manifest(_job({}), base, "ns")


def test_pull_auth_makes_a_per_run_secret_named_in_the_pod():
    job = _job({}, pull_auth={"username": "u", "password": "pw"})
    manifest = build_manifest(job, {}, "ns")
    secret = pull_secret(job, "ns")
    assert secret is not None and secret["metadata"]["name"] == "relaunch-abc123def456-pull"
    assert manifest["spec"]["template"]["spec"]["imagePullSecrets"] == [
        {"name": "relaunch-abc123def456-pull"}]
    config = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))
    assert config["auths"]["reg.example:5000"]["username"] == "u"
    assert pull_secret(_job({}), "ns") is None


def test_unknown_queue_config_key_is_refused_naming_it():
    with pytest.raises(InvalidInput, match="option 'replicas' is not allowed"):
        KubernetesResource().validate({"replicas": 2})


def _kubeconfig(path: Path, namespace: str | None) -> Path:
    context = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "main",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "main", "context": context},
                     {"name": "other", "context": {"cluster": "c", "user": "u",
                                                   "namespace": "other-ns"}}]}))
    return path


def test_namespace_order_manifest_queue_agent_context_default(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kc", "ctx-ns")))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    default = ClusterChoice()
    assert resolve_namespace({"metadata": {"namespace": "m"}}, "q", default) == "m"
    assert resolve_namespace({}, "q", default) == "q"
    assert resolve_namespace({}, None, default) == "ctx-ns"
    assert resolve_namespace({}, None, ClusterChoice(context="other")) == "other-ns"
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("t")
    (account / "namespace").write_text("agent-ns\n")
    monkeypatch.setenv("RELAUNCH_KUBE_SERVICE_ACCOUNT_DIR", str(account))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    assert resolve_namespace({}, None, default) == "agent-ns"
    assert resolve_namespace({}, None, ClusterChoice(context="other")) == "other-ns"
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST")
    monkeypatch.setenv("KUBECONFIG", str(_kubeconfig(tmp_path / "kc2", None)))
    assert resolve_namespace({}, None, default) == "default"


def test_the_agents_jobs_namespace_comes_before_its_own(tmp_path, monkeypatch):
    """RELAUNCH_KUBE_NAMESPACE (deployments/kubernetes sets it): runs of a queue that
    names no namespace go there, not next to the agent's own Secret."""
    account = tmp_path / "sa"
    account.mkdir()
    (account / "token").write_text("t")
    (account / "namespace").write_text("relaunch\n")
    monkeypatch.setenv("RELAUNCH_KUBE_SERVICE_ACCOUNT_DIR", str(account))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "6443")
    monkeypatch.setenv("RELAUNCH_KUBE_NAMESPACE", "relaunch-jobs")
    default = ClusterChoice()
    assert resolve_namespace({}, None, default) == "relaunch-jobs"
    assert resolve_namespace({}, "q", default) == "q"  # the admin's queue config wins
    assert resolve_namespace({"metadata": {"namespace": "m"}}, None, default) == "m"
