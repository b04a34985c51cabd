"""Test double: a kwok-like controller for kmock's KubernetesEmulator. It polls the
emulator's objects (on the emulator's own loop) and:

- gives each Job and custom resource (PyTorchJob, Volcano Job, JobSet...) one pod per
  pod template, labelled with the template's labels and ``job-name``;
- keeps a pod Pending and Unschedulable while it asks for more ``nvidia.com/gpu``
  than the fake cluster has; fails its container with ``ImagePullBackOff`` when the
  image can neither be found nor pulled;
- runs each schedulable pod's container on the local Docker daemon with
  ``--network none`` (its command, args and env), and moves the pod to Running, then
  Succeeded or Failed with the container's exit code (``OOMKilled`` kept: the
  container's ``limits.memory`` is its Docker memory limit);
- evicts on request (``DisruptionTarget`` condition, as the scheduler's preemption
  does); writes the owner's status the way its controller would (Job conditions,
  Kubeflow conditions, Volcano phase, JobSet conditions);
- removes the pods and containers of a deleted owner;
- honours ``spec.suspend`` as Kubernetes's Job controller does (Kueue's admission and
  eviction): no pods while suspended, a running owner's pods deleted on suspend, the
  ``Suspended`` condition True, then False (``JobResumed``) with new pods on resume.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import secrets
from typing import Any

import kmock

PODS = kmock.resource("", "v1", "pods")
_NOT_OWNERS = {"pods", "secrets", "configmaps", "events", "namespaces"}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class JobController:
    """See the module docstring. ``runs`` records every container started."""

    def __init__(self, emulator: Any, docker: Any, token: str, gpus: int) -> None:
        self.emulator, self.docker, self.token, self.gpus = emulator, docker, token, gpus
        self.runs: list[dict[str, Any]] = []
        self._owners: dict[tuple[Any, str, str], list[str]] = {}  # owner -> its pod names
        self._containers: dict[tuple[str, str], str] = {}  # (namespace, pod) -> container id
        self._evict: set[str] = set()
        self._suspended: set[tuple[Any, str, str]] = set()  # owners suspended once
        self.errors: list[str] = []

    async def run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception as exc:  # kept for the test's report; the loop goes on
                self.errors.append(f"{type(exc).__name__}: {exc}")
            await asyncio.sleep(0.2)

    async def _step(self) -> None:
        for key, obj in list(self.emulator.objects.items()):
            resource, namespace, name = key
            if resource == PODS and not obj.deleted:
                await self._step_pod(namespace, name, obj)
            elif resource.plural not in _NOT_OWNERS and resource.group:
                await self._step_owner(key, obj)

    # --- owners: Jobs and custom resources ------------------------------------

    async def _step_owner(self, key: tuple[Any, str, str], obj: Any) -> None:
        resource, namespace, name = key
        if obj.deleted:
            for pod in self._owners.pop(key, []):
                self._delete_pod(namespace, pod)
            return
        if (obj.raw.get("spec") or {}).get("suspend") is True:
            self._suspend(key, obj)
            return
        if key not in self._owners:
            self._owners[key] = [self._create_pod(namespace, name, template)
                                 for template in _templates(obj.raw.get("spec"))]
        phases = [self._pod(namespace, pod).get("status", {}).get("phase", "Pending")
                  for pod in self._owners[key]]
        outcome = "Failed" if "Failed" in phases else \
            "Succeeded" if phases and all(p == "Succeeded" for p in phases) else None
        status = _owner_status(obj.raw, phases, outcome)
        if key in self._suspended:
            status["conditions"] = [_suspended_condition(False), *status.get("conditions", [])]
        obj.patch({"status": status})

    def _suspend(self, key: tuple[Any, str, str], obj: Any) -> None:
        """A suspended owner: its pods deleted (none made), ``Suspended`` True; on
        resume ``_step_owner`` makes its pods again."""
        for pod in self._owners.pop(key, []):
            self._delete_pod(key[1], pod)
        self._suspended.add(key)
        obj.patch({"status": {"active": 0, "conditions": [_suspended_condition(True)]}})

    def _create_pod(self, namespace: str, owner: str, template: dict[str, Any]) -> str:
        name = f"{owner}-{secrets.token_hex(3)}"
        labels = {**(template.get("metadata", {}).get("labels") or {}),
                  "job-name": owner, "batch.kubernetes.io/job-name": owner}
        self.emulator.objects[PODS, namespace, name] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "labels": labels,
                         "creationTimestamp": _now(), "ownerReferences": [{"name": owner}]},
            "spec": template["spec"], "status": {"phase": "Pending"}}
        return name

    def _pod(self, namespace: str, name: str) -> dict[str, Any]:
        obj = self._find(namespace, name)
        return dict(obj.raw) if obj is not None and not obj.deleted else {}

    def _find(self, namespace: str, name: str) -> Any:
        key = (PODS, namespace, name)
        # (kmock's ObjectsArray has no .get)
        return self.emulator.objects[key] if key in self.emulator.objects else None  # noqa: SIM401

    def _delete_pod(self, namespace: str, name: str) -> None:
        obj = self._find(namespace, name)
        if obj is not None and not obj.deleted:
            obj.delete()
        container = self._containers.pop((namespace, name), None)
        if container is not None:
            with contextlib.suppress(Exception):
                self.docker.containers.get(container).remove(force=True)

    # --- pods ---------------------------------------------------------------------

    async def _step_pod(self, namespace: str, name: str, obj: Any) -> None:
        pod = obj.raw
        phase = pod.get("status", {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            return
        owner = pod["metadata"]["labels"].get("job-name", "")
        spec = pod["spec"]["containers"][0]
        if (namespace, name) not in self._containers:
            obj.patch({"status": await self._start(namespace, name, owner, spec)})
        elif owner in self._evict:
            await asyncio.to_thread(self._stop, namespace, name)
            obj.patch({"status": {"phase": "Failed", "reason": "Preempted", "conditions": [
                {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
                 "message": "Preempted in order to admit critical pod"}]}})
        else:
            status = await asyncio.to_thread(self._container_status, namespace, name, spec)
            if status is not None:
                obj.patch({"status": status})

    async def _start(self, namespace: str, name: str, owner: str, spec: dict[str, Any]
                     ) -> dict[str, Any]:
        wanted = int(((spec.get("resources") or {}).get("limits") or {})
                     .get("nvidia.com/gpu", 0))
        if wanted > self.gpus:
            message = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."
            return {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": message}]}
        env = {e["name"]: str(e.get("value", "")) for e in spec.get("env") or [] if "name" in e}
        try:
            container = await asyncio.to_thread(self._run_container, spec, env)
        except Exception as exc:  # the image is neither here nor pullable
            self._containers[(namespace, name)] = ""
            return {"phase": "Pending", "containerStatuses": [{
                "name": spec.get("name", "job"), "ready": False, "state": {"waiting": {
                    "reason": "ImagePullBackOff",
                    "message": f"Back-off pulling image \"{spec.get('image')}\": "
                               f"{type(exc).__name__}"}}}]}
        self._containers[(namespace, name)] = container
        self.runs.append({"job": owner, "pod": name, "env": env})
        return {"phase": "Running", "startTime": _now(), "containerStatuses": [{
            "name": spec.get("name", "job"), "ready": True,
            "state": {"running": {"startedAt": _now()}}}]}

    def _run_container(self, spec: dict[str, Any], env: dict[str, str]) -> str:
        image = spec["image"]
        try:
            self.docker.images.get(image)
        except Exception:
            self.docker.images.pull(image)
        memory = _memory_bytes(((spec.get("resources") or {}).get("limits") or {})
                               .get("memory"))
        limits = {"mem_limit": memory, "memswap_limit": memory} if memory else {}
        container = self.docker.containers.run(
            image, command=spec.get("args"), entrypoint=spec.get("command"), environment=env,
            network_mode="none", detach=True, labels={"relaunch.kube-double": self.token},
            **limits)
        return str(container.id)

    def _container_status(self, namespace: str, name: str, spec: dict[str, Any]
                          ) -> dict[str, Any] | None:
        container_id = self._containers.get((namespace, name))
        if not container_id:
            return None
        state = self.docker.containers.get(container_id).attrs["State"]
        if state["Status"] != "exited":
            return None
        code = int(state["ExitCode"])
        reason = "OOMKilled" if state.get("OOMKilled") else "Completed" if code == 0 else "Error"
        return {"phase": "Succeeded" if code == 0 else "Failed", "containerStatuses": [{
            "name": spec.get("name", "job"), "ready": False,
            "state": {"terminated": {"exitCode": code, "reason": reason}}}]}

    def _stop(self, namespace: str, name: str) -> None:
        container_id = self._containers.get((namespace, name))
        if container_id:
            with contextlib.suppress(Exception):
                self.docker.containers.get(container_id).kill()

    def pod_log(self, namespace: str, name: str) -> bytes:
        container_id = self._containers.get((namespace, name))
        if not container_id:
            return b""
        try:
            return bytes(self.docker.containers.get(container_id).logs())
        except Exception:
            return b""

    def evict(self, owner: str) -> None:
        self._evict.add(owner)

    def remove_containers(self) -> None:
        for container in self.docker.containers.list(
                all=True, filters={"label": f"relaunch.kube-double={self.token}"}):
            with contextlib.suppress(Exception):
                container.remove(force=True)


_MEMORY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}


def _memory_bytes(quantity: Any) -> int | None:
    """A container's ``limits.memory`` (``"64Mi"``, ``"1G"``, bytes) in bytes: the
    container's memory cgroup limit, so a run past it is OOMKilled as on a node."""
    if quantity is None:
        return None
    text = str(quantity).strip()
    for unit, size in _MEMORY_UNITS.items():
        if text.endswith(unit) and text[:-len(unit)].isdecimal():
            return int(text[:-len(unit)]) * size
    return int(text) if text.isdecimal() else None


def _templates(node: Any) -> list[dict[str, Any]]:
    """Pod templates under ``node`` (a ``template`` whose ``spec`` has containers)."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        template = node.get("template")
        if isinstance(template, dict) and "containers" in (template.get("spec") or {}):
            return [template]
        for value in node.values():
            found += _templates(value)
    elif isinstance(node, list):
        for value in node:
            found += _templates(value)
    return found


def _suspended_condition(suspended: bool) -> dict[str, str]:
    reason, message = ("JobSuspended", "Job suspended") if suspended else \
        ("JobResumed", "Job resumed")
    return {"type": "Suspended", "status": str(suspended), "reason": reason,
            "message": message}


def _owner_status(owner: dict[str, Any], phases: list[str], outcome: str | None
                  ) -> dict[str, Any]:
    """The owner's status as its own controller writes it."""
    kind, group = owner.get("kind"), owner.get("apiVersion", "").rpartition("/")[0]
    if group == "batch.volcano.sh":
        phase = {"Failed": "Failed", "Succeeded": "Completed"}.get(outcome or "", "Running")
        return {"state": {"phase": phase}}
    ended = {"Failed": "Failed", "Succeeded": "Complete" if kind == "Job" else
             "Succeeded" if group == "kubeflow.org" else "Completed"}.get(outcome or "")
    status: dict[str, Any] = {"active": phases.count("Running") + phases.count("Pending"),
                              "succeeded": phases.count("Succeeded"),
                              "failed": phases.count("Failed")}
    if ended:
        reason = "BackoffLimitExceeded" if ended == "Failed" else ended
        status["conditions"] = [{"type": ended, "status": "True", "reason": reason,
                                 "message": "Job has reached the specified backoff limit"
                                 if ended == "Failed" else ""}]
    return status
