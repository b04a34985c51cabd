"""``docker`` builder: build the job's image with the Docker daemon (Docker SDK)."""

from __future__ import annotations

import hashlib
from collections import deque
from pathlib import Path
from typing import Any

from launch_core.backends.builder import Builder, BuildFailed, BuildRequest, BuildResult
from launch_core.backends.docker.dockerfile import generate_dockerfile, job_dockerfile
from launch_core.errors import InvalidInput
from launch_core.private_files import write_private
from launch_core.store.blobs import blob_digest, pack_directory

BUILD_CONTEXT_LIMIT = 2 * 1024**3
TAIL_LINES = 15


def content_tag(dockerfile: str, context: Path) -> str:
    """A tag that changes exactly when the Dockerfile or the build context does."""
    digest = blob_digest(pack_directory(context, BUILD_CONTEXT_LIMIT, portable=False))
    return hashlib.sha256(f"{dockerfile}\0{digest}".encode()).hexdigest()[:24]


class DockerBuilder(Builder):
    """Builds code and git jobs into content-tagged images; skips cached tags."""

    name = "docker"

    def __init__(self, client: Any = None) -> None:
        self._client = client

    def build(self, request: BuildRequest) -> BuildResult:
        spec = request.item.spec
        if spec.image is not None:
            return BuildResult(spec.image, built=False, note="prebuilt image")
        if request.context is None:
            raise InvalidInput(f"{self.name} builder: the job has no code to build")
        text = job_dockerfile(request.context, spec.dockerfile)
        if text is None:
            if not spec.entry_point:
                raise InvalidInput(f"{self.name} builder: a code job needs an entry point (-E) "
                                   "or a Dockerfile of its own")
            text = generate_dockerfile(request.context, spec.base_image or request.base_image,
                                       spec.entry_point)
        image = request.registry.image(content_tag(text, request.context))
        if request.registry.exists(image.rpartition(":")[2]):
            request.log(f"build skipped: {image} already exists")
            return BuildResult(image, built=False, note="cached")
        self._run_build(request, text, image)
        return BuildResult(image, built=True)

    def _run_build(self, request: BuildRequest, dockerfile: str, image: str) -> None:
        assert request.context is not None
        # Outside the context so it never changes the content hash; docker-py ships
        # it to the daemon inside the build context archive.
        path = request.context.parent / "Dockerfile.relaunch"
        write_private(path, dockerfile)  # in the run's folder, under the data dir
        tail: deque[str] = deque(maxlen=TAIL_LINES)
        try:
            for chunk in self._docker().api.build(
                    path=str(request.context), dockerfile=str(path), tag=image, rm=True,
                    forcerm=True, decode=True, network_mode="host", platform=request.platform):
                if "error" in chunk:
                    tail.append(str(chunk["error"]).strip())
                    raise BuildFailed(_failure(tail))
                for line in str(chunk.get("stream", "")).splitlines():
                    if line.strip():
                        tail.append(line.rstrip())
                        request.log(line.rstrip())
        except BuildFailed:
            raise
        except Exception as exc:  # docker.errors.APIError, BuildError, connection
            tail.append(str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
            raise BuildFailed(_failure(tail)) from None

    def _docker(self) -> Any:
        if self._client is None:
            import docker

            self._client = docker.from_env()
        return self._client


def _failure(tail: deque[str]) -> str:
    return "image build failed: " + " | ".join(list(tail)[-5:])
