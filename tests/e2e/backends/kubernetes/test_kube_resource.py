"""The kubernetes resource's own calls (no agent) against the Kubernetes test double:
kmock's emulator over HTTP on 127.0.0.1 and the kwok-like job controller that runs
pods' containers on the local Docker daemon (tests/support/kube_double.py)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from launch_core.backends.kubernetes.resource import KubernetesResource
from launch_core.backends.resource import JobContext
from tests.support import wait_for

SLEEP = ["python3", "-c", "import time; print('up', flush=True); time.sleep(60)"]


@pytest.fixture
def resource(kube_double, tmp_path, monkeypatch) -> KubernetesResource:
    config = kube_double.kubeconfig(tmp_path / "kubeconfig.json", namespace="ctx-ns")
    monkeypatch.setenv("KUBECONFIG", str(config))
    return KubernetesResource()


def _job(tmp_path: Path, image: str, config: dict[str, Any], **fields: Any) -> JobContext:
    values: dict[str, Any] = dict(
        run_id=tmp_path.name[-12:].lower().replace("_", "x"), item_id=1, entry_point=SLEEP,
        args=[], env={}, config=config, run_dir=tmp_path / "run", workdir=None, image=image,
        queue="q", entity="team", agent="a")
    values.update(fields)
    return JobContext(**values)


def test_pytorchjob_is_created_watched_and_deleted(resource, kube_double, docker_env,
                                                    tmp_path):
    config = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "spec": {
        "pytorchReplicaSpecs": {"Master": {"replicas": 1, "template": {"spec": {
            "containers": [{"name": "pytorch"}]}}}}}}
    job = _job(tmp_path, docker_env.base_image, config)
    handle = resource.submit(job)
    assert resource.submit(job) == handle  # a second submit creates nothing new
    assert list(kube_double.objects("pytorchjobs")) == [("ctx-ns", job.ref.name)]
    wait_for(lambda: kube_double.runs(job.ref.name), "the master pod to run", 60)
    assert resource.status(handle).state == "running"
    wait_for(lambda: "up" in resource.read_logs(handle, 0)[0], "the pod's output", 30)
    resource.cancel(handle, 5)
    assert kube_double.objects("pytorchjobs") == {}
    [(path, params)] = kube_double.deletes()
    assert path == f"/apis/kubeflow.org/v1/namespaces/ctx-ns/pytorchjobs/{job.ref.name}"
    assert params["propagationPolicy"] == "Foreground"
    wait_for(lambda: not kube_double.objects("pods"), "the pods to go with their owner", 30)
    assert resource.find(job.ref) is None


def test_private_image_gets_a_pull_secret_for_the_run_removed_at_cleanup(
        resource, kube_double, docker_env, tmp_path):
    job = _job(tmp_path, docker_env.base_image, {"namespace": "team"},
               entry_point=["true"], pull_auth={"username": "u", "password": "s3cret"})
    handle = resource.submit(job)
    name = f"{job.ref.name}-pull"
    [secret] = kube_double.objects("secrets").values()
    assert secret["metadata"]["name"] == name
    auths = json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))["auths"]
    assert auths["https://index.docker.io/v1/"]["password"] == "s3cret"
    manifest = kube_double.objects("jobs")[("team", job.ref.name)]
    assert manifest["spec"]["template"]["spec"]["imagePullSecrets"] == [{"name": name}]
    wait_for(lambda: resource.status(handle).done, "the run to end", 60)
    assert resource.status(handle).state == "finished"
    resource.cleanup(handle)
    assert kube_double.objects("secrets") == {}
    assert "s3cret" not in json.dumps(handle)


def test_pod_waiting_for_gpus_reports_the_schedulers_reason(resource, kube_double,
                                                            docker_env, tmp_path):
    config = {"spec": {"template": {"spec": {"containers": [
        {"name": "main", "resources": {"limits": {"nvidia.com/gpu": 16}}}]}}}}
    handle = resource.submit(_job(tmp_path, docker_env.base_image, config))
    status = wait_for(lambda: "nodes" in (s := resource.status(handle)).message and s,
                      "the scheduler's reason", 30)
    assert status.state == "running"
    assert status.message == "waiting: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu."


def test_an_api_server_that_does_not_answer_leaves_the_run_running(tmp_path):
    from tests.support.prefect_server import free_port

    config = tmp_path / "kubeconfig.json"
    config.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "gone",
        "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [{"name": "gone", "context": {"cluster": "c", "user": "u"}}]}))
    handle = {"api_version": "batch/v1", "kind": "Job", "name": "relaunch-x",
              "namespace": "ns", "config_file": str(config), "context": None}
    status = KubernetesResource().status(handle)
    assert (status.state, status.message) == (
        "running", "kubernetes: API server unreachable: ClientConnectorError")
    assert KubernetesResource().read_logs(handle, 5) == ("", 5)


def test_a_kubernetes_cluster_config_block_reaches_the_cluster(
        kube_double, docker_env, prefect_api, tmp_path, monkeypatch):
    """prefect-kubernetes' KubernetesClusterConfig block, saved in the session's Prefect
    server, names the cluster (no KUBECONFIG); its token is masked from then on."""
    from prefect.settings import PREFECT_API_URL, temporary_settings
    from prefect_kubernetes import KubernetesClusterConfig

    from flows import credentials
    from launch_core.masking import mask

    credentials.install()  # as the agent and the CLI do: blocks reach backends this way
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.kube/config either
    kube_config = json.loads(kube_double.kubeconfig(tmp_path / "kc.json", "block-ns").read_text())
    monkeypatch.setenv("RELAUNCH_KUBE_CLUSTER_CONFIG_BLOCK", "relaunch-test-cluster")
    job = _job(tmp_path, docker_env.base_image, {})
    with temporary_settings({PREFECT_API_URL: prefect_api}):
        KubernetesClusterConfig(config=kube_config, context_name="double").save(
            "relaunch-test-cluster", overwrite=True)
        resource = KubernetesResource()
        handle = resource.submit(job)
    assert list(kube_double.objects("jobs")) == [("block-ns", job.ref.name)]  # its namespace
    assert handle["block"] == "relaunch-test-cluster"  # another agent reaches it the same way
    assert mask("Bearer double-token") == "Bearer ***"
    resource.cancel(handle, 5)
