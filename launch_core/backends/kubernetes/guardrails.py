"""Guardrails of Kubernetes queue configs and manifests, on the engine every resource
shares (launch_core.spec.guardrails), and their validation against the Kubernetes OpenAPI
schema, offline. Used by the ``kubernetes`` resource and the ``kaniko`` builder.

The guards and where a config sets them are in ``kube_guard_findings``:

- **allowable** (``relaunch queue create --allow-field NAME``), the Pod Security
  Standards' baseline: ``privileged``, ``hostPath``, ``hostNetwork``, ``hostPID``,
  ``hostIPC``, ``hostPort``, ``capabilities`` (beyond ``SAFE_CAPABILITIES``),
  ``seccomp`` and ``apparmor`` (unconfined), ``mountPropagation`` (Bidirectional),
  ``procMount`` (not Default), ``sysctls`` (outside ``SAFE_SYSCTLS``),
  ``seLinuxOptions`` (a type outside ``SAFE_SELINUX_TYPES``, a user or a role),
  ``hostProcess``. Allowed, one passes only as the admin's own subtree, as written:
  the whole container it sits in, the whole hostPath volume, the whole mount of one.
- **admin-only** (no allow list): where the run goes (``configFile``, ``context``,
  ``namespace``, ``metadata.namespace``), which manifest (``apiVersion``, ``kind``,
  the ``relaunch/container`` annotation), credentials (``secret``, ``projected`` and
  ``csi`` volumes and their mounts, any Secret reference, ``envFrom``,
  ``imagePullSecrets``, the service account, ``automountServiceAccountToken``, which
  a job may only turn off), nodes (``nodeName``, a toleration of every taint, a
  ``system-*`` priority class) and Kueue's admission (the LocalQueue label
  ``kueue.x-k8s.io/queue-name``, any other Kueue label or annotation, ``suspend``).

``check_kind``: a queue runs a ``batch/v1`` Job or a workload kind whose end
``kube_status.STATUS_MAPPINGS`` reads, never a DaemonSet, a Deployment or an unknown
custom kind. ``check_manifest`` (no queue: a manifest the agent builds from its own
config, such as the kaniko builder's Job) refuses every allowable guard and passes
admin-only fields, since no submitter wrote any of it.
"""

from __future__ import annotations

from typing import Any

from launch_core.backends.kubernetes.guard_findings import (
    GUARDS,
    SAFE_CAPABILITIES,
    SAFE_SELINUX_TYPES,
    SAFE_SYSCTLS,
    find_guarded,
)
from launch_core.backends.kubernetes.schema import validate_schema
from launch_core.backends.kubernetes.status import STATUS_MAPPINGS
from launch_core.errors import InvalidInput
from launch_core.spec.guardrails import check_guardrails

__all__ = ["GUARDS", "SAFE_CAPABILITIES", "SAFE_SELINUX_TYPES", "SAFE_SYSCTLS",
           "allowed_kinds", "check_kind", "check_manifest", "find_guarded", "guard_view",
           "validate_schema"]

DEFAULT_API_VERSION = "batch/v1"
DEFAULT_KIND = "Job"


def guard_view(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the manifest's ``apiVersion`` and ``kind`` defaults filled, so a
    job naming the default kind changes nothing."""
    return {"apiVersion": DEFAULT_API_VERSION, "kind": DEFAULT_KIND, **config}


def check_manifest(manifest: dict[str, Any]) -> None:
    """Raise InvalidInput naming the JSON path of an allowable guarded field (no queue
    allows any) or of a field the Kubernetes schema does not know (a partial check:
    the caller sends the complete manifest through ``validate_schema``)."""
    check_guardrails(GUARDS, find_guarded, manifest, has_queue=False)
    validate_schema(manifest, partial=True)


def allowed_kinds() -> list[str]:
    """The kinds a queue may run, as shown in errors: ``batch/v1 Job``, ``group Kind``."""
    return [f"{group}/v1 {kind}" if group == "batch" else f"{group} {kind}"
            for group, kind in STATUS_MAPPINGS]


def check_kind(api_version: str, kind: str) -> None:
    """Raise InvalidInput unless (``api_version``'s group, ``kind``) is a batch Job or
    a workload kind ``kube_status`` reads (its pod templates are what the guardrails
    walk; a DaemonSet or a Deployment would never end)."""
    if (api_version.rpartition("/")[0], kind) not in STATUS_MAPPINGS:
        raise InvalidInput(f"kind: {kind!r} ({api_version}) is refused: a kubernetes queue "
                           f"runs one of {', '.join(allowed_kinds())}")
