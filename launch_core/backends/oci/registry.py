"""Any OCI registry, with a username/password or the Docker config file's entry."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

from launch_core.backends.registry import Registry, RegistryAuth


class OciRegistry(Registry):
    """A plain OCI registry (also ACR with admin or service-principal credentials)."""

    kind = "oci"

    def auth(self) -> RegistryAuth | None:
        credentials: RegistryAuth | None = self.credentials
        return credentials or docker_config_auth(self.host)


class AcrRegistry(OciRegistry):
    """Azure Container Registry: an OCI registry with admin or service-principal
    credentials."""

    kind = "acr"


def docker_config_auth(host: str) -> RegistryAuth | None:
    """The ``auths`` entry for ``host`` in the Docker config file, if any.

    Credential helpers (credsStore/credHelpers) are not consulted.
    """
    folder = os.environ.get("DOCKER_CONFIG") or str(Path.home() / ".docker")
    try:
        config = json.loads((Path(folder) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    for key, entry in (config.get("auths") or {}).items():
        name = key.split("://", 1)[-1].rstrip("/")
        if name == host and entry.get("auth"):
            user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            return RegistryAuth(user, password)
    return None
