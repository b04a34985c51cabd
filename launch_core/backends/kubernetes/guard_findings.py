"""The Kubernetes guards (``GUARDS``, for launch_core.spec.guardrails) and where a queue
config or a manifest sets them (``find_guarded``).

The walk is generic: every field is looked at wherever it is, so a Job's
``spec.template.spec``, a PyTorchJob's ``spec.pytorchReplicaSpecs.*``, a JobSet's
``spec.replicatedJobs[*].template.spec.template.spec``, a Volcano Job's
``spec.tasks[*].template.spec``, init and ephemeral containers are all covered. A
field means the same wherever it is (a Pod's, a Job's and the custom resources that
embed their specs).

Scopes (what must be the admin's as a whole): an allowable finding inside a container
(``containers``, ``initContainers``, ``ephemeralContainers``) is scoped to the whole
container; a ``hostPath``, ``secret``, ``projected`` or ``csi`` volume to its volume
entry; a ``volumeMount`` naming such a volume (any container) is a finding of its own,
scoped to the whole mount; a ``secretKeyRef`` to its ``env`` entry.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from launch_core.backends.kubernetes import kueue
from launch_core.backends.kubernetes.manifest import CONTAINER_ANNOTATION
from launch_core.spec.guardrails import ADMIN, ALLOWABLE, Finding, Guard, JsonPath, at_paths

# Capabilities a container may add without ``capabilities`` allowed: the Pod Security
# Standards' baseline list, that is Docker's default set without NET_RAW.
SAFE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
# The baseline's safe sysctls (namespaced, isolated from the node and other pods).
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range",
    "net.ipv4.ip_unprivileged_port_start", "net.ipv4.tcp_syncookies",
    "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
    "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"})
# The baseline's SELinux types (user and role must be unset).
SAFE_SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t",
                                "container_engine_t"})


def _allowable(what: str) -> Guard:
    return Guard(what, ALLOWABLE)


GUARDS: dict[str, Guard] = {
    # Allowable (``--allow-field NAME``): the Pod Security Standards' baseline.
    "privileged": _allowable("a privileged container"),
    "hostPath": _allowable("a hostPath volume"),
    "hostNetwork": _allowable("the host's network"),
    "hostPID": _allowable("the host's PID namespace"),
    "hostIPC": _allowable("the host's IPC namespace"),
    "hostPort": _allowable("a host port"),
    "capabilities": _allowable("an added capability outside the baseline set"),
    "seccomp": _allowable("an unconfined seccomp profile"),
    "apparmor": _allowable("an unconfined AppArmor profile"),
    "mountPropagation": _allowable("Bidirectional mount propagation"),
    "procMount": _allowable("a proc mount other than Default"),
    "sysctls": _allowable("a sysctl outside the baseline's safe set"),
    "seLinuxOptions": _allowable("SELinux options outside the baseline"),
    "hostProcess": _allowable("a Windows host process"),
    # Admin-only: where the run goes, which manifest, which container runs the job.
    "configFile": Guard("the kube config file"),
    "context": Guard("the kube config context"),
    "namespace": Guard("the namespace"),
    "apiVersion": Guard("the API version"),
    "kind": Guard("the kind"),
    "jobContainer": Guard("the container that runs the job"),
    # Admin-only: credentials.
    "secretVolume": Guard("a secret volume"),
    "projected": Guard("a projected volume (service-account tokens, secrets)"),
    "csi": Guard("a CSI volume (secrets stores, cloud credentials)"),
    "secretRef": Guard("a reference to a Secret"),
    "envFrom": Guard("environment variables from a Secret or ConfigMap (envFrom)"),
    "imagePullSecrets": Guard("image pull secrets"),
    "serviceAccountName": Guard("the pod's service account"),
    "automountServiceAccountToken": Guard("the service-account token", ADMIN,
                                          narrows=lambda value: value is False),
    # Admin-only: which nodes.
    "nodeName": Guard("the node the pod runs on"),
    "tolerations": Guard("a toleration of every taint (operator Exists without a key)"),
    "priorityClassName": Guard("a system priority class"),
    # Admin-only: Kueue's admission (which LocalQueue, its other labels, suspension).
    "localQueue": Guard(f"the Kueue LocalQueue (label {kueue.QUEUE_LABEL})"),
    "kueue": Guard("a Kueue label or annotation (priority class, limits...)"),
    "suspend": Guard("the suspend flag (Kueue admits a run by clearing it)"),
}

CONTAINER_LISTS = frozenset({"containers", "initContainers", "ephemeralContainers"})
_CREDENTIAL_VOLUMES = {"secret": "secretVolume", "projected": "projected", "csi": "csi"}
_FLAGS = frozenset({"privileged", "hostNetwork", "hostPID", "hostIPC", "hostPort",
                    "nodeName"})
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_ANNOTATIONS = ("seccomp.security.alpha.kubernetes.io/pod",
                        "container.seccomp.security.alpha.kubernetes.io/")

_top_level = at_paths({("configFile",): "configFile", ("context",): "context",
                       ("namespace",): "namespace", ("apiVersion",): "apiVersion",
                       ("kind",): "kind",
                       ("metadata", "annotations", CONTAINER_ANNOTATION): "jobContainer"})


def find_guarded(config: Any) -> Iterator[Finding]:
    """Every guarded field ``config`` (a kubernetes queue config or a manifest) sets."""
    yield from _top_level(config)
    yield from _walk(config, (), None)


def _walk(node: Any, path: JsonPath, container: JsonPath | None) -> Iterator[Finding]:
    if isinstance(node, list):
        in_containers = bool(path) and path[-1] in CONTAINER_LISTS
        for index, item in enumerate(node):
            here = (*path, index)
            yield from _walk(item, here, here if in_containers else container)
    elif isinstance(node, dict):
        for key, value in node.items():
            here = (*path, key)
            for finding in _field(str(key), value, here):
                if finding.scope is None and container is not None \
                        and GUARDS[finding.guard].kind == ALLOWABLE:
                    finding = Finding(finding.guard, finding.path, finding.value, container)
                yield finding
            if key not in ("annotations", "labels"):  # names, not fields
                yield from _walk(value, here, container)
        yield from _mounts(node, path)  # after the volumes they name


def _field(key: str, value: Any, path: JsonPath) -> Iterator[Finding]:
    """The findings of one field, by its name."""
    volume = path[:-1] if len(path) >= 3 and isinstance(path[-2], int) \
        and path[-3] == "volumes" else None
    if key in _FLAGS or key == "hostPath":
        if _is_set(value):
            yield Finding(key, path, value, volume if key == "hostPath" else None)
    elif key in _CREDENTIAL_VOLUMES and volume is not None:
        if value is not None:
            yield Finding(_CREDENTIAL_VOLUMES[key], path, value, volume)
    elif key in ("envFrom", "imagePullSecrets"):
        if value:
            yield Finding(key, path, value)
    elif "secret" in key.lower():  # secretKeyRef, secretRef, secretName, *SecretRef...
        if value is not None and value != "":
            env = path[:-2] if key == "secretKeyRef" and path[-2:-1] == ("valueFrom",) \
                else None
            yield Finding("secretRef", path, value, env)
    elif key in ("serviceAccountName", "serviceAccount"):
        if value is not None and value != "":
            yield Finding("serviceAccountName", path, value)
    elif key in ("automountServiceAccountToken", "suspend"):
        if value is not None:
            yield Finding(key, path, value)
    elif key == "namespace" and path[-2:-1] == ("metadata",):
        if value is not None:
            yield Finding("namespace", path, value)
    else:
        yield from _security(key, value, path)


def _security(key: str, value: Any, path: JsonPath) -> Iterator[Finding]:
    """Pod security and node fields."""
    if key == "capabilities" and isinstance(value, dict):
        yield from _capabilities(value.get("add"), (*path, "add"))
    elif key in ("seccompProfile", "appArmorProfile") and isinstance(value, dict):
        if str(value.get("type", "")).lower() == "unconfined":
            guard = "seccomp" if key == "seccompProfile" else "apparmor"
            yield Finding(guard, (*path, "type"), value["type"])
    elif key == "mountPropagation" and str(value).lower() == "bidirectional":
        yield Finding("mountPropagation", path, value)
    elif key == "procMount":
        if value is not None and value != "Default":
            yield Finding("procMount", path, value)
    elif key == "sysctls" and value is not None:
        for index, entry in enumerate(value if isinstance(value, list) else [value]):
            name = entry.get("name") if isinstance(entry, dict) else None
            if name not in SAFE_SYSCTLS:
                yield Finding("sysctls", (*path, index) if isinstance(value, list) else path,
                              entry)
    elif key == "seLinuxOptions" and value is not None:
        if not isinstance(value, dict) or (value.get("type") or "") not in SAFE_SELINUX_TYPES \
                or value.get("user") or value.get("role"):
            yield Finding("seLinuxOptions", path, value)
    elif key == "windowsOptions" and isinstance(value, dict):
        if _is_set(value.get("hostProcess")):
            yield Finding("hostProcess", (*path, "hostProcess"), value["hostProcess"])
    elif key == "tolerations" and value is not None:
        for index, entry in enumerate(value if isinstance(value, list) else [value]):
            if not isinstance(entry, dict) or (entry.get("operator") == "Exists"
                                               and not entry.get("key")):
                yield Finding("tolerations", (*path, index) if isinstance(value, list)
                              else path, entry)
    elif key == "priorityClassName" and isinstance(value, str):
        if value.startswith("system-") or "${" in value:
            yield Finding("priorityClassName", path, value)
    elif key in ("annotations", "labels") and isinstance(value, dict):
        yield from _kueue_keys(value, path)
        if key == "annotations":
            yield from _annotations(value, path)


def _mounts(pod: dict[str, Any], path: JsonPath) -> Iterator[Finding]:
    """In a pod spec: each volumeMount (of any container) naming a guarded volume
    (hostPath, secret, projected, csi, or one holding a Secret reference), as a
    finding of that volume's guard scoped to the whole mount."""
    volumes = pod.get("volumes")
    if not isinstance(volumes, list):
        return
    guarded = {volume["name"]: guard for volume in volumes if isinstance(volume, dict)
               and isinstance(volume.get("name"), str)
               and (guard := _volume_guard(volume)) is not None}
    for key in sorted(CONTAINER_LISTS & pod.keys()):
        containers = pod[key]
        for index, container in enumerate(containers if isinstance(containers, list) else []):
            mounts = container.get("volumeMounts") if isinstance(container, dict) else None
            for number, mount in enumerate(mounts if isinstance(mounts, list) else []):
                name = mount.get("name") if isinstance(mount, dict) else None
                if isinstance(name, str) and name in guarded:
                    where = (*path, key, index, "volumeMounts", number)
                    yield Finding(guarded[name], where, mount, where)


def _volume_guard(volume: dict[str, Any]) -> str | None:
    if _is_set(volume.get("hostPath")):
        return "hostPath"
    for key, guard in _CREDENTIAL_VOLUMES.items():
        if volume.get(key) is not None:
            return guard
    return "secretRef" if _mentions_secret(volume) else None


def _mentions_secret(node: Any) -> bool:
    if isinstance(node, dict):
        return any("secret" in str(key).lower() or _mentions_secret(value)
                   for key, value in node.items())
    return isinstance(node, list) and any(_mentions_secret(item) for item in node)


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


def _kueue_keys(marks: dict[str, Any], path: JsonPath) -> Iterator[Finding]:
    """Kueue's labels or annotations (any object's: Kueue also manages plain pods)."""
    for key, value in marks.items():
        if key == kueue.QUEUE_LABEL:
            yield Finding("localQueue", (*path, key), value)
        elif kueue.is_kueue_key(str(key)):
            yield Finding("kueue", (*path, key), value)


def _annotations(annotations: dict[str, Any], path: JsonPath) -> Iterator[Finding]:
    for key, value in annotations.items():
        if str(value).lower() != "unconfined":
            continue
        if key.startswith(_APPARMOR_ANNOTATION):
            yield Finding("apparmor", (*path, key), value)
        elif key == _SECCOMP_ANNOTATIONS[0] or key.startswith(_SECCOMP_ANNOTATIONS[1]):
            yield Finding("seccomp", (*path, key), value)
