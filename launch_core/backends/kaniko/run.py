"""Running a kaniko build Job in the cluster: create it (and the destination's
Secret), stream its pod's log into the job's log until it ends, delete both.
``kubernetes_asyncio`` is imported inside the functions (extra ``kubernetes``)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Any

from launch_core.backends.builder import BuildFailed
from launch_core.backends.kaniko.job import BUILD_LABEL, CONTAINER, KanikoBuild, kaniko_job
from launch_core.backends.kubernetes.client import ignore, raw_json

TAIL_LINES = 15
Log = Callable[[str], None]


def run_build_job(cluster: Any, build: KanikoBuild, secret: dict[str, Any] | None,
                  log: Log, interval: float) -> None:
    """Create the build Job (and Secret), stream its log, delete both. Raises
    BuildFailed with the reason and the log's last lines when the build fails."""
    from launch_core.backends.kubernetes import guardrails as kube_guardrails
    from launch_core.backends.kubernetes.client import KubernetesApiError, run_session

    manifest = kaniko_job(build)
    kube_guardrails.check_manifest(manifest)  # no queue: nothing allowable passes
    kube_guardrails.validate_schema(manifest)
    try:
        run_session(cluster, lambda api: _run(api, build, manifest, secret, log, interval),
                    {"kind": "kaniko Job", "name": build.name, "namespace": build.namespace})
    except KubernetesApiError as exc:
        raise BuildFailed(f"image build failed: {exc}") from None


async def _run(api: Any, build: KanikoBuild, manifest: dict[str, Any],
               secret: dict[str, Any] | None, log: Log, interval: float) -> None:
    from kubernetes_asyncio import client

    core: Any = client.CoreV1Api(api)
    batch: Any = client.BatchV1Api(api)
    try:
        if secret is not None:
            await ignore(409, core.create_namespaced_secret(build.namespace, secret))
        await ignore(409, raw_json(batch.create_namespaced_job(build.namespace, manifest,
                                                               _preload_content=False)))
        log(f"kaniko Job {build.namespace}/{build.name} building {build.image}")
        await _watch(core, batch, build, log, interval)
    finally:
        await ignore(404, batch.delete_namespaced_job(
            build.name, build.namespace, propagation_policy="Foreground"))
        if secret is not None:
            await ignore(404, core.delete_namespaced_secret(
                secret["metadata"]["name"], build.namespace))


async def _watch(core: Any, batch: Any, build: KanikoBuild, log: Log,
                 interval: float) -> None:
    from launch_core.backends.kubernetes.status import run_status

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    shown, partial, waiting = 0, "", ""
    while True:
        job = await ignore(404, raw_json(batch.read_namespaced_job(
            build.name, build.namespace, _preload_content=False)))
        if job is None:
            raise BuildFailed("image build failed: the kaniko Job disappeared")
        listed = await raw_json(core.list_namespaced_pod(
            build.namespace, label_selector=f"{BUILD_LABEL}={build.name}",
            _preload_content=False))
        pods = sorted(listed.get("items") or [],
                      key=lambda p: p.get("metadata", {}).get("creationTimestamp", ""))
        text = await _pod_log(core, pods[-1]) if pods else ""
        status = run_status(job, pods, CONTAINER)
        done = status.state != "running"
        if not done and status.message != waiting:  # "waiting: 0/3 nodes are available..."
            waiting = status.message
            if waiting:
                log(f"kaniko Job {build.name}: {waiting}")
        fresh, shown = partial + text[shown:], max(shown, len(text))
        lines = fresh.split("\n")
        partial = "" if done else lines.pop()
        for line in (line.rstrip() for line in lines):
            if line:
                tail.append(line)
                log(line)
        if status.state == "finished":
            return
        if done:
            last = " | ".join(list(tail)[-5:])
            raise BuildFailed(f"image build failed (kaniko: {status.message or status.state})"
                              + (f": {last}" if last else ""))
        await asyncio.sleep(interval)


async def _pod_log(core: Any, pod: dict[str, Any]) -> str:
    meta = pod.get("metadata") or {}
    text = await ignore((400, 404), core.read_namespaced_pod_log(
        meta.get("name"), meta.get("namespace"), container=CONTAINER))
    return str(text or "")
