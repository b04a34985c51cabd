"""``kaniko`` builder: build the job's image in a Kubernetes cluster with kaniko's
executor, where no Docker daemon exists.

The Dockerfile and content tag are the docker builder's (``DockerBuilder``), and so
is the skip: when the registry already has the content-hash tag, nothing is
uploaded and no Job is created. Otherwise:

1. the build context and the Dockerfile are packed (reproducibly) into a tarball
   and streamed to the agent's ``build-context-store`` under its sha256
   (``context_stores``);
2. a kaniko Job (``kaniko_job``), checked against the Kubernetes schema, is created
   in the agent's namespace (in a cluster: its own; else the kube context's) with
   a per-build Secret holding the destination's credentials;
3. its pod's log streams into the job's log until the Job ends; a failed build
   raises BuildFailed with the reason and the log's last lines;
4. the Job, the Secret and the uploaded context are removed, success or failure.

kaniko pushes the image itself, so the pipeline's push stage has nothing to do.
``kubernetes_asyncio`` is imported inside the functions (extra ``kubernetes``).
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import tarfile
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from launch_core.backends.builder import BuildRequest, BuildResult
from launch_core.backends.docker.builder import BUILD_CONTEXT_LIMIT, DockerBuilder
from launch_core.backends.kaniko.job import (
    DEFAULT_JOB_PREFIX,
    DEFAULT_KANIKO_IMAGE,
    DOCKERFILE,
    KanikoBuild,
    docker_config_secret,
)
from launch_core.backends.kaniko.job import (
    check_settings as check_kaniko_settings,
)
from launch_core.backends.kaniko.run import run_build_job
from launch_core.backends.oci.api import registry_scheme
from launch_core.backends.registry import Registry
from launch_core.errors import InvalidInput
from launch_core.storage.context_stores import (
    ContextStore,
    S3Store,
    StoreError,
    open_object_store,
    s3_endpoint,
)
from launch_core.store.blobs import pack_directory

if TYPE_CHECKING:
    from launch_core.spec.agent_config import BuilderConfig


class KanikoBuilder(DockerBuilder):
    """Builds code and git jobs with a kaniko Job; skips cached tags."""

    name = "kaniko"
    poll_interval = 2.0  # seconds between looks at the build Job and its log

    @classmethod
    def check_settings(cls, settings: BuilderConfig) -> None:
        check_kaniko_settings(settings)  # build-context-store, secret-name/-key...

    def build(self, request: BuildRequest) -> BuildResult:
        if request.item.spec.image is None:
            self._settings(request)
            if not request.registry.pushes:
                raise InvalidInput("kaniko builder: needs a registry to push to "
                                   "(builder.destination)")
        result = super().build(request)
        return replace(result, pushed=True) if result.built else result

    def _settings(self, request: BuildRequest) -> Any:
        settings = request.settings
        if settings is None:
            raise InvalidInput("kaniko builder: needs the agent's builder section")
        try:
            self.check_settings(settings)
        except ValueError as exc:
            raise InvalidInput(f"builder.{exc}") from None
        return settings

    def _run_build(self, request: BuildRequest, dockerfile: str, image: str) -> None:
        assert request.context is not None
        settings = self._settings(request)
        store = open_object_store(settings.build_context_store,
                                  store_credentials(request.registry, settings.build_context_store))
        with tempfile.TemporaryDirectory(prefix="relaunch-kaniko-") as folder:
            tarball = Path(folder) / "context.tar.gz"
            pack_context(request.context, dockerfile, tarball)
            uri = store.upload(tarball)
        request.log(f"build context uploaded to {uri}")
        try:
            from launch_core.backends.kubernetes.client import ClusterChoice, resolve_namespace

            cluster = ClusterChoice()
            registry = request.registry
            prefix = settings.build_job_name or DEFAULT_JOB_PREFIX
            name = f"{prefix}-{request.item.id}-{request.item.attempts}"
            build = KanikoBuild(
                name=name, namespace=resolve_namespace({}, None, cluster), context_uri=uri,
                image=image, cache_repo=f"{registry.host}/{registry.repository}/cache",
                kaniko_image=settings.kaniko_image or DEFAULT_KANIKO_IMAGE,
                store_secret=((settings.secret_name, settings.secret_key)
                              if settings.secret_name else None),
                env=kaniko_env(store), platform=request.platform,
                insecure_registry=registry_scheme(registry.host) == "http")
            secret = registry_secret(registry, build)
            if secret is not None:
                build = replace(build, docker_secret=secret["metadata"]["name"])
            run_build_job(cluster, build, secret, request.log, self.poll_interval)
        finally:
            try:
                store.delete(uri)
            except StoreError as exc:
                request.log(f"warning: could not remove the build context: {exc}")


def pack_context(context: Path, dockerfile: str, out: Path) -> None:
    """Write ``context`` plus the Dockerfile (as ``DOCKERFILE``) to ``out`` as a
    reproducible .tar.gz (same content, same bytes: same content address)."""
    packed = pack_directory(context, BUILD_CONTEXT_LIMIT, portable=False)  # as docker's
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                              filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar, \
            tarfile.open(fileobj=io.BytesIO(packed), mode="r:gz") as source:
        for member in source:
            tar.addfile(member, source.extractfile(member) if member.isfile() else None)
        data = dockerfile.encode()
        info = tarfile.TarInfo(DOCKERFILE)
        info.size, info.mode = len(data), 0o644
        tar.addfile(info, io.BytesIO(data))


def store_credentials(registry: Registry, store_uri: str) -> Any:
    """The destination's credentials when the store is in the same cloud (an ECR
    registry's boto3 session for ``s3://``, Artifact Registry's Google credentials
    for ``gs://``); None otherwise: the default chain / application default."""
    scheme = store_uri.partition("://")[0]
    if (scheme, registry.kind) in (("s3", "ecr"), ("gs", "gcp")):
        return registry.credentials
    return None


def kaniko_env(store: ContextStore) -> dict[str, str]:
    """What kaniko needs to read the context from ``store``: the bucket's region, and
    the agent's S3 endpoint (S3_ENDPOINT, path style) or GCS emulator if it has one."""
    env: dict[str, str] = {}
    if isinstance(store, S3Store):
        region = store.region
        if region:
            env["AWS_REGION"] = region
        if s3_endpoint():
            env.update({"S3_ENDPOINT": str(s3_endpoint()), "S3_FORCE_PATH_STYLE": "true"})
    elif os.environ.get("STORAGE_EMULATOR_HOST"):
        env["STORAGE_EMULATOR_HOST"] = os.environ["STORAGE_EMULATOR_HOST"]
    return env


def registry_secret(registry: Registry, build: KanikoBuild) -> dict[str, Any] | None:
    """The per-build Secret with the destination's Docker ``config.json``; None when
    the registry takes no credentials."""
    auth = registry.auth()
    if auth is None:
        return None
    token = base64.b64encode(f"{auth.username}:{auth.password}".encode()).decode()
    config = json.dumps({"auths": {registry.host: {"auth": token}}})
    return docker_config_secret(f"{build.name}-docker", build.namespace, config)
