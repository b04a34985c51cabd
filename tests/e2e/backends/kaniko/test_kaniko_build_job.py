"""kaniko build Jobs in the Kubernetes test double: kmock's emulator plus the
kwok-like job controller of tests/kubernetes/ (it runs a pod's container on the
local Docker daemon, network none), with moto's server as the test double of S3 and
gcp-storage-emulator as the test double of GCS. The pod runs a stand-in executor
image, never kaniko: it prints its arguments and pushes nothing. A success and a
failure, each with the Job, its Secret and the uploaded context removed after.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from launch_core.backends.builder import BuildFailed
from launch_core.backends.kaniko.builder import KanikoBuilder
from launch_core.backends.registries import make_registry
from launch_core.backends.registry import RegistryAuth
from tests.support.docker import DockerEnv
from tests.support.kaniko import build_request, container, write_code
from tests.support.kube_double import KubeDouble


def _kaniko_run(kind: str, store: str, kube_double: KubeDouble, standin_images,
                docker_env: DockerEnv, names, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube_double.kubeconfig(tmp_path / "kubeconfig",
                                                                namespace="builds")))
    destination = names.destination(docker_env.auth_registry)
    registry = make_registry(destination, credentials=RegistryAuth(docker_env.user,
                                                                   docker_env.password))
    log: list[str] = []
    request = build_request(write_code(tmp_path), registry, {
        "build-context-store": store, "build-job-name": "kb",
        "kaniko-image": standin_images[kind], "secret-name": "cloud-creds",
        "secret-key": "key"}, log)
    builder = KanikoBuilder()
    builder.poll_interval = 0.2
    return builder, request, log, destination


def _posted(kube_double: KubeDouble) -> dict[str, Any]:
    """What the builder created in the double: request path -> body."""
    return dict(kube_double.call(lambda: {str(r.url.path): r.data for r in
                                          list(kube_double.emulator) if r.method == "POST"}))


def _s3_keys(bucket: str) -> list[str]:
    import boto3

    client = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"])
    return [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])]


def _gcs_keys(bucket: str) -> list[str]:
    from google.cloud import storage

    return [blob.name for blob in storage.Client().list_blobs(bucket)]


def _assert_cleaned_up(kube_double: KubeDouble, keys: list[str]) -> None:
    assert kube_double.ever_created("jobs") == ["kb-7-1"]
    assert kube_double.objects("jobs") == {} and kube_double.objects("secrets") == {}
    deleted = {path: params for path, params in kube_double.deletes()}
    assert deleted["/apis/batch/v1/namespaces/builds/jobs/kb-7-1"].get(
        "propagationPolicy") == "Foreground"
    assert "/api/v1/namespaces/builds/secrets/kb-7-1-docker" in deleted
    assert keys == []  # the uploaded context is gone


def _assert_built(kube_double: KubeDouble, result: Any, log: list[str], store: str,
                  destination: str, image: str, docker_env: DockerEnv) -> dict[str, str]:
    """The build's outcome and what reached the pod; returns the pod's environment."""
    assert result.built and result.pushed and result.image.startswith(destination + ":")
    uploaded = next(line for line in log if line.startswith("build context uploaded to "))
    context = uploaded.removeprefix("build context uploaded to ")
    assert context.startswith(f"{store}/sha256-") and context.endswith(".tar.gz")
    # The stand-in printed the arguments its pod got: they reached the pod.
    assert f"arg --context={context}" in log
    assert f"arg --destination={result.image}" in log
    assert f"arg --cache-repo={destination}/cache" in log
    assert "INFO pushed (stand-in)" in log
    posted = _posted(kube_double)
    assert container(posted["/apis/batch/v1/namespaces/builds/jobs"])["image"] == image
    secret = posted["/api/v1/namespaces/builds/secrets"]
    assert secret["metadata"]["name"] == "kb-7-1-docker"
    assert docker_env.auth_registry in secret["stringData"]["config.json"]
    assert not any(docker_env.password in line for line in log)
    [env] = kube_double.runs("kb-7-1")
    return env


def test_s3_build_job_in_the_double_succeeds_and_is_cleaned_up(
        kube_double, s3_bucket, moto_server, standin_images, docker_env, names, tmp_path,
        monkeypatch):
    store = f"s3://{s3_bucket}/ctx"
    builder, request, log, destination = _kaniko_run(
        "ok", store, kube_double, standin_images, docker_env, names, tmp_path, monkeypatch)
    result = builder.build(request)
    env = _assert_built(kube_double, result, log, store, destination, standin_images["ok"],
                        docker_env)
    assert env == {"AWS_REGION": "us-east-1", "S3_ENDPOINT": moto_server,
                   "S3_FORCE_PATH_STYLE": "true",
                   "AWS_SHARED_CREDENTIALS_FILE": "/root/.aws/credentials"}
    _assert_cleaned_up(kube_double, _s3_keys(s3_bucket))


def test_gs_build_job_in_the_double_succeeds_and_is_cleaned_up(
        kube_double, gcs_bucket, gcs_emulator, standin_images, docker_env, names, tmp_path,
        monkeypatch):
    store = f"gs://{gcs_bucket}/builds/ctx"
    builder, request, log, destination = _kaniko_run(
        "ok", store, kube_double, standin_images, docker_env, names, tmp_path, monkeypatch)
    result = builder.build(request)
    env = _assert_built(kube_double, result, log, store, destination, standin_images["ok"],
                        docker_env)
    assert env == {"STORAGE_EMULATOR_HOST": gcs_emulator,
                   "GOOGLE_APPLICATION_CREDENTIALS": "/kaniko/.config/gcloud/config.json"}
    _assert_cleaned_up(kube_double, _gcs_keys(gcs_bucket))


def test_failed_build_raises_with_last_lines_and_is_cleaned_up(
        kube_double, s3_bucket, standin_images, docker_env, names, tmp_path, monkeypatch):
    builder, request, log, _ = _kaniko_run(
        "fail", f"s3://{s3_bucket}/ctx", kube_double, standin_images, docker_env, names,
        tmp_path, monkeypatch)
    with pytest.raises(BuildFailed) as caught:
        builder.build(request)
    message = str(caught.value)
    assert message.startswith("image build failed (kaniko: exit code 1): ")
    assert message.endswith("step 1/3 | error building image: unknown instruction: FORM")
    assert "error building image: unknown instruction: FORM" in log
    _assert_cleaned_up(kube_double, _s3_keys(s3_bucket))


def test_missing_executor_image_fails_the_build_at_once(
        kube_double, s3_bucket, docker_env, names, tmp_path, monkeypatch):
    missing = f"{docker_env.registry}/{names.repository}/executor:missing"
    builder, request, log, _ = _kaniko_run(
        "ok", f"s3://{s3_bucket}/ctx", kube_double, {"ok": missing}, docker_env, names,
        tmp_path, monkeypatch)
    with pytest.raises(BuildFailed, match=r"^image build failed \(kaniko: ImagePullBackOff: "
                                          r"Back-off pulling image"):
        builder.build(request)
    _assert_cleaned_up(kube_double, _s3_keys(s3_bucket))
