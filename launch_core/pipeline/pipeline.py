"""One job's launch pipeline, without Prefect: fetch, resolve, build, push, submit,
watch. Every write to the item is fenced by the claim the pipeline runs under.

The Prefect layer (``flows/``) runs each stage as a named task through ``step``;
fast tests run the same pipeline with ``direct_step``.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Awaitable, Callable
from typing import Any

from launch_core.backends.checks import check_job_config
from launch_core.backends.registries import Registry
from launch_core.backends.resource import JobContext, RunRef, RunStatus, get_resource
from launch_core.errors import (
    IllegalTransition,
    InvalidInput,
    LaunchError,
    LostClaim,
    NotFound,
    Unavailable,
)
from launch_core.masking import mask
from launch_core.pipeline.build_stage import ImageBuild
from launch_core.pipeline.item_writer import ItemWriter
from launch_core.pipeline.records import Built, Launch, Resolved
from launch_core.pipeline.run_context import check_gpu_demand, job_context, run_macros
from launch_core.pipeline.watch import RunWatch
from launch_core.pipeline.workspace import run_dir
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.failure_class import Failure, infra_failure
from launch_core.spec.resolve import resolve_both
from launch_core.store import Claim, QueueStore
from launch_core.store.retries import with_raised
from launch_core.store.states import (
    CANCELLED,
    FAILED,
    LAUNCHED,
    QUEUED,
    RUNNING,
    SUBMITTED,
    UNSUBMITTED,
)

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


# How long a job's flow waits, once its run ended, for its announcement to reach an
# orchestration API that is slow or away (Prefect's client retries for up to ~60 s).
ANNOUNCE_GRACE = 10.0

class StageFailed(LaunchError):
    """A stage failed; the item is marked ``failed`` with this stage and reason."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage


class JobPipeline(ImageBuild, RunWatch):
    """Runs one claimed job for ``actor`` (an agent id, or the CLI running a job).

    ``log`` receives progress, build output and the job's output, one line a call.
    ``load_credentials`` loads a registry's credentials block (Prefect's); without
    it a ``builder.credentials-block`` is a ConfigError.
    """

    def __init__(self, store: QueueStore, config: AgentConfig, actor: str, log: Log, *,
                 load_credentials: CredentialsLoader | None = None) -> None:
        self.store, self.config, self.actor, self.log = store, config, actor, log
        self.load_credentials = load_credentials
        self.writer = ItemWriter(store, actor, log)  # every stage's fenced, retried writes

    async def run(self, item_id: int, *, claim_token: int | None = None, resume: bool = False,
                  step: Step = direct_step,
                  announce: Callable[[Launch, Resolved | None, str | None, dict[str, Any]],
                                     Awaitable[None]] | None = None) -> str:
        """Launch a claimed item (with ``resume``: keep watching a launched one).

        Returns the final state, or LOST when another agent holds the item now (then
        nothing more was written or started). Raises StageFailed after marking the
        item failed. An item that ended leaves no code in a code store behind.
        """
        try:
            return await self._run(item_id, claim_token, resume, step, announce)
        finally:
            from launch_core.storage.code_store import drop_item_code

            await asyncio.shield(asyncio.to_thread(drop_item_code, self.store, item_id,
                                                   self.log))

    async def _run(self, item_id: int, claim_token: int | None, resume: bool, step: Step,
                   announce: Callable[[Launch, Resolved | None, str | None, dict[str, Any]],
                                      Awaitable[None]] | None) -> str:
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
                await self.writer.transition(item_id, CANCELLED, launch.claim,
                                             message="cancelled before submission")
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
            # The announcement (a Prefect artifact) goes on beside the watch: an
            # orchestration API that is slow or away must not delay the run's end.
            published = None if announce is None else asyncio.ensure_future(
                announce(launch, resolved, image or handle.get("image"), handle))
            stage = "wait-for-completion"
            try:
                status = await step(stage, self.watch, launch, handle)
            finally:
                if published is not None:
                    await _settle(published, item_id, self.log)
        except LostClaim as exc:
            self.log(f"job {item_id}: stopping, {exc}")
            return LOST
        except (asyncio.CancelledError, StageFailed):
            raise
        except Exception as exc:
            reason = mask(str(exc).strip().splitlines()[0] if str(exc).strip()
                          else type(exc).__name__)
            failure = infra_failure(reason) if isinstance(exc, Unavailable) else None
            state = await asyncio.to_thread(self._mark_failed, item_id, STAGES[stage],
                                            reason, claim_token, failure)
            if state == QUEUED:  # its queue retries this failure: not failed
                return state
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
        macros = run_macros(item, queue, spec.image)
        resolved, reference = resolve_both(queue.definition, with_raised(item), macros,
                                           env=dict(os.environ))
        builder = resolved.pop("builder", None) or {}
        if not isinstance(builder, dict):
            raise InvalidInput("builder: the queue's builder section must be a mapping")
        check_job_config(queue.definition, resolved, launch.resource, reference)
        check_gpu_demand(item, launch.resource, resolved)  # before anything is built
        return Resolved(resolved, builder)

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
        await self.writer.transition(item.id, SUBMITTED, launch.claim, handle=handle,
                                     message=message)
        await self.writer.transition(item.id, RUNNING, launch.claim)
        return handle

    def _job_context(self, launch: Launch, resolved: Resolved, built: Built) -> JobContext:
        item, resource = launch.item, launch.resource
        pull_auth = None
        if built.image and resource.needs_image and built.registry.pushes:
            auth = built.registry.auth()
            pull_auth = auth.docker_auth_config() if auth else None
        return job_context(item, launch.queue, resource, resolved.config, image=built.image,
                           workdir=built.workdir, run_dir=run_dir(item.run_id),
                           agent=self.actor, pull_auth=pull_auth,
                           wandb=self.config.wandb_env)

    async def _still_holding(self, launch: Launch) -> None:
        """Renew the item's lease; raise LostClaim if the agent no longer holds it."""
        renewal = await asyncio.to_thread(
            self.store.renew_leases, self.actor, {launch.item.id: launch.claim.token},
            lease_seconds=self.config.lease_seconds)
        if renewal.lost:
            raise LostClaim(launch.item.id, self.actor, launch.claim.token)

    def _mark_failed(self, item_id: int, stage: str, reason: str, claim_token: int | None,
                     failure: Failure | None) -> str | None:
        """Fail the item (or requeue it, if its queue retries ``failure``); the state
        written, None when nothing was."""
        try:
            item = self.store.get_item(item_id)
            claim = Claim(self.actor, claim_token) if claim_token is not None else item.claim
            return self.store.fail(item_id, stage, reason, actor=self.actor, claim=claim,
                                   failure=failure).state
        except (IllegalTransition, NotFound, LostClaim):
            return None  # already ended, gone, or another agent's now: nothing to record

    async def _end(self, status: RunStatus, item_id: int) -> str:
        if status.state == FAILED:
            item = await asyncio.to_thread(self.store.get_item, item_id)
            if item.state == QUEUED:  # retried by its queue's policy (same run id)
                return QUEUED
            raise StageFailed(item.stage or "run", item.reason or "failed")
        return status.state


async def _settle(task: asyncio.Future[None], item_id: int,
                  log: Callable[[str], None]) -> None:
    """Let the announcement (it handles its own errors) finish, for at most
    ANNOUNCE_GRACE seconds after the run ended; cancelled with its caller."""
    try:
        await asyncio.wait_for(asyncio.shield(task), ANNOUNCE_GRACE)
    except TimeoutError:
        task.cancel()
        log(f"job {item_id}: its announcement (the Prefect artifact) was given up: "
            f"the orchestration API did not answer within {ANNOUNCE_GRACE:.0f} s")
    except asyncio.CancelledError:
        task.cancel()
        raise
