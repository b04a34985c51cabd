"""Guardrails of Kubernetes manifests (privileged containers, host namespaces and
paths, added capabilities...) and their validation against the Kubernetes OpenAPI
schema, offline. Used by the ``kubernetes`` resource and the ``kaniko`` builder.

The walk is generic: every field of the manifest is looked at wherever it is, so a
Job's ``spec.template.spec``, a PyTorchJob's ``spec.pytorchReplicaSpecs.*``, a
JobSet's ``spec.replicatedJobs[*].template.spec.template.spec``, a Volcano Job's
``spec.tasks[*].template.spec``, init and ephemeral containers are all covered.

Guardrails (their names are what ``relaunch queue create --allow-field`` takes):

=================== =====================================================================
``privileged``       ``securityContext.privileged: true``
``hostPath``         a ``hostPath`` volume
``hostNetwork``      ``hostNetwork: true`` (likewise ``hostPID``, ``hostIPC``)
``hostPort``         a container port's ``hostPort``
``capabilities``     ``capabilities.add`` beyond ``SAFE_CAPABILITIES``
``seccomp``          ``seccompProfile.type: Unconfined``, or the legacy ``unconfined``
                     seccomp annotations
``apparmor``         ``appArmorProfile.type: Unconfined``, or the
                     ``container.apparmor.security.beta.kubernetes.io/*: unconfined``
                     annotation
``mountPropagation`` ``mountPropagation: Bidirectional``
=================== =====================================================================

A guarded field passes only when the queue allows it (``allow_fields``) and its value
is the queue config's own at the same path, as the queue's admin wrote it: a literal,
not a ``{{ var }}`` placeholder nor a ``${macro}``. So a submitter's values (template
values, resource args) never introduce one, even where the queue allows it. The same
rule, without the allow list, holds for ``serviceAccountName`` (and its old alias
``serviceAccount``) and ``automountServiceAccountToken: true`` (turning the token off
takes nothing away, so ``false`` always passes).

``check_manifest`` also runs the schema check of a partial manifest, so a typo in a
queue's manifest is refused at queue create; the complete manifest is checked by
``validate_schema`` before it is sent.

Without a queue (a manifest the agent builds from its own config, such as the kaniko
builder's Job) there is no allow list: every guardrail is refused, and the service
account fields pass, since no submitter wrote any of it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from launch_core.errors import InvalidInput
from launch_core.resources.kube_schema import format_path, validate_schema

if TYPE_CHECKING:
    from launch_core.models import QueueDefinition

__all__ = ["GUARDRAILS", "SAFE_CAPABILITIES", "check_manifest", "findings",
           "validate_schema"]

# Capabilities a container may add without ``capabilities`` allowed: the Pod Security
# Standards' baseline list, that is Docker's default set without NET_RAW (packet
# forging, ARP spoofing on the node's network).
SAFE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})

# Guardrail name -> what it is, for the error.
GUARDRAILS = {
    "privileged": "a privileged container", "hostPath": "a hostPath volume",
    "hostNetwork": "the host's network", "hostPID": "the host's PID namespace",
    "hostIPC": "the host's IPC namespace", "hostPort": "a host port",
    "capabilities": "an added capability outside the baseline set",
    "seccomp": "an unconfined seccomp profile", "apparmor": "an unconfined AppArmor profile",
    "mountPropagation": "Bidirectional mount propagation"}
# Fields only the queue's admin may set (no allow list needed).
ADMIN_ONLY = {"serviceAccountName": "serviceAccountName", "serviceAccount": "serviceAccountName",
              "automountServiceAccountToken": "automountServiceAccountToken"}

_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_ANNOTATIONS = ("seccomp.security.alpha.kubernetes.io/pod",
                        "container.seccomp.security.alpha.kubernetes.io/")
_MISSING = object()

JsonPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Finding:
    """A guarded field a manifest sets: its guardrail (or admin-only field), where."""

    guard: str
    path: JsonPath
    value: Any


def check_manifest(manifest: dict[str, Any], queue: QueueDefinition | None = None) -> None:
    """Raise InvalidInput naming the JSON path of a guarded field ``manifest`` sets
    that the queue does not allow (``queue.allow_fields``), or that a submitter's
    value set (a value not in ``queue.config`` as its admin wrote it). Also refuses
    an ``allow_fields`` name that is no guardrail, and a field the Kubernetes schema
    does not know or a value of the wrong type (``validate_schema(partial=True)``:
    ``manifest`` may be a queue's, which the resource completes later)."""
    allowed = _allowed(queue)
    for finding in findings(manifest):
        where = format_path(finding.path)
        if finding.guard in GUARDRAILS and finding.guard not in allowed:
            raise InvalidInput(f"{where}: {GUARDRAILS[finding.guard]} is refused (the "
                               f"queue's admin may allow it: --allow-field {finding.guard})")
        if queue is not None and not _admin_literal(queue.config, finding):
            raise InvalidInput(f"{where}: {finding.guard} may only be set by the queue's "
                               "config as written (a literal), not by a job's template "
                               "values or resource args")
    validate_schema(manifest, partial=True)


def findings(manifest: dict[str, Any]) -> Iterator[Finding]:
    """Every guarded field ``manifest`` sets, wherever it is."""
    yield from _walk(manifest, ())


def _allowed(queue: QueueDefinition | None) -> set[str]:
    names = set(queue.allow_fields) if queue is not None else set()
    unknown = sorted(names - set(GUARDRAILS))
    if unknown:
        raise InvalidInput(f"allow_fields: {unknown[0]!r} is no Kubernetes guardrail "
                           f"(one of: {', '.join(GUARDRAILS)})")
    return names


def _admin_literal(config: dict[str, Any], finding: Finding) -> bool:
    """Whether the queue's config, as its admin wrote it, sets this very value there."""
    value: Any = config
    for part in finding.path:
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part, _MISSING)
        elif isinstance(value, list) and isinstance(part, int) and part < len(value):
            value = value[part]
        else:
            return False
    return value is not _MISSING and _is_literal(value) and bool(value == finding.value)


def _is_literal(value: Any) -> bool:
    if isinstance(value, str):
        return "{{" not in value and "${" not in value
    if isinstance(value, dict):
        return all(_is_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_literal(v) for v in value)
    return True


def _walk(node: Any, path: JsonPath) -> Iterator[Finding]:
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _walk(item, (*path, index))
    elif isinstance(node, dict):
        for key, value in node.items():
            here = (*path, key)
            yield from _field(str(key), value, here)
            if key not in ("annotations", "labels"):  # names, not fields
                yield from _walk(value, here)


def _field(key: str, value: Any, path: JsonPath) -> Iterator[Finding]:
    """The findings of one field, by its name (the same name means the same thing in
    a Pod, a Job and the custom resources that embed their specs)."""
    if key in ("privileged", "hostNetwork", "hostPID", "hostIPC", "hostPath", "hostPort"):
        if _is_set(value):
            yield Finding(key, path, value)
    elif key in ADMIN_ONLY:
        if value is not None and not (key == "automountServiceAccountToken" and value is False):
            yield Finding(ADMIN_ONLY[key], path, value)
    elif key == "capabilities" and isinstance(value, dict):
        yield from _capabilities(value.get("add"), (*path, "add"))
    elif key in ("seccompProfile", "appArmorProfile") and isinstance(value, dict):
        if str(value.get("type", "")).lower() == "unconfined":
            guard = "seccomp" if key == "seccompProfile" else "apparmor"
            yield Finding(guard, (*path, "type"), value["type"])
    elif key == "mountPropagation" and str(value).lower() == "bidirectional":
        yield Finding("mountPropagation", path, value)
    elif key == "annotations" and isinstance(value, dict):
        yield from _annotations(value, path)


def _is_set(value: Any) -> bool:
    """Whether a flag or source is on (an unfilled macro counts as on)."""
    if value is None or value is False or value == 0 or value == "":
        return False
    return not (isinstance(value, str) and value.lower() == "false")


def _capabilities(added: Any, path: JsonPath) -> Iterator[Finding]:
    if added is None:
        return
    if not isinstance(added, list):
        yield Finding("capabilities", path, added)
        return
    for index, name in enumerate(added):
        if str(name).upper().removeprefix("CAP_") not in SAFE_CAPABILITIES:
            yield Finding("capabilities", (*path, index), name)


def _annotations(annotations: dict[str, Any], path: JsonPath) -> Iterator[Finding]:
    for key, value in annotations.items():
        if str(value).lower() != "unconfined":
            continue
        if key.startswith(_APPARMOR_ANNOTATION):
            yield Finding("apparmor", (*path, key), value)
        elif key == _SECCOMP_ANNOTATIONS[0] or key.startswith(_SECCOMP_ANNOTATIONS[1]):
            yield Finding("seccomp", (*path, key), value)
