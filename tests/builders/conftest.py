"""Fixtures of the builder tests: the GCS emulator (test double of Google Cloud
Storage: ``gcp-storage-emulator``, in memory, on a free 127.0.0.1 port, stopped by
PID), buckets in it and in moto's S3 (test double of Amazon S3), the Kubernetes
test double (tests/kubernetes/kube_double.py) and stand-in kaniko executor images."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.docker_support import DockerEnv, aws_env
from tests.kubernetes.kube_double import KubeDouble, running
from tests.prefect_server import free_port
from tests.support import require_service, serving

EMULATOR = Path(sys.executable).parent / "gcp-storage-emulator"
# The stand-in executor's script: print the args, then succeed or fail; everything
# on stderr, as kaniko logs.
STANDIN = {
    "ok": 'exec >&2; for a in "$@"; do echo "arg $a"; done; echo "INFO pushed (stand-in)"',
    "fail": 'exec >&2; echo "INFO Retrieving image manifest"; echo "step 1/3"; '
            'echo "error building image: unknown instruction: FORM"; exit 1',
}


@pytest.fixture(scope="session")
def gcs_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The GCS emulator's URL (for STORAGE_EMULATOR_HOST)."""
    binary = str(EMULATOR) if EMULATOR.is_file() else shutil.which("gcp-storage-emulator")
    if binary is None:
        require_service("GCS emulator", "gcp-storage-emulator is not installed")
    folder = tmp_path_factory.mktemp("gcs")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with serving([str(binary), "start", "--host", "127.0.0.1", "--port", str(port),
                  "--in-memory", "-q"], folder / "emulator.log", f"{url}/storage/v1/b",
                 "gcp-storage-emulator", cwd=folder):
        yield url


@pytest.fixture
def gcs_bucket(gcs_emulator: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket in the GCS emulator; STORAGE_EMULATOR_HOST points at it."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    from google.cloud import storage

    name = f"ctx-{uuid.uuid4().hex[:12]}"
    storage.Client().create_bucket(name)
    return name


@pytest.fixture
def s3_bucket(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A new bucket in moto's S3; the AWS variables point boto3 at moto."""
    for key, value in aws_env(moto_server).items():
        monkeypatch.setenv(key, value)
    import boto3

    name = f"ctx-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"]).create_bucket(Bucket=name)
    return name


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
                f'ENTRYPOINT ["/bin/sh", "-c", {json.dumps(script)}, "executor"]\n')
        docker_env.client.images.build(fileobj=io.BytesIO(text.encode()),
                                       tag=f"{repository}:{kind}", rm=True)
        images[kind] = f"{repository}:{kind}"
    yield images
    for image in images.values():
        docker_env.client.images.remove(image, force=True)
