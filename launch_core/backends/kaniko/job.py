"""The kaniko build Job: a ``batch/v1`` Job running kaniko's executor on a build
context kept in an ``s3://`` or ``gs://`` store, pushing to the destination.

- ``--context`` is the uploaded tarball, ``--dockerfile`` the Dockerfile packed in
  it, ``--destination`` the content-tagged image, ``--cache=true`` with
  ``--cache-repo=<destination>/cache``.
- The destination's credentials (``docker_secret``, a Secret the builder creates
  per build with a ``config.json`` key) are mounted at ``/kaniko/.docker``.
- The store's credentials come from the Kubernetes secret named by ``secret-name``,
  key ``secret-key``, mounted where kaniko looks: an AWS credentials file at
  ``/root/.aws/credentials`` (``AWS_SHARED_CREDENTIALS_FILE``) for ``s3://``, a
  service-account key at ``/kaniko/.config/gcloud/config.json``
  (``GOOGLE_APPLICATION_CREDENTIALS``) for ``gs://``. Without one, the pod's own
  identity is used (IRSA, Workload Identity).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launch_core.spec.agent_config import BuilderConfig

DEFAULT_KANIKO_IMAGE = "gcr.io/kaniko-project/executor:v1.23.2"
DEFAULT_JOB_PREFIX = "relaunch-build"
CONTAINER = "kaniko"
BUILD_LABEL = "relaunch/build"  # the build Job's name, on the Job and its pods
DOCKERFILE = ".relaunch-kaniko.Dockerfile"  # the Dockerfile's name inside the tarball
BUILD_DEADLINE = 3600  # seconds a build may run (activeDeadlineSeconds)
KEEP_FINISHED = 600  # ttlSecondsAfterFinished: a Job an agent could not delete goes
_PREFIX = re.compile(r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$")
# Where kaniko reads the store's credentials from, by store scheme:
# (mount folder, file name, environment variable naming the file).
CREDENTIAL_MOUNTS = {
    "s3": ("/root/.aws", "credentials", "AWS_SHARED_CREDENTIALS_FILE"),
    "gs": ("/kaniko/.config/gcloud", "config.json", "GOOGLE_APPLICATION_CREDENTIALS"),
}


def check_settings(settings: BuilderConfig) -> None:
    """Raise ValueError naming the key when the builder section cannot drive kaniko."""
    from launch_core.errors import InvalidInput
    from launch_core.storage.context_stores import parse_store_uri

    if not settings.build_context_store:
        raise ValueError("build-context-store: the kaniko builder needs one "
                         "(s3://BUCKET/PREFIX or gs://BUCKET/PREFIX)")
    try:
        parse_store_uri(settings.build_context_store)
    except InvalidInput as exc:
        raise ValueError(str(exc)) from None
    if bool(settings.secret_name) != bool(settings.secret_key):
        raise ValueError("secret-name, secret-key: give both or neither")
    prefix = settings.build_job_name
    if prefix is not None and not _PREFIX.match(prefix):
        raise ValueError(f"build-job-name: {prefix!r} must be lowercase letters, digits "
                         "and '-', at most 40 characters")


@dataclass(frozen=True)
class KanikoBuild:
    """One build: what the Job runs and where."""

    name: str  # the Job's name
    namespace: str
    context_uri: str  # s3://... or gs://... tarball
    image: str  # destination with the content tag
    cache_repo: str
    kaniko_image: str = DEFAULT_KANIKO_IMAGE
    docker_secret: str | None = None  # Secret with config.json for the destination
    store_secret: tuple[str, str] | None = None  # (secret-name, secret-key)
    env: dict[str, str] = field(default_factory=dict)  # store endpoint, region...
    platform: str | None = None
    insecure_registry: bool = False  # plain-HTTP (loopback) destination

    @property
    def scheme(self) -> str:
        return self.context_uri.partition("://")[0]


def kaniko_job(build: KanikoBuild) -> dict[str, Any]:
    """The ``batch/v1`` Job manifest for ``build``."""
    args = [f"--context={build.context_uri}", f"--dockerfile={DOCKERFILE}",
            f"--destination={build.image}", "--cache=true",
            f"--cache-repo={build.cache_repo}", "--snapshot-mode=redo",
            "--compressed-caching=false"]
    if build.platform:
        args.append(f"--custom-platform={build.platform}")
    if build.insecure_registry:
        host = build.image.split("/", 1)[0]
        args += [f"--insecure-registry={host}", f"--skip-tls-verify-registry={host}"]
    env = dict(build.env)
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    if build.docker_secret:
        mounts.append({"name": "docker-config", "mountPath": "/kaniko/.docker",
                       "readOnly": True})
        volumes.append({"name": "docker-config", "secret": {
            "secretName": build.docker_secret,
            "items": [{"key": "config.json", "path": "config.json"}]}})
    if build.store_secret:
        folder, file, variable = CREDENTIAL_MOUNTS[build.scheme]
        name, key = build.store_secret
        mounts.append({"name": "store-credentials", "mountPath": folder, "readOnly": True})
        volumes.append({"name": "store-credentials", "secret": {
            "secretName": name, "items": [{"key": key, "path": file}]}})
        env[variable] = f"{folder}/{file}"
    container: dict[str, Any] = {"name": CONTAINER, "image": build.kaniko_image, "args": args}
    if env:
        container["env"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    if mounts:
        container["volumeMounts"] = mounts
    pod_spec: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if volumes:
        pod_spec["volumes"] = volumes
    labels = {BUILD_LABEL: build.name}
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": build.name, "namespace": build.namespace, "labels": labels},
        "spec": {"backoffLimit": 0, "activeDeadlineSeconds": BUILD_DEADLINE,
                 "ttlSecondsAfterFinished": KEEP_FINISHED,
                 "template": {"metadata": {"labels": labels}, "spec": pod_spec}},
    }


def docker_config_secret(name: str, namespace: str, config_json: str) -> dict[str, Any]:
    """The per-build Secret holding the destination's ``config.json``."""
    return {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
            "metadata": {"name": name, "namespace": namespace,
                         "labels": {BUILD_LABEL: name.removesuffix("-docker")}},
            "stringData": {"config.json": config_json}}
