"""Registries by kind, chosen from the destination (``builder.destination`` or the
legacy ``registry`` section). One module per kind."""

from __future__ import annotations

import re
from typing import Any

from launch_core.backends.ecr import ECR_HOST
from launch_core.backends.registry import (
    Registry,
    RegistryAuth,
    RegistryAuthError,
    RegistryError,
)
from launch_core.backends.table import BACKENDS, import_target, load_class, names

_GCP_HOST = re.compile(r"(^|\.)gcr\.io$|-docker\.pkg\.dev$")
_ALIASES = {"gcr": "gcp"}  # the legacy ``registry.type`` names


def detect_kind(destination: str) -> str:
    """The registry kind a destination's host implies."""
    host = destination.split("/", 1)[0]
    if ECR_HOST.match(host):
        return "ecr"
    if _GCP_HOST.search(host):
        return "gcp"
    if host.endswith(".azurecr.io"):
        return "acr"
    return "oci"


def _pushes(name: str) -> bool:
    """The registry's declared ``pushes`` (its module imports its SDK lazily, so this
    works without its extra)."""
    return bool(import_target(BACKENDS["registry"][name].target).pushes)


def registry_class(destination: str | None, kind: str | None = None) -> type[Registry]:
    """The registry class for ``destination`` (the local daemon when there is none).

    ``kind`` (ecr, gcr/gcp, acr, oci) overrides detection from the host, e.g. an
    ECR token used against another endpoint. Raises RegistryError for an unknown one.
    """
    if not destination:  # the registry that pushes nothing: images stay on the daemon
        local = next(name for name in names("registry") if not _pushes(name))
        return load_class("registry", local)  # type: ignore[no-any-return]
    kind = _ALIASES.get(kind or "", kind) or detect_kind(destination)
    if kind not in names("registry") or not _pushes(kind):
        pushed = [name for name in names("registry") if _pushes(name)]
        raise RegistryError(f"registry type {kind!r} is not supported (use one of "
                            f"{', '.join(pushed)})")
    return load_class("registry", kind)  # type: ignore[no-any-return]


def make_registry(destination: str | None, kind: str | None = None, *,
                  credentials: Any = None, region: str | None = None) -> Registry:
    """The registry for ``destination`` with ``credentials`` of its kind (see
    ``registry_class``). Raises RegistryError for a bad one."""
    cls = registry_class(destination, kind)
    if not destination:
        return cls()  # type: ignore[call-arg]  # the local daemon takes no destination
    return cls(destination, credentials=credentials, region=region)


__all__ = ["Registry", "RegistryAuth", "RegistryAuthError", "RegistryError", "detect_kind",
           "make_registry", "registry_class"]
