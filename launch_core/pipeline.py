"""One job's launch pipeline, without Prefect: fetch, resolve, build, push, submit,
watch. Every write to the item is fenced by the claim the pipeline runs under.

The Prefect layer (``flows/``) runs each stage as a named task through ``step``;
fast tests run the same pipeline with ``direct_step``.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launch_core.builders.base import (
    DEFAULT_BASE_IMAGE,
    BuildRequest,
    docker_daemon_answers,
    get_builder,
)
from launch_core.config import AgentConfig
from launch_core.errors import (
    ConfigError,
    IllegalTransition,
    InvalidInput,
    LaunchError,
    LostClaim,
    NotFound,
)
from launch_core.registries import Registry, make_registry, registry_class
from launch_core.resolve import resolve_resource_config
from launch_core.resources.base import JobContext, Resource, RunRef, RunStatus, get_resource
from launch_core.store import Claim, QueueItem, QueueRecord, QueueStore
from launch_core.store.states import (
    BUILDING,
    CANCELLED,
    FAILED,
    FINISHED,
    LAUNCHED,
    RUNNING,
    SUBMITTED,
    UNSUBMITTED,
)
from launch_core.workspace import job_env, prepare_workdir, run_dir

CANCEL_CHECK_SECONDS = 1.0  # how often a running job's item is read (cancel, holder)
STORE_RETRY_DELAYS = (1, 2, 4, 8, 15, 30)  # about a minute of store outage is ridden out
LOST = "lost"  # what run() returns when another agent took the item over

# The stage a failure in each step is recorded as.
STAGES = {"fetch-config": "agent", "merge-overrides": "agent", "build-image": "build",
          "push-to-registry": "build", "submit-to-resource": "run",
          "wait-for-completion": "run"}

Step = Callable[..., Awaitable[Any]]
CredentialsLoader = Callable[[type[Registry], str], Awaitable[Any]]
Log = Callable[[str], None]
resource_for = functools.cache(get_resource)  # one instance per name (it tracks children)


async def direct_step(name: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run a pipeline stage as it is (no orchestration around it)."""
    return await fn(*args)


class StageFailed(LaunchError):
    """A stage failed; the item is marked ``failed`` with this stage and reason."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage


@dataclass(frozen=True)
class Launch:
    """What the stages pass along: the item, its queue, the claim and the resource.

    ``existing`` is the handle of a run an earlier attempt started but did not
    record (the agent died in between): it is re-attached, never started again.
    """

    item: QueueItem
    queue: QueueRecord
    claim: Claim
    resource: Resource
    existing: dict[str, Any] | None = None


@dataclass(frozen=True)
class Resolved:
    """The job's final resource config and the queue's builder options."""

    config: dict[str, Any]
    builder: dict[str, Any]


@dataclass(frozen=True)
class Built:
    """The outcome of the build: the image (if any), where it goes, the run dir."""

    image: str | None
    built: bool
    registry: Registry
    workdir: Path | None


class JobPipeline:
    """Runs one claimed job for ``actor`` (an agent id, or the CLI running a job).

    ``log`` receives progress, build output and the job's output, one line a call.
    ``load_credentials`` loads a registry's credentials block (Prefect's); without
    it a ``builder.credentials-block`` is a ConfigError.
    """

    def __init__(self, store: QueueStore, config: AgentConfig, actor: str, log: Log, *,
                 load_credentials: CredentialsLoader | None = None) -> None:
        self.store, self.config, self.actor, self.log = store, config, actor, log
        self.load_credentials = load_credentials

    async def run(self, item_id: int, *, claim_token: int | None = None, resume: bool = False,
                  step: Step = direct_step,
                  announce: Callable[[Launch, Resolved | None, str | None, dict[str, Any]],
                                     Awaitable[None]] | None = None) -> str:
        """Launch a claimed item (with ``resume``: keep watching a launched one).

        Returns the final state, or LOST when another agent holds the item now (then
        nothing more was written or started). Raises StageFailed after marking the
        item failed.
        """
        stage = "fetch-config"
        try:
            launch: Launch = await step(stage, self.fetch, item_id, claim_token)
            if resume:
                if launch.item.state not in LAUNCHED or not launch.item.handle:
                    return launch.item.state
                stage = "wait-for-completion"
                return await self._end(await step(stage, self.watch, launch, launch.item.handle),
                                       item_id)
            if launch.item.cancel_requested:
                await self._write(self.store.transition, item_id, CANCELLED, actor=self.actor,
                                  claim=launch.claim, message="cancelled before submission")
                return CANCELLED
            resolved, image = None, None
            built: Built | None = None
            if launch.existing is None:
                stage = "merge-overrides"
                resolved = await step(stage, self.resolve, launch)
                stage = "build-image"
                built = await step(stage, self.build, launch, resolved)
                stage = "push-to-registry"
                image = await step(stage, self.push, launch, built)
            stage = "submit-to-resource"
            handle = await step(stage, self.submit, launch, resolved, built)
            if announce is not None:
                await announce(launch, resolved, image or handle.get("image"), handle)
            stage = "wait-for-completion"
            status = await step(stage, self.watch, launch, handle)
        except LostClaim as exc:
            self.log(f"job {item_id}: stopping, {exc}")
            return LOST
        except (asyncio.CancelledError, StageFailed):
            raise
        except Exception as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            await asyncio.to_thread(self._mark_failed, item_id, STAGES[stage], reason,
                                    claim_token)
            raise StageFailed(STAGES[stage], reason) from exc
        return await self._end(status, item_id)

    async def fetch(self, item_id: int, claim_token: int | None) -> Launch:
        """Read the item and its queue as they stand now; look for a run an earlier
        attempt started. Raises LostClaim when the claim no longer holds."""
        item = await asyncio.to_thread(self.store.get_item, item_id)
        claim = Claim(self.actor, claim_token) if claim_token is not None else item.claim
        if claim is None or item.claim != claim:
            raise LostClaim(item_id, self.actor, claim_token or 0)
        queue = await asyncio.to_thread(self.store.get_queue_by_id, item.queue_id)
        resource = resource_for(queue.definition.resource)
        existing = None
        if item.state in UNSUBMITTED:
            ref = RunRef(item.run_id, item.resume_count, run_dir(item.run_id))
            existing = await asyncio.to_thread(resource.find, ref)
        return Launch(item, queue, claim, resource, existing)

    async def resolve(self, launch: Launch) -> Resolved:
        """Render the queue template with the job's values, merge resource_args, fill
        macros, run the resource's validator (the ``builder`` section is set aside)."""
        item, queue, spec = launch.item, launch.queue, launch.item.spec
        if self.config.secure_mode and spec.image and spec.entry_point:
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
        launch.resource.validate(resolved)
        return Resolved(resolved, builder)

    async def build(self, launch: Launch, resolved: Resolved) -> Built:
        """Fetch the code, then build (or pass through) the job's image; the item goes
        to ``building``."""
        item, resource = launch.item, launch.resource
        await self._write(self.store.transition, item.id, BUILDING, actor=self.actor,
                          claim=launch.claim)
        registry = await self._registry(resolved)
        workdir = None  # code to build, or the directory a local process runs in
        if item.spec.image is None or not resource.needs_image:
            workdir = await asyncio.to_thread(prepare_workdir, self.store, item,
                                              self.config.allow_git_schemes)
        builder = get_builder(await asyncio.to_thread(self._builder_type, resource))
        request = BuildRequest(
            item=item, resource=resource.name, context=workdir, registry=registry,
            base_image=(resolved.builder.get("base_image") or self.config.builder.base_image
                        or DEFAULT_BASE_IMAGE),
            platform=self.config.builder.platform, log=self.log,
            needs_image=resource.needs_image)
        result = await asyncio.to_thread(builder.build, request)
        if result.note == "cached":
            await self._note(launch, f"build skipped: {result.image} already exists")
        elif result.built:
            await self._note(launch, f"built image {result.image}")
        return Built(result.image, result.built, registry, workdir)

    def _builder_type(self, resource: Resource) -> str:
        if not resource.needs_image:
            return "noop"  # code runs directly; an image would not be used
        if self.config.builder.type:
            return self.config.builder.type
        return "docker" if docker_daemon_answers() else "noop"

    async def _registry(self, resolved: Resolved) -> Registry:
        """The registry images go to: the queue's ``builder.destination``, else the
        agent's, else its legacy ``registry.uri``; credentials from the block named
        by ``builder.credentials-block``."""
        legacy = self.config.registry
        destination = (resolved.builder.get("destination") or self.config.builder.destination
                       or (legacy.uri if legacy else None))
        kind = legacy.type if legacy and legacy.type else None
        region = self.config.environment.region if self.config.environment else None
        credentials, block = None, self.config.builder.credentials_block
        if destination and block:
            if self.load_credentials is None:
                raise ConfigError("builder.credentials-block: needs a Prefect server to "
                                  "load the block from")
            credentials = await self.load_credentials(registry_class(destination, kind), block)
        return make_registry(destination, kind, credentials=credentials, region=region)

    async def push(self, launch: Launch, built: Built) -> str | None:
        """Push a freshly built image to its registry (retries on transient errors)."""
        if built.image is None or not built.built or not built.registry.pushes:
            return built.image
        import docker

        client = await asyncio.to_thread(docker.from_env)
        await asyncio.to_thread(built.registry.push, client, built.image, self.log)
        await self._note(launch, f"pushed {built.image}")
        return built.image

    async def submit(self, launch: Launch, resolved: Resolved | None, built: Built | None
                     ) -> dict[str, Any]:
        """Start the run (or re-attach to the one an earlier attempt started) and
        record its handle at once (``submitted``, then ``running``)."""
        item, resource = launch.item, launch.resource
        message = None
        if launch.existing is not None:
            handle = launch.existing
            message = "re-attached to a run an earlier attempt started"
        else:
            assert resolved is not None and built is not None
            job = await asyncio.to_thread(self._job_context, launch, resolved, built)
            await self._still_holding(launch)  # a stale agent starts nothing
            handle = await asyncio.to_thread(resource.submit, job)
        handle = {"resource": resource.name, **handle}
        await self._write(self.store.transition, item.id, SUBMITTED, actor=self.actor,
                          claim=launch.claim, handle=handle, message=message)
        await self._write(self.store.transition, item.id, RUNNING, actor=self.actor,
                          claim=launch.claim)
        return handle

    def _job_context(self, launch: Launch, resolved: Resolved, built: Built) -> JobContext:
        item, queue, resource = launch.item, launch.queue, launch.resource
        pull_auth = None
        if built.image and resource.needs_image and built.registry.pushes:
            auth = built.registry.auth()
            pull_auth = auth.docker_auth_config() if auth else None
        return JobContext(
            run_id=item.run_id, item_id=item.id,
            # What the submitter gave always runs, built image or not.
            entry_point=item.spec.entry_point, args=list(item.spec.args),
            env=job_env(item, queue.name, queue.entity, resolved.config, built.image,
                        agent_basics=not resource.needs_image, wandb=self.config.wandb_env,
                        value_limit=resource.env_value_limit),
            config=resolved.config, run_dir=run_dir(item.run_id), workdir=built.workdir,
            image=built.image, pull_auth=pull_auth, resume_count=item.resume_count)

    async def _still_holding(self, launch: Launch) -> None:
        """Renew the item's lease; raise LostClaim if the agent no longer holds it."""
        renewal = await asyncio.to_thread(
            self.store.renew_leases, self.actor, {launch.item.id: launch.claim.token},
            lease_seconds=self.config.lease_seconds)
        if renewal.lost:
            raise LostClaim(launch.item.id, self.actor, launch.claim.token)

    async def watch(self, launch: Launch, handle: dict[str, Any]) -> RunStatus:
        """Watch the run, pass its output to the log, record its end. A cancel
        request stops the run; a lost claim stops the watching (the run goes on)."""
        resource, item = launch.resource, launch.item
        offset, next_check = 0, time.monotonic() + CANCEL_CHECK_SECONDS
        while True:
            status = await asyncio.to_thread(resource.status, handle)
            text, offset = await asyncio.to_thread(resource.read_logs, handle, offset)
            for line in text.splitlines():
                self.log(line)
            if status.done:
                break
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CANCEL_CHECK_SECONDS
                if await self._cancel_requested(launch):
                    await asyncio.to_thread(resource.cancel, handle,
                                            self.config.stopped_run_timeout)
                    await self._write(self.store.transition, item.id, CANCELLED,
                                      actor=self.actor, claim=launch.claim,
                                      message="cancelled on request")
                    await asyncio.to_thread(resource.cleanup, handle)
                    self.log(f"job {item.id} cancelled on request")
                    return RunStatus(CANCELLED)
            await asyncio.sleep(resource.poll_interval)
        await self._record_end(launch, status)
        await asyncio.to_thread(resource.cleanup, handle)
        return status

    async def _cancel_requested(self, launch: Launch) -> bool:
        try:
            current = await asyncio.to_thread(self.store.get_item, launch.item.id)
        except Exception as exc:  # store unreachable for now: look again later
            self.log(f"could not read job {launch.item.id}: {type(exc).__name__}")
            return False
        if current.claim != launch.claim:
            raise LostClaim(launch.item.id, self.actor, launch.claim.token)
        return current.cancel_requested

    async def _record_end(self, launch: Launch, status: RunStatus) -> None:
        item_id, claim = launch.item.id, launch.claim
        if status.state == "preempted":
            await self._write(self.store.preempt, item_id, actor=self.actor, claim=claim,
                              reason=status.message or "preempted")
        elif status.state == FINISHED:
            await self._write(self.store.transition, item_id, FINISHED, actor=self.actor,
                              claim=claim, exit_code=status.exit_code)
        else:
            await self._write(self.store.transition, item_id, FAILED, actor=self.actor,
                              claim=claim, exit_code=status.exit_code, stage="run",
                              reason=status.message, message=f"run: {status.message}")

    async def _note(self, launch: Launch, message: str) -> None:
        await self._write(self.store.note, launch.item.id, message, actor=self.actor,
                          claim=launch.claim)

    async def _write(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """A store write, retried while the store is unreachable (a restarting
        database must not turn a finished job into a lost one)."""
        from sqlalchemy.exc import DBAPIError

        for delay in STORE_RETRY_DELAYS:
            try:
                return await asyncio.to_thread(write, *args, **kwargs)
            except DBAPIError as exc:
                self.log(f"store unreachable ({type(exc).__name__}); retrying in {delay}s")
                await asyncio.sleep(delay)
        return await asyncio.to_thread(write, *args, **kwargs)

    def _mark_failed(self, item_id: int, stage: str, reason: str,
                     claim_token: int | None) -> None:
        try:
            item = self.store.get_item(item_id)
            claim = Claim(self.actor, claim_token) if claim_token is not None else item.claim
            self.store.fail(item_id, stage, reason, actor=self.actor, claim=claim)
        except (IllegalTransition, NotFound, LostClaim):
            pass  # already ended, gone, or another agent's now: nothing to record

    async def _end(self, status: RunStatus, item_id: int) -> str:
        if status.state == FAILED:
            item = await asyncio.to_thread(self.store.get_item, item_id)
            raise StageFailed(item.stage or "run", item.reason or "failed")
        return status.state
