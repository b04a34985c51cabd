"""Guardrails of Kubernetes manifests (privileged containers, host namespaces and
paths, added capabilities...) and their validation against the Kubernetes OpenAPI
schema, offline. Used by the ``kubernetes`` resource and the ``kaniko`` builder.

(Interface fixed first so both can be built at once; the checks land next.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from launch_core.models import QueueDefinition


def check_manifest(manifest: dict[str, Any], queue: QueueDefinition | None = None) -> None:
    """Raise InvalidInput naming the JSON path of a guarded field ``manifest`` sets
    that the queue does not allow (``queue.allow_fields``), or that a submitter's
    value set (a value not in ``queue.config`` as its admin wrote it)."""


def validate_schema(manifest: dict[str, Any]) -> None:
    """Raise InvalidInput naming the field when ``manifest`` does not match the
    Kubernetes OpenAPI schema of its ``apiVersion``/``kind`` (offline)."""
