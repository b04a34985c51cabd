"""The agent protocol, without Prefect: register, claim, adopt, heartbeat, sweep,
release, stop.

The agent runs each job with the ``run_job`` coroutine function it is given (the
Prefect layer passes one that runs the launch-job flow). Heartbeats run on their
own thread with their own database connection, so blocking backend work (builds,
pushes, status polls, in an executor sized from ``max_jobs``) can never delay a
lease renewal. An idle agent wakes at once on an enqueue: PostgreSQL's LISTEN, or
SQLite's data_version. If a side task (heartbeat, listener, store watcher) dies, the
agent stops claiming, releases its jobs and raises AgentFailed naming it. Each poll
reads whether ``relaunch agent stop`` asked it to stop: 'finish' stops its claims and
ends it once its own jobs have ended; 'now' stops it as a SIGTERM does. A sweep's
scheduler item (its spec ``is_scheduler``) runs with the same ``run_job``, at most
``max_schedulers`` at once and outside ``max_jobs``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from launch_core.agent.fallback import check_for_fallback
from launch_core.agent.job_lines import ended_line, failed_line, started_line
from launch_core.agent.metrics import AgentMetrics
from launch_core.agent.side_tasks import (
    Heartbeat,
    Listener,
    ParentWatch,
    SideTask,
    StoreWatcher,
)
from launch_core.backends.table import load_class
from launch_core.errors import IllegalTransition, LaunchError, LostClaim, one_line
from launch_core.spec.agent_config import AgentConfig
from launch_core.store import Claim, QueueItem, QueueStore
from launch_core.store.agents import STOP_FINISH, STOP_NOW
from launch_core.store.engine import database_url
from launch_core.store.scheduled_claim import GpuSlots
from launch_core.store.states import ACTIVE, QUEUED, TERMINAL

if TYPE_CHECKING:
    from launch_core.agent.guard import AgentGuard

SHUTDOWN_GRACE = 5.0
UNLIMITED_BATCH = 64
RunJob = Callable[[QueueItem, bool], Awaitable[str]]  # (item, resume) -> final state


class AgentFailed(LaunchError):
    """The agent stopped because one of its side tasks died (exit code 1)."""


def gpu_slots(store: QueueStore, entity: str, config: AgentConfig) -> GpuSlots | None:
    """The GPU devices the agent shares out (``--gpus``) and the queues whose runs use
    them: those of a resource that runs on the agent's host."""
    if config.gpus is None:
        return None
    queues = [store.get_queue(entity, name) for name in config.queues]
    local = frozenset(queue.id for queue in queues if getattr(
        load_class("resource", queue.definition.resource), "runs_on_agent_host", False))
    return GpuSlots(tuple(config.gpus), local)


class StopSignal:
    """A thread-safe request to stop: set() from any thread (a signal handler, a
    Prefect cancellation hook), awaited by the agent's event loop."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def set(self) -> None:
        with self._lock:
            self._event.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def is_set(self) -> bool:
        return self._event.is_set()

    def on_set(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from the setting thread) when set; at once if it is."""
        with self._lock:
            self._callbacks.append(callback)
            already = self._event.is_set()
        if already:
            callback()


class Agent:
    """One agent: polls its queues and runs each claimed job with ``run_job``."""

    def __init__(self, store: QueueStore, config: AgentConfig, entity: str, run_job: RunJob,
                 log: logging.Logger | logging.LoggerAdapter[Any], *,
                 stop: StopSignal | None = None, until_idle: bool = False,
                 shutdown_grace: float = SHUTDOWN_GRACE,
                 guard: AgentGuard | None = None) -> None:
        self.store, self.config, self.entity = store, config, entity
        self.run_job, self.log = run_job, log
        self.stop_signal = stop or StopSignal()
        self.until_idle = until_idle
        self.shutdown_grace = shutdown_grace  # seconds running monitors get at a stop
        self.guard = guard  # sweeps our jobs if this process dies before the release
        queues = [store.get_queue(entity, q) for q in config.queues]
        self.queue_names = {queue.id: queue.name for queue in queues}
        self.queue_ids = list(self.queue_names)
        self.metrics = AgentMetrics(store, entity, queues, log=log)  # served with a port
        self.slots = gpu_slots(store, entity, config)
        self.agent_id = ""
        self.running: dict[int, asyncio.Task[Any]] = {}
        # Sweep schedulers (items whose spec is_scheduler) among running: at most
        # max_schedulers, outside max_jobs; one claimed past that waits, held, in
        # _parked until one ends (W&B leaves it on the queue).
        self._schedulers: set[int] = set()
        self._parked: list[QueueItem] = []
        self._held: dict[int, int] = {}  # item id -> claim token, read by the heartbeat
        self._held_lock = threading.Lock()
        self._failure: str | None = None
        self._finishing = False  # relaunch agent stop: no more claims, end when idle
        self._wake = asyncio.Event()

    async def run(self) -> int:
        """Poll until stopped (or idle with ``until_idle``); returns jobs claimed.
        With ``metrics_port`` it serves its metrics meanwhile.

        Raises AgentFailed (after releasing its jobs) when a side task died, and
        InvalidInput before it registers when it cannot serve its metrics.
        """
        host, port = self.config.metrics_host, self.config.metrics_port
        with self.metrics.serving(host, port):
            if port is not None:
                self.log.info("agent metrics on http://%s:%s/metrics", host, port)
            return await self._run()

    async def _run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(self._workers(),
                                                     thread_name_prefix="relaunch-work"))
        agent = await asyncio.to_thread(self.store.register_agent, self.entity,
                                        self.config.queues, self.config.max_jobs,
                                        self.config.gpus)
        self.agent_id = agent.id
        if self.guard is not None:
            self.guard.watch(agent.id)
        self.log.info("agent %s polling %s/%s (max_jobs %s)", agent.id, self.entity,
                      ",".join(self.config.queues), self.config.max_jobs)
        self.stop_signal.on_set(lambda: self._wake_from(loop))
        side_stop = threading.Event()
        await self._start_side_tasks(loop, side_stop)
        claimed = 0
        try:
            claimed = await self._poll_until_stopped()
        finally:
            side_stop.set()
            await self._shutdown()
        if self._failure:
            raise AgentFailed(f"agent {self.agent_id} stopped: {self._failure}; "
                              "its jobs were released")
        return claimed

    async def _start_side_tasks(self, loop: asyncio.AbstractEventLoop,
                                stop: threading.Event) -> None:
        """Heartbeat, and the wake-up source of the store (PostgreSQL's LISTEN or
        SQLite's data_version), ready before the first poll so no enqueue is missed."""
        url = database_url(self.config.database)
        tasks: list[SideTask] = [Heartbeat(self, loop, stop)]
        if self.guard is not None:  # a deployed agent: stop when its worker is gone
            tasks.append(ParentWatch(self, loop, stop))
        if url.startswith("postgresql"):
            tasks.append(Listener(self, loop, stop))
        elif url.startswith("sqlite"):
            tasks.append(StoreWatcher(self, loop, stop))
        for task in tasks:
            task.start()
        for task in tasks[1:]:
            await asyncio.to_thread(task.ready.wait, 5.0)

    def _wake_from(self, loop: asyncio.AbstractEventLoop) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closed already
            loop.call_soon_threadsafe(self._wake.set)

    def _workers(self) -> int:
        # Each job may hold one thread for a long call (a build, a push): room for
        # all of them plus the agent's own store calls.
        jobs = UNLIMITED_BATCH if self.config.unlimited else self.config.max_jobs
        return 2 * jobs + 4

    async def _poll_until_stopped(self) -> int:
        claimed = 0
        while not self.stop_signal.is_set() and self._failure is None:
            self._wake.clear()  # a wake-up that comes while we poll is kept for the sleep
            try:
                await self._read_stop_request()
                if self._finishing and not self.running:
                    break
                if not self._finishing and not self.stop_signal.is_set():
                    claimed += await self.poll_once()
                if self.until_idle and not self.running and await self._queues_idle():
                    break
            except Exception as exc:  # e.g. the database restarting: retry next poll
                self.log.warning("poll failed, retrying: %s", one_line(exc))
            await self._sleep()
        if self.stop_signal.is_set():
            self.log.info("stop requested: no more claims; releasing jobs")
        return claimed

    async def _read_stop_request(self) -> None:
        """Honour a stop asked through the store (``relaunch agent stop``)."""
        request = await asyncio.to_thread(self.store.stop_request, self.agent_id)
        if request == STOP_NOW and not self.stop_signal.is_set():
            self.log.info("agent %s: stop requested (now)", self.agent_id)
            self.stop_signal.set()
        elif request == STOP_FINISH and not self._finishing:
            self.log.info("agent %s: stop requested: no more claims; finishing jobs %s",
                          self.agent_id, sorted(self.running))
            self._finishing = True

    async def poll_once(self) -> int:
        """Sweep expired leases and items that waited too long (``max_pending``), adopt
        orphaned runs, claim queued items; start each."""
        await asyncio.to_thread(self.store.sweep_expired)
        try:  # a fault here must not stop the claims below
            await asyncio.to_thread(self.store.expire_pending, self.queue_ids,
                                    actor=self.agent_id, check=check_for_fallback)
        except Exception as exc:
            self.log.warning("max-pending sweep failed, retrying next poll: %s",
                             one_line(exc))
        adopted = await asyncio.to_thread(self.store.adopt, self.agent_id, self.queue_ids,
                                          limit=self._free(), lease_seconds=self._lease)
        for item in adopted:
            self._start(item, resume=True)
        claimed = await asyncio.to_thread(self.metrics.timed, self.metrics.claim_seconds,
                                          self.store.claim, self.agent_id, self.queue_ids,
                                          limit=self._free(), lease_seconds=self._lease,
                                          slots=self.slots)
        for item in claimed:
            self._start(item, resume=False)
        return len(claimed)

    @property
    def _lease(self) -> float:
        return self.config.lease_seconds

    def _free(self) -> int:
        if self.config.unlimited:
            return UNLIMITED_BATCH
        return max(0, self.config.max_jobs - len(self.running) + len(self._schedulers))

    def _scheduler_slot(self) -> bool:
        limit = self.config.max_schedulers
        return limit == -1 or len(self._schedulers) < limit

    def _start(self, item: QueueItem, *, resume: bool) -> None:
        scheduler = item.spec.is_scheduler
        if scheduler and not resume and item.id not in self._schedulers \
                and not self._scheduler_slot():
            self.log.info("job %s: sweep %s's scheduler waits: this agent runs "
                          "max_schedulers (%s) already", item.id, item.spec.sweep_id,
                          self.config.max_schedulers)
            with self._held_lock:
                self._held[item.id] = item.claim_token
            self._parked.append(item)
            return
        if scheduler:
            self._schedulers.add(item.id)
        self.log.info("%s", started_line(item, self.queue_names.get(item.queue_id, "?"),
                                         resume=resume))
        stale = self.running.get(item.id)
        if stale is not None:  # our older claim of it lapsed: one pipeline per item
            self.log.warning("job %s claimed again; stopping its previous pipeline", item.id)
            stale.cancel()
        with self._held_lock:
            self._held[item.id] = item.claim_token
        self.metrics.job_started(item, resume=resume)
        self.running[item.id] = asyncio.create_task(self._launch(item, resume))

    async def _launch(self, item: QueueItem, resume: bool) -> None:
        try:
            began = time.monotonic()
            try:
                state = await self.run_job(item, resume)
                self.log.info("%s", ended_line(item.id, state, time.monotonic() - began))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                back = await self._give_back(item, one_line(exc))
                self.log.warning("%s", failed_line(item.id, exc, back))
            await self._count_end(item)
        finally:
            if self.running.get(item.id) is asyncio.current_task():
                self._forget(item.id)
            if self._parked and self._scheduler_slot() and not self.stop_signal.is_set():
                self._start(self._parked.pop(0), resume=False)
            self._wake.set()

    async def _give_back(self, item: QueueItem, why: str) -> str | None:
        """A launch that failed outside the pipeline's stages (the orchestration layer,
        say) leaves the item claimed: give it back at once for another attempt rather
        than hold it until its lease lapses. A submitted or ended item is left alone.
        Returns the state it was given back to (None: it was not)."""
        claim = Claim(self.agent_id, item.claim_token)
        try:
            back = await asyncio.to_thread(self.store.give_back, item.id, claim,
                                           f"launch failed: {why}")
        except (IllegalTransition, LostClaim):
            return None  # submitted, marked failed by its pipeline, or not ours any more
        except Exception as exc:  # the store is down: the sweep will requeue it
            self.log.warning("could not give job %s back: %s", item.id, one_line(exc))
            return None
        return back.state

    async def _count_end(self, item: QueueItem) -> None:
        """Count the job's end in the metrics if it ended under this claim (not when
        another agent took it over, or it went back to the queue)."""
        try:
            now = await asyncio.to_thread(self.store.get_item, item.id)
        except Exception as exc:  # the store is away: that end goes uncounted
            self.log.warning("job %s: could not read its end: %s", item.id, one_line(exc))
            return
        if (now.state in TERMINAL and now.agent_id == self.agent_id
                and now.claim_token == item.claim_token):
            self.metrics.job_ended(now)

    def _forget(self, item_id: int) -> None:
        with self._held_lock:
            self._held.pop(item_id, None)
        self.running.pop(item_id, None)
        self._schedulers.discard(item_id)
        self._parked = [parked for parked in self._parked if parked.id != item_id]
        self.metrics.job_stopped(item_id)

    def held(self) -> dict[int, int]:
        """The items this agent works on, with their claim tokens (thread-safe)."""
        with self._held_lock:
            return dict(self._held)

    def lost(self, item_ids: list[int]) -> None:
        """Another agent holds these now (our lease was swept): stop their pipelines."""
        for item_id in item_ids:
            task = self.running.get(item_id)
            self._forget(item_id)
            if task is not None:
                self.log.warning("lost job %s (its lease was swept); stopping its pipeline",
                                 item_id)
                task.cancel()

    def parent_gone(self, parent: int) -> None:
        """The process that started this agent (pid ``parent``, its Prefect worker)
        ended: stop as on a SIGTERM (no more claims, jobs released for re-adoption)."""
        self.log.warning("agent %s: the process that started it (pid %s, its worker) is "
                         "gone; stopping and releasing its jobs", self.agent_id, parent)
        self.stop_signal.set()

    def side_task_died(self, name: str, exc: BaseException) -> None:
        """A side task ended with an error: stop claiming and end the agent."""
        self._failure = f"its {name} died: {one_line(exc)}"
        self.log.error("agent %s: %s", self.agent_id, self._failure)
        self._wake.set()

    async def _sleep(self) -> None:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=self.config.poll_interval)

    async def _queues_idle(self) -> bool:
        for queue_id in self.queue_ids:
            open_items = await asyncio.to_thread(self.store.list_items, queue_id=queue_id,
                                                 states=(QUEUED, *ACTIVE), limit=1)
            if open_items:
                return False
        return True

    async def _shutdown(self) -> None:
        if self.running and self._failure is None:
            await asyncio.wait(list(self.running.values()), timeout=self.shutdown_grace)
        for task in list(self.running.values()):
            task.cancel()
        if self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)
        released = await asyncio.to_thread(self.store.release, self.agent_id)
        await asyncio.to_thread(self.store.stop_agent, self.agent_id)
        if self.guard is not None:
            await asyncio.to_thread(self.guard.disarm)
        if released:
            self.log.info("released jobs %s for re-adoption", released)
