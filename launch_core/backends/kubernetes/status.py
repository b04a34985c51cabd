"""A run's state from its Kubernetes object and pods.

The object says whether the run ended (``STATUS_MAPPINGS``: a batch Job's conditions,
a PyTorchJob's, a Volcano Job's phase, a JobSet's conditions); its pods say why:

- a pod with a ``DisruptionTarget`` condition, or evicted, makes a failed run
  ``preempted`` (the item is requeued with the same run id);
- a failed run's message is its container's reason (``OOMKilled``: cause OOM) or exit
  code;
- a container that cannot start (``ImagePullBackOff``, ``InvalidImageName``...) fails
  the run at once: the object would wait forever;
- a pending pod's reason is a running run's message ("waiting: 0/3 nodes have
  nvidia.com/gpu");
- a suspended object (``spec.suspend``: Kueue has not admitted it yet, or evicted it)
  is running and waiting, whatever its pods say: Kueue resumes it under its own name,
  so it is never reported preempted (``kueue``).

Adding a kind: one entry in ``STATUS_MAPPINGS`` keyed by (API group, kind), naming
the condition types (or, with ``phase_path``, the phases) that mean finished and
failed. A kind without an entry is read with ``GENERIC``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from launch_core.backends.kubernetes import kueue
from launch_core.backends.resource import RunStatus
from launch_core.spec.failure_class import INFRA, OOM

# A container waiting for one of these never starts without a change to the run.
FATAL_WAITING = ("ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
                 "CreateContainerConfigError", "CreateContainerError")
# Of those, an image pull that failed: perhaps the registry only for a while (infra).
PULL_FAILED = ("ImagePullBackOff",)
OOM_KILLED = "OOMKilled"  # a container's terminated reason when it was killed for memory


@dataclass(frozen=True)
class StatusMapping:
    """How a kind reports its end: condition types whose status is "True" (or, when
    ``phase_path`` is set, the value found at that path of the object)."""

    finished: tuple[str, ...]
    failed: tuple[str, ...]
    phase_path: tuple[str, ...] | None = None

    def outcome(self, obj: dict[str, Any]) -> tuple[str | None, str]:
        """("finished" | "failed" | None, the object's own reason)."""
        if self.phase_path is not None:
            node: Any = obj
            for key in self.phase_path:
                node = node.get(key) if isinstance(node, dict) else None
            phase = str(node or "")
            state = "finished" if phase in self.finished else \
                "failed" if phase in self.failed else None
            return state, phase
        for condition in (obj.get("status") or {}).get("conditions") or []:
            if str(condition.get("status")) != "True":
                continue
            kind = condition.get("type")
            if kind in self.finished:
                return "finished", ""
            if kind in self.failed:
                reason = condition.get("reason") or kind
                detail = condition.get("message")
                return "failed", f"{reason}: {detail}" if detail else str(reason)
        return None, ""


_KUBEFLOW = StatusMapping(finished=("Succeeded",), failed=("Failed",))
GENERIC = StatusMapping(finished=("Complete", "Completed", "Succeeded"), failed=("Failed",))
STATUS_MAPPINGS: dict[tuple[str, str], StatusMapping] = {
    ("batch", "Job"): StatusMapping(finished=("Complete",), failed=("Failed",)),
    ("kubeflow.org", "PyTorchJob"): _KUBEFLOW,
    ("kubeflow.org", "TFJob"): _KUBEFLOW,
    ("kubeflow.org", "MPIJob"): _KUBEFLOW,
    ("kubeflow.org", "XGBoostJob"): _KUBEFLOW,
    ("batch.volcano.sh", "Job"): StatusMapping(
        finished=("Completed",), failed=("Failed", "Aborted", "Terminated"),
        phase_path=("status", "state", "phase")),
    ("jobset.x-k8s.io", "JobSet"): StatusMapping(finished=("Completed",), failed=("Failed",)),
}


def mapping_for(api_version: str, kind: str) -> StatusMapping:
    return STATUS_MAPPINGS.get((api_version.rpartition("/")[0], kind), GENERIC)


def run_status(obj: dict[str, Any], pods: list[dict[str, Any]], container: str | None
               ) -> RunStatus:
    """The run's state from its object ``obj`` and its ``pods`` (oldest first);
    ``container`` names the job's container (None: the first)."""
    state, reason = mapping_for(obj.get("apiVersion", ""), obj.get("kind", "")).outcome(obj)
    if state == "finished":
        return RunStatus("finished", 0)
    if state is None and kueue.is_suspended(obj):
        return RunStatus("running", message=kueue.suspended_message(obj),
                         extra={"held": True})
    live = [pod for pod in pods if _phase(pod) in ("Pending", "Running", "")]
    disrupted = [d for d in map(_disruption, pods) if d]
    if disrupted and (state == "failed" or not live):
        return RunStatus("preempted", None, disrupted[-1])
    ended = [e for e in (_ended(pod, container) for pod in pods) if e]
    if state == "failed":
        code, message, cause = ended[-1] if ended else (None, reason or "failed", None)
        return RunStatus("failed", code, message, cause=cause)
    for pod in live:
        waiting = _waiting(pod, container)
        if waiting and waiting[0] in FATAL_WAITING:
            return RunStatus("failed", None, f"{waiting[0]}: {waiting[1]}".rstrip(": "),
                             cause=INFRA if waiting[0] in PULL_FAILED else None)
    pending = _pending_reason(live[-1]) if live else ""
    return RunStatus("running", message=pending or kueue.admitted_message(obj))


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _disruption(pod: dict[str, Any]) -> str | None:
    status = pod.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("type") == "DisruptionTarget" and str(condition.get("status")) == "True":
            why = condition.get("message") or condition.get("reason") or "disrupted"
            return f"preempted: {why}"
    if status.get("reason") == "Evicted":
        return f"preempted: evicted: {status.get('message') or 'no reason given'}"
    return None


def _container_status(pod: dict[str, Any], container: str | None) -> dict[str, Any] | None:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    for status in statuses:
        if container is None or status.get("name") == container:
            return dict(status)
    return None


def _ended(pod: dict[str, Any], container: str | None
           ) -> tuple[int | None, str, str | None] | None:
    """(exit code, reason, cause: OOM or None) of the job's container if it ended in
    error."""
    status = _container_status(pod, container) or {}
    terminated = (status.get("state") or {}).get("terminated") or \
        (status.get("lastState") or {}).get("terminated")
    if not terminated or terminated.get("exitCode", 0) == 0:
        return None
    code = int(terminated["exitCode"])
    reason = terminated.get("reason")
    cause = OOM if reason == OOM_KILLED else None
    if reason and reason != "Error":
        return code, f"{reason} (exit code {code})", cause
    return code, f"exit code {code}", cause


def _waiting(pod: dict[str, Any], container: str | None) -> tuple[str, str] | None:
    status = _container_status(pod, container) or {}
    waiting = (status.get("state") or {}).get("waiting")
    if not waiting:
        return None
    return str(waiting.get("reason") or "waiting"), str(waiting.get("message") or "")


def _pending_reason(pod: dict[str, Any]) -> str:
    """Why a pod has not started yet ("waiting: ..."), or ""."""
    if _phase(pod) not in ("Pending", ""):
        return ""
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "PodScheduled" and str(condition.get("status")) == "False":
            return f"waiting: {condition.get('message') or condition.get('reason')}"
    waiting = _waiting(pod, None)
    if waiting:
        return f"waiting: {waiting[0]}: {waiting[1]}".rstrip(": ")
    return "waiting: pod pending"
