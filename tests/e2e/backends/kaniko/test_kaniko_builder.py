"""The kaniko builder (launch_core/backends/kaniko/builder.py), without a cluster. kaniko's
executor itself is never run here (it needs a cluster and pushes from inside it);
test_kaniko_build_job.py runs build Jobs in the Kubernetes test double.

- The build Job's spec: its args, mounts, image, checked against the Kubernetes
  schema with kubernetes-validate.
- The agent's builder section: kaniko's W&B keys accepted, bad ones named.
- The packed context: reproducible, with the Dockerfile.
- The skip: a real OCI registry (RELAUNCH_TEST_REGISTRY) already holding the
  content-hash tag means no upload and no Job.
"""

from __future__ import annotations

import hashlib
import tarfile
from typing import Any

import pytest

from launch_core.backends.docker.builder import content_tag
from launch_core.backends.docker.dockerfile import generate_dockerfile
from launch_core.backends.kaniko.builder import KanikoBuilder, pack_context
from launch_core.backends.kaniko.job import DOCKERFILE, KanikoBuild, kaniko_job
from launch_core.backends.kubernetes.guardrails import validate_schema
from launch_core.backends.registries import make_registry
from launch_core.errors import ConfigError, InvalidInput
from launch_core.spec.agent_config import load_agent_config
from tests.support.docker import DockerEnv
from tests.support.kaniko import ENTRY, build_request, container, write_code

CONTEXT = "s3://ctx-bucket/builds/sha256-" + "ab" * 32 + ".tar.gz"


def _build(**fields: Any) -> KanikoBuild:
    values: dict[str, Any] = {
        "name": "relaunch-build-7-1", "namespace": "builds", "context_uri": CONTEXT,
        "image": "registry.example.com/team/job:abc123",
        "cache_repo": "registry.example.com/team/job/cache"}
    return KanikoBuild(**{**values, **fields})


def test_job_spec_for_s3_with_registry_and_store_secrets_is_valid():
    pytest.importorskip("kubernetes_validate")  # the [kubernetes] extra: installed here
    manifest = kaniko_job(_build(docker_secret="relaunch-build-7-1-docker",
                                 store_secret=("aws-creds", "credentials"),
                                 env={"AWS_REGION": "eu-west-1"}))
    validate_schema(manifest)
    first = container(manifest)
    assert first["image"] == "gcr.io/kaniko-project/executor:v1.23.2"
    assert first["args"][:5] == [
        f"--context={CONTEXT}", f"--dockerfile={DOCKERFILE}",
        "--destination=registry.example.com/team/job:abc123", "--cache=true",
        "--cache-repo=registry.example.com/team/job/cache"]
    assert not any(a.startswith("--insecure") for a in first["args"])
    assert first["volumeMounts"] == [
        {"name": "docker-config", "mountPath": "/kaniko/.docker", "readOnly": True},
        {"name": "store-credentials", "mountPath": "/root/.aws", "readOnly": True}]
    volumes = {v["name"]: v["secret"] for v in manifest["spec"]["template"]["spec"]["volumes"]}
    assert volumes["docker-config"] == {"secretName": "relaunch-build-7-1-docker", "items": [
        {"key": "config.json", "path": "config.json"}]}
    assert volumes["store-credentials"] == {"secretName": "aws-creds", "items": [
        {"key": "credentials", "path": "credentials"}]}
    assert {e["name"]: e["value"] for e in first["env"]} == {
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
    first = container(manifest)
    assert first["image"] == "mirror.local/kaniko:debug"
    assert first["args"][0] == "--context=gs://b/ctx.tar.gz"
    assert first["args"][-3:] == ["--custom-platform=linux/arm64",
                                      "--insecure-registry=127.0.0.1:5000",
                                      "--skip-tls-verify-registry=127.0.0.1:5000"]
    assert first["volumeMounts"] == [
        {"name": "store-credentials", "mountPath": "/kaniko/.config/gcloud", "readOnly": True}]
    assert first["env"] == [{"name": "GOOGLE_APPLICATION_CREDENTIALS",
                                 "value": "/kaniko/.config/gcloud/config.json"}]


def test_schema_check_refuses_a_broken_job_spec():
    pytest.importorskip("kubernetes_validate")
    manifest = kaniko_job(_build())
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


def test_packed_context_is_reproducible_and_holds_the_dockerfile(tmp_path):
    code = write_code(tmp_path)
    (code / "pkg").mkdir()
    (code / "pkg" / "util.py").write_text("X = 1\n")
    first, second = tmp_path / "one.tar.gz", tmp_path / "two.tar.gz"
    pack_context(code, "FROM base\n", first)
    (code / "main.py").touch()  # a new mtime changes nothing
    pack_context(code, "FROM base\n", second)
    assert hashlib.sha256(first.read_bytes()).digest() == \
        hashlib.sha256(second.read_bytes()).digest()
    with tarfile.open(first) as tar:
        assert sorted(tar.getnames()) == sorted([DOCKERFILE, "main.py", "pkg/util.py"])
        dockerfile = tar.extractfile(DOCKERFILE)
        assert dockerfile is not None and dockerfile.read() == b"FROM base\n"
    pack_context(code, "FROM other\n", second)
    assert first.read_bytes() != second.read_bytes()


def test_registry_with_the_tag_skips_upload_and_job(docker_env: DockerEnv, names, tmp_path,
                                                    monkeypatch):
    code = write_code(tmp_path)
    tag = content_tag(generate_dockerfile(code, docker_env.base_image, ENTRY), code)
    repository = names.destination(docker_env.registry)
    docker_env.client.images.get(docker_env.base_image).tag(repository, tag)
    docker_env.client.images.push(repository, tag=tag)
    # Neither the store (no such endpoint) nor a cluster (no kube config) could be used.
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-kubeconfig"))
    log: list[str] = []
    result = KanikoBuilder().build(build_request(
        code, make_registry(repository), {"build-context-store": "s3://nowhere/ctx"}, log))
    assert (result.image, result.built, result.note) == (f"{repository}:{tag}", False, "cached")
    assert log == [f"build skipped: {repository}:{tag} already exists"]


def test_kaniko_needs_a_registry_to_push_to(tmp_path):
    with pytest.raises(InvalidInput, match="kaniko builder: needs a registry to push to"):
        KanikoBuilder().build(build_request(write_code(tmp_path), make_registry(None),
                                       {"build-context-store": "s3://bk0/ctx"}, []))


