"""Watching a run until it ends and recording its end: the pipeline's last stage
(its writes go through the pipeline's ItemWriter, see item_writer.py). A run past its
queue's ``max_runtime`` is cancelled and fails; a failed run may be retried by its
queue's policy (``QueueStore.fail``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from launch_core.backends.resource import RunStatus
from launch_core.errors import LostClaim, one_line
from launch_core.pipeline.item_writer import ItemWriter
from launch_core.pipeline.records import Launch
from launch_core.pipeline.workspace import run_dir
from launch_core.private_files import seal_files
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.failure_class import run_failure
from launch_core.spec.policy import format_duration
from launch_core.store import QueueItem, QueueStore
from launch_core.store.states import CANCELLED, FAILED, FINISHED

CANCEL_CHECK_SECONDS = 1.0  # how often a running job's item is read (cancel, holder)
# Prefix of the events recording what a resource says of a run still going (a pending
# reason...): `relaunch job status` shows the latest one.
RESOURCE_NOTE = "resource: "


class RunWatch:
    """Part of JobPipeline: watches a run until it ends and records the end."""

    store: QueueStore
    config: AgentConfig
    actor: str
    log: Callable[[str], None]
    writer: ItemWriter

    async def watch(self, launch: Launch, handle: dict[str, Any]) -> RunStatus:
        """Watch the run, pass its output to the log, record its end. A cancel
        request stops the run; a lost claim stops the watching (the run goes on)."""
        resource, item = launch.resource, launch.item
        offset, next_check = 0, time.monotonic() + CANCEL_CHECK_SECONDS
        shown = ""
        while True:
            status = await asyncio.to_thread(resource.status, handle)
            text, offset = await asyncio.to_thread(resource.read_logs, handle, offset)
            for line in text.splitlines():
                self.log(line)
            if status.done:
                break
            if status.message != shown:  # e.g. "waiting: 0/3 nodes have nvidia.com/gpu"
                shown = status.message
                if shown:
                    self.log(f"job {item.id}: {shown}")
                    await self._note(launch, f"{RESOURCE_NOTE}{shown}")
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + CANCEL_CHECK_SECONDS
                current = await self._current(launch)
                if current is not None and self._overran(launch, current, status):
                    stopped = await self._stop_overrun(launch, handle)
                    if stopped is not None:
                        return stopped
                if current is not None and current.cancel_requested:
                    await asyncio.to_thread(resource.cancel, handle,
                                            self.config.stopped_run_timeout)
                    await self.writer.transition(item.id, CANCELLED, launch.claim,
                                                 message="cancelled on request")
                    await asyncio.to_thread(resource.cleanup, handle)
                    await asyncio.to_thread(seal_files, run_dir(item.run_id))
                    self.log(f"job {item.id} cancelled on request")
                    return RunStatus(CANCELLED)
            if resource.waits_for_end:  # wakes at the run's end, not a poll later
                await asyncio.to_thread(resource.wait, handle, resource.poll_interval)
            else:
                await asyncio.sleep(resource.poll_interval)
        await self._record_end(launch, status)
        await asyncio.to_thread(resource.cleanup, handle)
        # The run's own files (its log, the resource's records), which the resource
        # wrote as the umask let it in the run's 0700 folder: 0600 from now on.
        await asyncio.to_thread(seal_files, run_dir(item.run_id))
        return status

    async def _current(self, launch: Launch) -> QueueItem | None:
        """The item as it stands (None while the store is unreachable). Raises
        LostClaim when another claim holds it now."""
        try:
            current = await asyncio.to_thread(self.store.get_item, launch.item.id)
        except Exception as exc:  # store unreachable for now: look again later
            self.log(f"could not read job {launch.item.id}: {type(exc).__name__}")
            return None
        if current.claim != launch.claim:
            raise LostClaim(launch.item.id, self.actor, launch.claim.token)
        return current

    def _overran(self, launch: Launch, current: QueueItem, status: RunStatus) -> bool:
        """Whether the run has gone on longer than its queue's ``max_runtime`` since it
        started (``started_at`` survives re-adoption, so agent restarts do not reset it;
        a retry starts it again). A run its resource reports as held (a Job Kueue has
        suspended) is waiting, not running: not stopped while held."""
        limit = launch.queue.definition.policy.max_runtime
        return limit is not None and current.started_at is not None \
            and not status.extra.get("held") \
            and self.store.clock() - current.started_at > limit

    async def _stop_overrun(self, launch: Launch, handle: dict[str, Any]) -> RunStatus | None:
        """Cancel a run past its queue's max_runtime and end its item failed (not
        retried). None when the cancel failed (the resource's API is down, say): the
        run may still go on, so the item stays as it is and the next check tries again."""
        resource, item = launch.resource, launch.item
        limit = launch.queue.definition.policy.max_runtime or 0.0
        reason = f"max runtime {format_duration(limit)} exceeded"
        try:
            await asyncio.to_thread(resource.cancel, handle, self.config.stopped_run_timeout)
        except Exception as exc:  # noqa: BLE001 - any failure: try again next check
            self.log(f"job {item.id}: {reason}, but cancelling it failed: {one_line(exc)}; "
                     "trying again")
            return None
        await self.writer.fail(item.id, launch.claim, "run", reason)
        await asyncio.to_thread(resource.cleanup, handle)
        await asyncio.to_thread(seal_files, run_dir(item.run_id))
        self.log(f"job {item.id} cancelled: {reason}")
        return RunStatus(FAILED, None, reason)

    async def _record_end(self, launch: Launch, status: RunStatus) -> None:
        item_id, claim = launch.item.id, launch.claim
        if status.state == "preempted":
            await self.writer.preempt(item_id, claim, status.message or "preempted")
        elif status.state == FINISHED:
            await self.writer.transition(item_id, FINISHED, claim, exit_code=status.exit_code)
        else:
            await self.writer.fail(item_id, claim, "run", status.message,
                                   exit_code=status.exit_code,
                                   failure=run_failure(status.exit_code, status.cause,
                                                       status.message))

    async def _note(self, launch: Launch, message: str) -> None:
        await self.writer.note(launch.item.id, message, launch.claim)
