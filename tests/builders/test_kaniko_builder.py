"""The kaniko builder (launch_core/builders/kaniko.py). kaniko's executor itself is
never run here (it needs a cluster and pushes from inside it).

- The build Job's spec: its args, mounts, image, checked against the Kubernetes
  schema with kubernetes-validate.
- The agent's builder section: kaniko's W&B keys accepted, bad ones named.
- The skip: a real OCI registry (RELAUNCH_TEST_REGISTRY) already holding the
  content-hash tag means no upload and no Job.
- A build in the Kubernetes test double (kmock's emulator plus the kwok-like job
  controller of tests/kubernetes/, running the pod's container on the local Docker
  daemon) with moto's server as the test double of S3: the pod runs a stand-in
  executor image (it prints its arguments and pushes nothing; network none). A
  success and a failure, each with the Job, its Secret and the context removed.
"""

from __future__ import annotations

import io
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launch_core.builders.base import BuildFailed, BuildRequest
from launch_core.builders.docker import content_tag
from launch_core.builders.dockerfile import generate_dockerfile
from launch_core.builders.kaniko import KanikoBuilder
from launch_core.builders.kaniko_job import DOCKERFILE, KanikoBuild, kaniko_job
from launch_core.config import BuilderConfig, load_agent_config
from launch_core.errors import ConfigError, InvalidInput
from launch_core.models import LaunchSpec
from launch_core.registries import make_registry
from launch_core.registries.base import RegistryAuth
from launch_core.resources.kube_guardrails import validate_schema
from launch_core.store.records import QueueItem
from tests.docker_support import DockerEnv
from tests.kubernetes.kube_double import KubeDouble, running

ENTRY = ["python3", "main.py"]
CONTEXT = "s3://ctx-bucket/builds/sha256-" + "ab" * 32 + ".tar.gz"
STANDIN = {  # the stand-in executor's script: print the args, then succeed or fail
    "ok": 'for a in "$@"; do echo "arg $a"; done; echo "INFO pushed (stand-in)"',
    "fail": 'echo "INFO Retrieving image manifest"; echo "step 1/3"; '
            'echo "error building image: unknown instruction: FORM" >&2; exit 1',
}


def _build(**fields: Any) -> KanikoBuild:
    values: dict[str, Any] = {
        "name": "relaunch-build-7-1", "namespace": "builds", "context_uri": CONTEXT,
        "image": "registry.example.com/team/job:abc123",
        "cache_repo": "registry.example.com/team/job/cache"}
    return KanikoBuild(**{**values, **fields})


def _container(manifest: dict[str, Any]) -> dict[str, Any]:
    return dict(manifest["spec"]["template"]["spec"]["containers"][0])


def test_job_spec_for_s3_with_registry_and_store_secrets_is_valid():
    pytest.importorskip("kubernetes_validate")  # the [kubernetes] extra: installed here
    manifest = kaniko_job(_build(docker_secret="relaunch-build-7-1-docker",
                                 store_secret=("aws-creds", "credentials"),
                                 env={"AWS_REGION": "eu-west-1"}))
    validate_schema(manifest)
    container = _container(manifest)
    assert container["image"] == "gcr.io/kaniko-project/executor:v1.23.2"
    assert container["args"][:5] == [
        f"--context={CONTEXT}", f"--dockerfile={DOCKERFILE}",
        "--destination=registry.example.com/team/job:abc123", "--cache=true",
        "--cache-repo=registry.example.com/team/job/cache"]
    assert not any(a.startswith("--insecure") for a in container["args"])
    assert container["volumeMounts"] == [
        {"name": "docker-config", "mountPath": "/kaniko/.docker", "readOnly": True},
        {"name": "store-credentials", "mountPath": "/root/.aws", "readOnly": True}]
    volumes = {v["name"]: v["secret"] for v in manifest["spec"]["template"]["spec"]["volumes"]}
    assert volumes["docker-config"] == {"secretName": "relaunch-build-7-1-docker", "items": [
        {"key": "config.json", "path": "config.json"}]}
    assert volumes["store-credentials"] == {"secretName": "aws-creds", "items": [
        {"key": "credentials", "path": "credentials"}]}
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "AWS_REGION": "eu-west-1", "AWS_SHARED_CREDENTIALS_FILE": "/root/.aws/credentials"}
    spec = manifest["spec"]
    assert (spec["backoffLimit"], spec["template"]["spec"]["restartPolicy"]) == (0, "Never")
    assert manifest["metadata"]["namespace"] == "builds"
    assert spec["template"]["metadata"]["labels"] == {"relaunch/build": "relaunch-build-7-1"}


def test_job_spec_for_gs_without_registry_secret_insecure_platform_is_valid():
    pytest.importorskip("kubernetes_validate")
    manifest = kaniko_job(_build(context_uri="gs://b/ctx.tar.gz", image="127.0.0.1:5000/j:t",
                                 kaniko_image="mirror.local/kaniko:debug", platform="linux/arm64",
                                 store_secret=("gcp-sa", "key.json"), insecure_registry=True))
    validate_schema(manifest)
    container = _container(manifest)
    assert container["image"] == "mirror.local/kaniko:debug"
    assert container["args"][0] == "--context=gs://b/ctx.tar.gz"
    assert container["args"][-3:] == ["--custom-platform=linux/arm64",
                                      "--insecure-registry=127.0.0.1:5000",
                                      "--skip-tls-verify-registry=127.0.0.1:5000"]
    assert container["volumeMounts"] == [
        {"name": "store-credentials", "mountPath": "/kaniko/.config/gcloud", "readOnly": True}]
    assert container["env"] == [{"name": "GOOGLE_APPLICATION_CREDENTIALS",
                                 "value": "/kaniko/.config/gcloud/config.json"}]


def test_schema_check_refuses_a_broken_job_spec():
    pytest.importorskip("kubernetes_validate")
    manifest = kaniko_job(_build())
    _container(manifest)  # a copy; break the real one
    manifest["spec"]["template"]["spec"]["containers"][0]["volumeMount"] = []
    with pytest.raises(InvalidInput, match=r"containers\[0\]\.volumeMount: unknown field"):
        validate_schema(manifest)


def test_agent_builder_section_takes_kaniko_keys():
    config, warnings = load_agent_config(data={"builder": {
        "type": "kaniko", "destination": "registry.example.com/team/job",
        "build-context-store": "s3://ctx-bucket/builds", "build-job-name": "team-build",
        "secret-name": "aws-creds", "secret-key": "credentials",
        "kaniko-image": "mirror.local/kaniko:v1"}})
    builder = config.builder
    assert (builder.build_context_store, builder.build_job_name, builder.secret_name,
            builder.secret_key, builder.kaniko_image) == (
        "s3://ctx-bucket/builds", "team-build", "aws-creds", "credentials",
        "mirror.local/kaniko:v1")
    assert warnings == []


@pytest.mark.parametrize(("builder", "message"), [
    ({}, "builder: build-context-store: the kaniko builder needs one"),
    ({"build-context-store": "ftp://b/p"}, "builder: build-context-store: expected s3://"),
    ({"build-context-store": "s3://bk0/p", "secret-name": "x"},
     "builder: secret-name, secret-key: give both or neither"),
    ({"build-context-store": "gs://bk0/p", "build-job-name": "Build_"},
     "builder: build-job-name: 'Build_' must be lowercase"),
])
def test_bad_kaniko_settings_are_named(builder, message):
    with pytest.raises(ConfigError, match=message):
        load_agent_config(data={"builder": {"type": "kaniko", **builder}})


def _item(spec: LaunchSpec) -> QueueItem:
    now = time.time()
    return QueueItem(id=7, queue_id=1, state="building", priority=2, enqueued_at=now,
                     run_id="r7", spec=spec, attempts=1, max_attempts=3, agent_id=None,
                     claim_token=0, lease_expires_at=None, handle=None, stage=None,
                     reason=None, cancel_requested=False, resume_count=0, exit_code=None,
                     started_at=None, finished_at=None, updated_at=now)


def _request(code: Path, registry: Any, settings: dict[str, Any], log: list[str]
             ) -> BuildRequest:
    return BuildRequest(
        item=_item(LaunchSpec(code="sha256:" + "0" * 64, entry_point=ENTRY)),
        resource="kubernetes", context=code, registry=registry,
        base_image="relaunch/python:bookworm", log=log.append,
        settings=BuilderConfig.model_validate({"type": "kaniko", **settings}))


def _code(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("print('built by kaniko')\n")
    return code


def test_registry_with_the_tag_skips_upload_and_job(docker_env: DockerEnv, names, tmp_path,
                                                    monkeypatch):
    code = _code(tmp_path)
    tag = content_tag(generate_dockerfile(code, docker_env.base_image, ENTRY), code)
    repository = names.destination(docker_env.registry)
    docker_env.client.images.get(docker_env.base_image).tag(repository, tag)
    docker_env.client.images.push(repository, tag=tag)
    # Neither the store (no such endpoint) nor a cluster (no kube config) could be used.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    log: list[str] = []
    result = KanikoBuilder().build(_request(
        code, make_registry(repository), {"build-context-store": "s3://nowhere/ctx"}, log))
    assert (result.image, result.built, result.note) == (f"{repository}:{tag}", False, "cached")
    assert log == [f"build skipped: {repository}:{tag} already exists"]


def test_kaniko_needs_a_registry_to_push_to(tmp_path):
    with pytest.raises(InvalidInput, match="kaniko builder: needs a registry to push to"):
        KanikoBuilder().build(_request(_code(tmp_path), make_registry(None),
                                       {"build-context-store": "s3://bk0/ctx"}, []))


# --- in the Kubernetes test double, with moto's S3 ----------------------------------

@pytest.fixture
def kube_double(docker_env: DockerEnv, tmp_path: Path) -> Iterator[KubeDouble]:
    """The Kubernetes test double (tests/kubernetes/kube_double.py)."""
    yield from running(KubeDouble(docker_env.client, uuid.uuid4().hex[:12],
                                  tmp_path / "kube-double"))


@pytest.fixture(scope="session")
def standin_images(docker_env: DockerEnv) -> Iterator[dict[str, str]]:
    """Stand-in executor images (never kaniko): print the args, exit 0 or 1."""
    repository = f"relaunch-test/kaniko-standin-{uuid.uuid4().hex[:8]}"
    images = {}
    for kind, script in STANDIN.items():
        text = (f"FROM {docker_env.base_image}\n"
                f'ENTRYPOINT ["/bin/sh", "-c", {_json(script)}, "executor"]\n')
        docker_env.client.images.build(fileobj=io.BytesIO(text.encode()),
                                       tag=f"{repository}:{kind}", rm=True)
        images[kind] = f"{repository}:{kind}"
    yield images
    for image in images.values():
        docker_env.client.images.remove(image, force=True)


def _json(text: str) -> str:
    import json

    return json.dumps(text)


def _kaniko_run(kind: str, kube_double: KubeDouble, s3_bucket: str, standin_images,
                docker_env: DockerEnv, names, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(kube_double.kubeconfig(tmp_path / "kubeconfig",
                                                                namespace="builds")))
    destination = names.destination(docker_env.auth_registry)
    registry = make_registry(destination, credentials=RegistryAuth(docker_env.user,
                                                                   docker_env.password))
    log: list[str] = []
    request = _request(_code(tmp_path), registry, {
        "build-context-store": f"s3://{s3_bucket}/ctx", "build-job-name": "kb",
        "kaniko-image": standin_images[kind], "secret-name": "aws-creds",
        "secret-key": "credentials"}, log)
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


def _assert_cleaned_up(kube_double: KubeDouble, s3_bucket: str) -> None:
    assert kube_double.ever_created("jobs") == ["kb-7-1"]
    assert kube_double.objects("jobs") == {} and kube_double.objects("secrets") == {}
    deleted = {path: params for path, params in kube_double.deletes()}
    assert deleted["/apis/batch/v1/namespaces/builds/jobs/kb-7-1"].get(
        "propagationPolicy") == "Foreground"
    assert "/api/v1/namespaces/builds/secrets/kb-7-1-docker" in deleted
    assert _s3_keys(s3_bucket) == []


def test_build_job_in_the_double_succeeds_and_is_cleaned_up(
        kube_double, s3_bucket, standin_images, docker_env, names, tmp_path, monkeypatch):
    builder, request, log, destination = _kaniko_run(
        "ok", kube_double, s3_bucket, standin_images, docker_env, names, tmp_path, monkeypatch)
    result = builder.build(request)
    assert result.built and result.pushed and result.image.startswith(destination + ":")
    uploaded = next(line for line in log if line.startswith("build context uploaded to "))
    context = uploaded.removeprefix("build context uploaded to ")
    assert context.startswith(f"s3://{s3_bucket}/ctx/sha256-") and context.endswith(".tar.gz")
    # The stand-in printed the arguments its pod got: they reached the pod.
    assert f"arg --context={context}" in log
    assert f"arg --destination={result.image}" in log
    assert f"arg --cache-repo={destination}/cache" in log
    assert "INFO pushed (stand-in)" in log
    posted = _posted(kube_double)
    job = posted["/apis/batch/v1/namespaces/builds/jobs"]
    assert _container(job)["image"] == standin_images["ok"]
    secret = posted["/api/v1/namespaces/builds/secrets"]
    assert secret["metadata"]["name"] == "kb-7-1-docker"
    assert docker_env.auth_registry in secret["stringData"]["config.json"]
    assert not any(docker_env.password in line for line in log)
    _assert_cleaned_up(kube_double, s3_bucket)


def test_failed_build_raises_with_last_lines_and_is_cleaned_up(
        kube_double, s3_bucket, standin_images, docker_env, names, tmp_path, monkeypatch):
    builder, request, log, _ = _kaniko_run(
        "fail", kube_double, s3_bucket, standin_images, docker_env, names, tmp_path,
        monkeypatch)
    with pytest.raises(BuildFailed) as caught:
        builder.build(request)
    message = str(caught.value)
    assert message.startswith("image build failed (kaniko: exit code 1): ")
    assert message.endswith("step 1/3 | error building image: unknown instruction: FORM")
    assert "error building image: unknown instruction: FORM" in log
    _assert_cleaned_up(kube_double, s3_bucket)
