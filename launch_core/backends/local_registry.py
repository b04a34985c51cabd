"""No registry: images stay in the local Docker daemon (nothing is pushed)."""

from __future__ import annotations

from typing import Any

from launch_core.backends.registry import Log, Registry, RegistryAuth


class LocalDaemon(Registry):
    """The local daemon as the image store: exists() asks the daemon, push() does nothing."""

    kind = "local"
    pushes = False

    def __init__(self, repository: str = "relaunch/job", client: Any = None) -> None:
        self.host, self.repository, self._client = "", repository, client
        self.credentials, self.region = None, None

    def image(self, tag: str) -> str:
        return f"{self.repository}:{tag}"

    def auth(self) -> RegistryAuth | None:
        return None

    def exists(self, tag: str) -> bool:
        import docker

        client = self._client or docker.from_env()
        try:
            client.images.get(self.image(tag))
            return True
        except docker.errors.ImageNotFound:
            return False

    def push(self, client: Any, image: str, log: Log) -> None:
        log(f"{image} stays in the local daemon (no registry configured)")
