"""Registries by kind, chosen from the destination (``builder.destination`` or the
legacy ``registry`` section). One module per kind."""

from __future__ import annotations

import re
from typing import Any

from launch_core.registries.base import (
    Registry,
    RegistryAuth,
    RegistryAuthError,
    RegistryError,
)
from launch_core.registries.ecr import ECR_HOST, EcrRegistry
from launch_core.registries.gcp import ArtifactRegistry
from launch_core.registries.local import LocalDaemon
from launch_core.registries.oci import OciRegistry

_GCP_HOST = re.compile(r"(^|\.)gcr\.io$|-docker\.pkg\.dev$")
KINDS = ("oci", "ecr", "gcp", "acr")


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


def make_registry(destination: str | None, kind: str | None = None, *,
                  auth: RegistryAuth | None = None, aws_session: Any = None,
                  gcp_credentials: Any = None, region: str | None = None) -> Registry:
    """The registry for ``destination`` (the local daemon when there is none).

    ``kind`` (ecr, gcr/gcp, acr, oci) overrides detection from the host, e.g. an
    ECR token used against another endpoint. Raises RegistryError for a bad one.
    """
    if not destination:
        return LocalDaemon()
    kind = {"gcr": "gcp"}.get(kind or "", kind) or detect_kind(destination)
    if kind == "ecr":
        return EcrRegistry(destination, session=aws_session, region=region)
    if kind == "gcp":
        return ArtifactRegistry(destination, credentials=gcp_credentials)
    if kind in ("oci", "acr"):
        registry = OciRegistry(destination, auth=auth)
        registry.kind = kind
        return registry
    raise RegistryError(f"registry type {kind!r} is not supported (use one of {KINDS})")


__all__ = ["Registry", "RegistryAuth", "RegistryAuthError", "RegistryError", "detect_kind",
           "make_registry"]
