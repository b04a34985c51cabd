"""Kueue (kueue.x-k8s.io): a queue whose manifest labels the object with
``kueue.x-k8s.io/queue-name`` leaves admission to that Kueue LocalQueue.

Kueue admits a workload by setting its ``suspend`` field to false and evicts one by
setting it back to true (the Job controller then deletes its pods); the object keeps
its name throughout. So a suspended run is waiting, never preempted: relaunch neither
requeues it nor submits it again. A labelled manifest is created suspended
(``suspend_on_create``), so no pod starts before Kueue admits it.
"""

from __future__ import annotations

from typing import Any

QUEUE_LABEL = "kueue.x-k8s.io/queue-name"
DOMAIN = "kueue.x-k8s.io"
# Where each kind Kueue manages keeps its suspend flag, by (API group, kind).
_KUBEFLOW_SUSPEND = ("spec", "runPolicy", "suspend")
SUSPEND_PATHS: dict[tuple[str, str], tuple[str, ...]] = {
    ("batch", "Job"): ("spec", "suspend"),
    ("jobset.x-k8s.io", "JobSet"): ("spec", "suspend"),
    ("kubeflow.org", "PyTorchJob"): _KUBEFLOW_SUSPEND,
    ("kubeflow.org", "TFJob"): _KUBEFLOW_SUSPEND,
    ("kubeflow.org", "MPIJob"): _KUBEFLOW_SUSPEND,
    ("kubeflow.org", "XGBoostJob"): _KUBEFLOW_SUSPEND,
}


def is_kueue_key(key: str) -> bool:
    """Whether a label or annotation key is Kueue's (``kueue.x-k8s.io/...`` or a
    subdomain of it, such as ``provreq.kueue.x-k8s.io/``)."""
    prefix, slash, _ = key.partition("/")
    return bool(slash) and (prefix == DOMAIN or prefix.endswith("." + DOMAIN))


def local_queue(obj: dict[str, Any]) -> str | None:
    """The LocalQueue named by the object's ``kueue.x-k8s.io/queue-name`` label."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    value = labels.get(QUEUE_LABEL) if isinstance(labels, dict) else None
    return str(value) if value else None


def suspend_path(obj: dict[str, Any]) -> tuple[str, ...] | None:
    group = str(obj.get("apiVersion", "")).rpartition("/")[0]
    return SUSPEND_PATHS.get((group, str(obj.get("kind", ""))))


def is_suspended(obj: dict[str, Any]) -> bool:
    """Whether the object's suspend flag is true (waiting for admission, or evicted)."""
    path = suspend_path(obj)
    node: Any = obj
    for key in path or ():
        node = node.get(key) if isinstance(node, dict) else None
    return path is not None and node is True


def suspend_on_create(manifest: dict[str, Any]) -> None:
    """Set the suspend flag of a manifest that names a LocalQueue (Kueue unsuspends
    it on admission); a manifest without the label, or of a kind without a suspend
    flag, is left as it is."""
    path = suspend_path(manifest)
    if path is None or local_queue(manifest) is None:
        return
    node = manifest
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = True


def suspended_message(obj: dict[str, Any]) -> str:
    """What a suspended run is waiting for."""
    queue = local_queue(obj)
    if queue:
        return f"suspended by Kueue: waiting for admission to LocalQueue {queue}"
    return "suspended: waiting to be resumed"


def admitted_message(obj: dict[str, Any]) -> str:
    """What a labelled run that is not suspended says ("" without the label)."""
    queue = local_queue(obj)
    return f"admitted by Kueue (LocalQueue {queue})" if queue else ""
