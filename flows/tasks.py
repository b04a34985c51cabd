"""The six tasks of the launch-job flow. Each moves the item's state in the store."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from sqlalchemy.exc import DBAPIError

from flows.registry_setup import registry_for
from flows.runtime import resource_for, store_for
from launch_core.builders.base import (
    DEFAULT_BASE_IMAGE,
    BuildRequest,
    docker_daemon_answers,
    get_builder,
)
from launch_core.config import AgentConfig
from launch_core.errors import InvalidInput
from launch_core.registries import Registry
from launch_core.resolve import resolve_resource_config
from launch_core.resources.base import JobContext, RunStatus
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.states import BUILDING, CANCELLED, FINISHED, RUNNING, SUBMITTED
from launch_core.workspace import job_env, prepare_workdir, run_dir

CANCEL_CHECK_SECONDS = 1.0  # how often a running job's cancel_requested is read
STORE_RETRY_DELAYS = (1, 2, 4, 8, 15, 30)  # about a minute of store outage is ridden out


@dataclass(frozen=True)
class Launch:
    """What the tasks pass along: the item, its queue and the agent's config."""

    item: QueueItem
    queue: QueueRecord
    config: AgentConfig
    actor: str


def _store(launch: Launch) -> QueueStore:
    return store_for(launch.config.database)


@task(name="fetch-config", cache_policy=NO_CACHE)
async def fetch_config(item_id: int, config: AgentConfig, actor: str) -> Launch:
    """Read the item and the queue definition as they stand now."""
    store = store_for(config.database)
    item = await asyncio.to_thread(store.get_item, item_id)
    queue = await asyncio.to_thread(store.get_queue_by_id, item.queue_id)
    return Launch(item, queue, config, actor)


@dataclass(frozen=True)
class Resolved:
    """The job's final resource config and the queue's builder options."""

    config: dict[str, Any]
    builder: dict[str, Any]


@dataclass(frozen=True)
class Built:
    """The outcome of build-image: the image (if any), where it goes, the run dir."""

    image: str | None
    built: bool
    registry: Registry
    workdir: Path | None


@task(name="merge-overrides", cache_policy=NO_CACHE)
async def merge_overrides(launch: Launch) -> Resolved:
    """Render the queue template with the job's values, merge resource_args, fill
    macros, run the resource's validator (the ``builder`` section is set aside)."""
    item, queue = launch.item, launch.queue
    spec = item.spec
    if launch.config.secure_mode and spec.image and spec.entry_point:
        raise InvalidInput("secure_mode: entry point overrides of images are not allowed")
    macros = {
        "run_id": item.run_id, "run_name": spec.name or item.run_id, "item_id": str(item.id),
        "queue_name": queue.name, "entity_name": queue.entity,
        "project_name": spec.project or "", "author": spec.author or "",
    }
    if spec.image:
        macros["image_uri"] = spec.image
    resolved = resolve_resource_config(queue.definition, spec, macros, env=dict(os.environ))
    builder = resolved.pop("builder", None) or {}
    if not isinstance(builder, dict):
        raise InvalidInput("builder: the queue's builder section must be a mapping")
    resource_for(queue.definition.resource).validate(resolved)
    return Resolved(resolved, builder)


@task(name="build-image", cache_policy=NO_CACHE)
async def build_image(launch: Launch, resolved: Resolved) -> Built:
    """Fetch the code, then build (or pass through) the job's image; the item goes
    to ``building``. Build output streams into this flow run's logs."""
    store, item, resource = _store(launch), launch.item, launch.queue.definition.resource
    logger = get_run_logger()
    await asyncio.to_thread(store.transition, item.id, BUILDING, actor=launch.actor)
    registry = await registry_for(launch.config, resolved.builder)
    workdir = None  # code to build, or the directory a local process runs in
    if item.spec.image is None or resource == "local-process":
        workdir = await asyncio.to_thread(prepare_workdir, store, item,
                                          launch.config.allow_git_schemes)
    builder = get_builder(await asyncio.to_thread(_builder_type, launch.config, resource))
    base_image = (resolved.builder.get("base_image") or launch.config.builder.base_image
                  or DEFAULT_BASE_IMAGE)
    request = BuildRequest(item=item, resource=resource, context=workdir, registry=registry,
                           base_image=base_image, platform=launch.config.builder.platform,
                           log=lambda line: logger.info("%s", line))
    result = await asyncio.to_thread(builder.build, request)
    if result.note == "cached":
        await asyncio.to_thread(store.note, item.id, f"build skipped: {result.image} "
                                "already exists", actor=launch.actor)
    elif result.built:
        await asyncio.to_thread(store.note, item.id, f"built image {result.image}",
                                actor=launch.actor)
    return Built(result.image, result.built, registry, workdir)


def _builder_type(config: AgentConfig, resource: str) -> str:
    if resource == "local-process":
        return "noop"  # code runs directly; an image would not be used
    if config.builder.type:
        return config.builder.type
    return "docker" if docker_daemon_answers() else "noop"


@task(name="push-to-registry", cache_policy=NO_CACHE)
async def push_to_registry(launch: Launch, built: Built) -> str | None:
    """Push a freshly built image to its registry (retries on transient errors)."""
    if built.image is None or not built.built or built.registry.kind == "local":
        return built.image
    import docker

    logger = get_run_logger()
    client = await asyncio.to_thread(docker.from_env)
    await asyncio.to_thread(built.registry.push, client, built.image,
                            lambda line: logger.info("%s", line))
    await asyncio.to_thread(_store(launch).note, launch.item.id,
                            f"pushed {built.image}", actor=launch.actor)
    return built.image


@task(name="submit-to-resource", cache_policy=NO_CACHE)
async def submit_to_resource(launch: Launch, resolved: Resolved, built: Built
                             ) -> dict[str, Any]:
    """Start the run; store its handle in the item at once (state ``submitted``)."""
    store, item, queue = _store(launch), launch.item, launch.queue
    local = queue.definition.resource == "local-process"
    pull_auth = None
    if built.image and built.registry.kind != "local" and not local:
        auth = await asyncio.to_thread(built.registry.auth)
        pull_auth = auth.docker_auth_config() if auth else None
    # An image built from the job's code carries the entry point as its ENTRYPOINT.
    baked = built.image is not None and built.image != item.spec.image
    job = JobContext(
        run_id=item.run_id, item_id=item.id,
        entry_point=None if baked else item.spec.entry_point,
        args=list(item.spec.args),
        env=job_env(item, queue.name, queue.entity, resolved.config, built.image,
                    agent_basics=local),
        config=resolved.config, run_dir=run_dir(item.run_id),
        workdir=built.workdir, image=built.image, pull_auth=pull_auth)
    resource = resource_for(queue.definition.resource)
    handle = await asyncio.to_thread(resource.submit, job)
    handle = {"resource": queue.definition.resource, **handle}
    await asyncio.to_thread(store.transition, item.id, SUBMITTED, actor=launch.actor,
                            handle=handle)
    await asyncio.to_thread(store.transition, item.id, RUNNING, actor=launch.actor)
    return handle


@task(name="wait-for-completion", cache_policy=NO_CACHE)
async def wait_for_completion(launch: Launch, handle: dict[str, Any]) -> RunStatus:
    """Watch the run, stream its output into this flow run's logs, record the end.

    A cancel request stops the run (SIGTERM, then SIGKILL after stopped_run_timeout).
    """
    logger = get_run_logger()
    store, item = _store(launch), launch.item
    resource = resource_for(launch.queue.definition.resource)
    offset, polls = 0, 0
    while True:
        status = await asyncio.to_thread(resource.status, handle)
        text, offset = await asyncio.to_thread(resource.read_logs, handle, offset)
        for line in text.splitlines():
            logger.info("%s", line)
        if status.done:
            break
        polls += 1
        if polls % max(1, round(CANCEL_CHECK_SECONDS / resource.poll_interval)) == 0:
            try:
                current = await asyncio.to_thread(store.get_item, item.id)
            except DBAPIError as exc:  # store unreachable for now: look again later
                logger.warning("could not read job %s: %s", item.id, type(exc).__name__)
                current = None
            if current is not None and current.cancel_requested:
                await asyncio.to_thread(resource.cancel, handle,
                                        launch.config.stopped_run_timeout)
                await _until_stored(store.transition, item.id, CANCELLED, actor=launch.actor,
                                    message="cancelled on request")
                await asyncio.to_thread(resource.cleanup, handle)
                logger.info("job %s cancelled on request", item.id)
                return RunStatus("cancelled")
        await asyncio.sleep(resource.poll_interval)
    if status.state == "finished":
        await _until_stored(store.transition, item.id, FINISHED, actor=launch.actor,
                            exit_code=status.exit_code)
    else:
        await _until_stored(store.transition, item.id, "failed", actor=launch.actor,
                            exit_code=status.exit_code, stage="run", reason=status.message,
                            message=f"run: {status.message}")
    await asyncio.to_thread(resource.cleanup, handle)
    return status


async def _until_stored(write: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Record a run's end, retrying while the store is unreachable (a restarting
    database must not turn a finished job into a lost one)."""
    for delay in STORE_RETRY_DELAYS:
        try:
            await asyncio.to_thread(write, *args, **kwargs)
            return
        except DBAPIError as exc:
            get_run_logger().warning("store unreachable (%s); retrying in %.0fs",
                                     type(exc).__name__, delay)
            await asyncio.sleep(delay)
    await asyncio.to_thread(write, *args, **kwargs)
