"""``kubernetes``: a run is a ``batch/v1`` Job, or any custom resource named by the
queue config's ``apiVersion``/``kind`` (PyTorchJob, Volcano Job, JobSet...), created
in a cluster with ``kubernetes_asyncio``.

The manifest (``kube_manifest``), the cluster and namespace (``kube_client``) and the
reading of a run's state (``kube_status``) have their own modules. Every call opens
a client on a private event loop (``asyncio.run``), so the token of an in-cluster
service account is read afresh each time.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import ConfigDict

from launch_core.backends.kubernetes import guardrails as kube_guardrails
from launch_core.backends.kubernetes.client import (
    ClusterChoice,
    KubernetesUnreachable,
    ignore,
    raw_json,
    resolve_namespace,
    run_session,
)
from launch_core.backends.kubernetes.demand import manifest_gpus
from launch_core.backends.kubernetes.manifest import (
    CONTAINER_ANNOTATION,
    RUN_LABEL,
    Target,
    build_manifest,
    label_value,
    pull_secret,
    pull_secret_name,
    target_of,
)
from launch_core.backends.kubernetes.status import run_status
from launch_core.backends.resource import JobContext, Options, Resource, RunRef, RunStatus
from launch_core.private_files import private_dir, write_private
from launch_core.spec.env_option import env_option
from launch_core.spec.guardrails import Finding

if TYPE_CHECKING:
    from launch_core.spec.models import QueueDefinition

T = TypeVar("T")


def _record(ref: RunRef) -> Path:
    """Where submit writes a run's handle before its create request (the run's
    folder is shared by its resumed runs, so the file is named after the run)."""
    return ref.run_dir / f"kubernetes-{ref.name}.json"


class KubernetesOptions(Options):
    """W&B's kubernetes queue config: a manifest (``apiVersion``, ``kind``,
    ``metadata``, ``spec``) plus where to send it (``namespace``, ``configFile``,
    ``context``) and the job's extra variables (``env``). Where to send it, the kind
    and credentials are the queue admin's only (``kube_guardrails``)."""

    model_config = ConfigDict(extra="forbid")

    apiVersion: str = "batch/v1"
    kind: str = "Job"
    metadata: dict[str, Any] = {}
    spec: dict[str, Any] = {}
    namespace: str | None = None
    configFile: str | None = None
    context: str | None = None
    # Variables for the job's container, as for local-container (a mapping or W&B's
    # KEY=VALUE list); the pipeline puts them in the job's environment.
    env: dict[str, Any] | list[str] = {}

    def manifest(self) -> dict[str, Any]:
        return {"apiVersion": self.apiVersion, "kind": self.kind,
                "metadata": self.metadata, "spec": self.spec}

    def cluster(self) -> ClusterChoice:
        return ClusterChoice(self.configFile, self.context)


class KubernetesResource(Resource):
    """Runs named ``relaunch-<run id>[-r<N>]``: a second submit of a run finds the
    object by that name (409 on create) and starts nothing new."""

    name = "kubernetes"
    options = KubernetesOptions
    reports_preemption = True
    poll_interval: ClassVar[float] = 1.0
    # The manifest and the API server take large values; keep W&B's runner limit.
    env_value_limit: ClassVar[int | None] = 32670

    guards = kube_guardrails.GUARDS

    def validate(self, config: dict[str, Any], queue: QueueDefinition | None = None) -> None:
        options = self.parse_options(config)
        env_option(options.env)

    def guard_view(self, config: dict[str, Any]) -> dict[str, Any]:
        return kube_guardrails.guard_view(config)

    def demand(self, config: dict[str, Any]) -> dict[str, int]:
        """The GPUs of every pod the manifest makes (``kubernetes.demand``)."""
        return {"gpus": manifest_gpus(config)}

    def guard_findings(self, config: Any) -> list[Finding]:
        return list(kube_guardrails.find_guarded(config))

    def check_guardrails(self, config: dict[str, Any], queue: QueueDefinition | None,
                         reference: dict[str, Any] | None = None) -> None:
        """The guardrails (a job's value named as such first), then the kind (a batch
        Job or a workload kind ``kube_status`` reads), then the schema of the partial
        manifest (a typo named by its path; ``request`` checks the complete one)."""
        super().check_guardrails(config, queue, reference)
        options = self.parse_options(config)
        kube_guardrails.check_kind(options.apiVersion, options.kind)
        kube_guardrails.validate_schema(options.manifest(), partial=True)

    def request(self, job: JobContext) -> dict[str, Any]:
        options = self.parse_options(job.config)
        base = options.manifest()
        namespace = resolve_namespace(base, options.namespace, options.cluster())
        manifest = build_manifest(job, base, namespace)
        kube_guardrails.validate_schema(manifest)
        return manifest

    def submit(self, job: JobContext) -> dict[str, Any]:
        manifest = self.request(job)
        options = self.parse_options(job.config)
        target = target_of(manifest)
        secret = pull_secret(job, target.namespace)
        handle = {**target.as_handle(), **options.cluster().as_handle(),
                  "container": (manifest["metadata"].get("annotations") or {}).get(
                      CONTAINER_ANNOTATION),
                  "pull_secret": pull_secret_name(job.ref) if secret else None,
                  "log": str(job.run_dir / f"{job.ref.name}.log")}
        private_dir(job.run_dir)
        write_private(_record(job.ref), json.dumps(handle))
        self._run(handle, lambda api: self._create(api, target, manifest, secret))
        return handle

    async def _create(self, api: Any, target: Target, manifest: dict[str, Any],
                      secret: dict[str, Any] | None) -> None:
        from kubernetes_asyncio import client

        core: Any = client.CoreV1Api(api)
        if secret is not None:
            await ignore(409, core.create_namespaced_secret(
                target.namespace, secret))
        await ignore(409, client.CustomObjectsApi(api).create_namespaced_custom_object(
            target.group, target.version, target.namespace, target.plural, manifest))

    def find(self, ref: RunRef) -> dict[str, Any] | None:
        """The run's handle if its object exists (the handle an earlier submit wrote
        in the run's folder names the cluster, namespace and kind)."""
        record = _record(ref)
        if not record.is_file():
            return None
        handle: dict[str, Any] = json.loads(record.read_text())
        found = self._run(handle, lambda api: self._get(api, Target.from_handle(handle)))
        return handle if found is not None else None

    async def _get(self, api: Any, target: Target) -> dict[str, Any] | None:
        from kubernetes_asyncio import client

        found: dict[str, Any] | None = await ignore(404, raw_json(
            client.CustomObjectsApi(api).get_namespaced_custom_object(
                target.group, target.version, target.namespace, target.plural, target.name,
                _preload_content=False)))
        return found

    async def _pods(self, api: Any, target: Target) -> list[dict[str, Any]]:
        from kubernetes_asyncio import client

        core: Any = client.CoreV1Api(api)
        listed = await raw_json(core.list_namespaced_pod(
            target.namespace, label_selector=f"{RUN_LABEL}={label_value(target.name)}",
            _preload_content=False))
        pods = list(listed.get("items") or [])
        return sorted(pods, key=lambda p: p.get("metadata", {}).get("creationTimestamp", ""))

    def status(self, handle: dict[str, Any]) -> RunStatus:
        """The run's state; while the API server does not answer, still running (an
        API server restart does not fail the runs it watches)."""
        try:
            return self._run(handle, lambda api: self._status(api, handle))
        except KubernetesUnreachable as exc:
            return RunStatus("running", message=str(exc))

    async def _status(self, api: Any, handle: dict[str, Any]) -> RunStatus:
        target = Target.from_handle(handle)
        obj = await self._get(api, target)
        if obj is None:
            return RunStatus("failed", None, f"{target.kind} {target.name} disappeared "
                             "before its result was recorded")
        return run_status(obj, await self._pods(api, target), handle.get("container"))

    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        """The job container's output (of the run's last pod); from the run's log
        file once the run is cleaned up. ``offset`` counts characters."""
        saved = Path(handle["log"]) if handle.get("log") else None
        if saved is not None and saved.is_file():
            text = saved.read_text(encoding="utf-8", errors="replace")
        else:
            try:
                text = self._run(handle, lambda api: self._log(api, handle))
            except KubernetesUnreachable:
                return "", offset
        return text[offset:], max(offset, len(text))

    async def _log(self, api: Any, handle: dict[str, Any]) -> str:
        from kubernetes_asyncio import client

        pods = await self._pods(api, Target.from_handle(handle))
        if not pods:
            return ""
        pod = pods[-1]
        container = handle.get("container") or \
            (pod.get("spec", {}).get("containers") or [{}])[0].get("name")
        text = await ignore((400, 404), client.CoreV1Api(api).read_namespaced_pod_log(
            pod["metadata"]["name"], pod["metadata"]["namespace"], container=container))
        return str(text or "")

    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        """Delete the object with foreground propagation (its pods go first), giving
        them ``timeout`` seconds to stop; delete the run's pull secret."""
        self._run(handle, lambda api: self._delete(api, handle, int(timeout)))

    async def _delete(self, api: Any, handle: dict[str, Any], grace: int) -> None:
        from kubernetes_asyncio import client

        target = Target.from_handle(handle)
        await ignore(404, client.CustomObjectsApi(api).delete_namespaced_custom_object(
            target.group, target.version, target.namespace, target.plural, target.name,
            propagation_policy="Foreground", grace_period_seconds=grace))
        await self._delete_secret(api, handle)

    async def _delete_secret(self, api: Any, handle: dict[str, Any]) -> None:
        from kubernetes_asyncio import client

        if handle.get("pull_secret"):
            await ignore(404, client.CoreV1Api(api).delete_namespaced_secret(
                handle["pull_secret"], handle["namespace"]))

    def cleanup(self, handle: dict[str, Any]) -> None:
        """Save the run's output to its log file and delete its pull secret. The
        object stays until its ``ttlSecondsAfterFinished``."""
        self._run(handle, lambda api: self._cleanup(api, handle))

    async def _cleanup(self, api: Any, handle: dict[str, Any]) -> None:
        if handle.get("log") and not Path(handle["log"]).is_file():
            text = await self._log(api, handle)
            saved = Path(handle["log"])
            private_dir(saved.parent)
            partial = saved.with_suffix(".partial")
            write_private(partial, text)
            partial.replace(saved)  # whole or absent: read_logs goes to the pod until then
        await self._delete_secret(api, handle)

    def _run(self, handle: dict[str, Any], call: Callable[[Any], Awaitable[T]]) -> T:
        return run_session(ClusterChoice.from_handle(handle), call, handle)
