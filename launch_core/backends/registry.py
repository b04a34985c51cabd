"""The registry interface: where built images go, and whether a tag is there."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from launch_core.backends.oci.api import manifest_exists
from launch_core.backends.registry_auth import RegistryAuth, RegistryAuthError, RegistryError

__all__ = ["PUSH_ATTEMPTS", "Registry", "RegistryAuth", "RegistryAuthError", "RegistryError"]

Log = Callable[[str], None]
PUSH_ATTEMPTS = 4
_AUTH_WORDS = ("unauthorized", "authentication required", "denied", "no basic auth",
               "incorrect username or password", "401", "403")


class Registry(ABC):
    """An image destination: ``host/repository``, images tagged by content hash.

    A registry declares the Prefect block type its credentials come from
    (``credentials_block``, ``module:Class``) and turns a loaded block into the
    ``credentials`` its constructor takes (``credentials_from_block``).
    """

    kind: str
    pushes = True  # False: images stay where they were built
    credentials_block: str = "prefect_docker.credentials:DockerRegistryCredentials"
    credentials_extra: str = "docker"  # the relaunch extra that brings that block type

    def __init__(self, destination: str, *, credentials: Any = None,
                 region: str | None = None) -> None:
        host, _, repository = destination.partition("/")
        if not host or not repository:
            raise RegistryError(f"registry destination {destination!r}: expected "
                                "HOST/REPOSITORY (no tag)")
        self.host, self.repository = host, repository.rstrip("/")
        self.credentials, self.region = credentials, region

    @staticmethod
    def credentials_from_block(block: Any) -> Any:
        """The ``credentials`` for the constructor from a loaded credentials block
        (a DockerRegistryCredentials: username and password)."""
        return RegistryAuth(block.username, block.password.get_secret_value())

    def image(self, tag: str) -> str:
        """The full image reference for ``tag``."""
        return f"{self.host}/{self.repository}:{tag}"

    @abstractmethod
    def auth(self) -> RegistryAuth | None:
        """Credentials for this registry (fetching a fresh token when needed)."""

    def exists(self, tag: str) -> bool:
        """Whether the registry already has ``tag`` (asked through its HTTP API)."""
        return manifest_exists(self.host, self.repository, tag, self.auth())

    def push(self, client: Any, image: str, log: Log) -> None:
        """Push ``image`` with retries and backoff; authentication errors are final."""
        repository, _, tag = image.rpartition(":")
        for attempt in range(1, PUSH_ATTEMPTS + 1):
            auth = self.auth()
            try:
                _push_once(client, repository, tag, auth, log)
                return
            except RegistryAuthError:
                raise
            except RegistryError as exc:
                if attempt == PUSH_ATTEMPTS:
                    raise
                delay = 0.5 * 2 ** (attempt - 1)
                log(f"push of {image} failed ({exc}); retry {attempt} in {delay:.1f}s")
                time.sleep(delay)


def _push_once(client: Any, repository: str, tag: str, auth: RegistryAuth | None,
               log: Log) -> None:
    kwargs = {"auth_config": auth.docker_auth_config()} if auth else {}
    try:
        stream = client.api.push(repository, tag=tag, stream=True, decode=True, **kwargs)
        for line in stream:
            if "error" in line:
                raise _classify(str(line.get("error")))
            status = line.get("status")
            if status and "progress" not in line:
                log(f"{status} {line.get('id', '')}".strip())
    except RegistryError:
        raise
    except Exception as exc:  # docker.errors.APIError, connection errors
        raise _classify(str(exc)) from None


def _classify(message: str) -> RegistryError:
    first = message.strip().splitlines()[0] if message.strip() else "push failed"
    if any(word in first.lower() for word in _AUTH_WORDS):
        return RegistryAuthError(f"registry authentication failed: {first}")
    return RegistryError(first)
