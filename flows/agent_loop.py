"""The polling agent: claim, launch, heartbeat, sweep, re-adopt, stop cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from prefect import get_run_logger

from flows.launch_job import launch_job
from flows.runtime import register_config, store_for
from launch_core.api import default_entity
from launch_core.config import AgentConfig
from launch_core.store import QueueItem
from launch_core.store.engine import database_url
from launch_core.store.items import NOTIFY_CHANNEL
from launch_core.store.states import ACTIVE, QUEUED

SHUTDOWN_GRACE = 5.0
UNLIMITED_BATCH = 64
# Set by whoever owns the process's signals (the CLI) to stop agents gracefully.
SHUTDOWN_REQUESTED = threading.Event()


class AgentLoop:
    """One agent process: polls its queues and runs each job's launch-job flow."""

    def __init__(self, config: AgentConfig, *, until_idle: bool = False) -> None:
        self.config = config
        self.until_idle = until_idle
        self.store = store_for(config.database)
        self.entity = config.entity or default_entity()
        self.queue_names = {self.store.get_queue(self.entity, q).id: q for q in config.queues}
        self.queue_ids = list(self.queue_names)
        self.running: dict[int, asyncio.Task[Any]] = {}
        self.stopping = asyncio.Event()
        self.wake = asyncio.Event()
        self.logger = get_run_logger()
        self.agent_id = ""

    async def run(self) -> int:
        """Poll until stopped (or idle with ``until_idle``); returns jobs launched."""
        agent = await asyncio.to_thread(self.store.register_agent, self.entity,
                                        self.config.queues, self.config.max_jobs)
        self.agent_id = agent.id
        register_config(agent.id, self.config)
        self.logger.info("agent %s polling %s/%s (max_jobs %s)", agent.id, self.entity,
                         ",".join(self.config.queues), self.config.max_jobs)
        heartbeat = asyncio.create_task(self._heartbeat())
        watcher = asyncio.create_task(self._watch_shutdown())
        listener = self._start_listener()
        launched = 0
        try:
            while not self.stopping.is_set():
                try:
                    launched += await self._poll_once()
                    if self.until_idle and not self.running and await self._queues_idle():
                        break
                except Exception as exc:  # e.g. the database restarting: retry next poll
                    self.logger.warning("poll failed, retrying: %s", _one_line(exc))
                await self._sleep()
        finally:
            if listener is not None:
                listener.set()
            watcher.cancel()
            await self._shutdown(heartbeat)
        return launched

    async def _poll_once(self) -> int:
        await asyncio.to_thread(self.store.sweep_expired)
        adopted = await asyncio.to_thread(self.store.adopt, self.agent_id, self.queue_ids,
                                          limit=self._free(), lease_seconds=self._lease)
        for item in adopted:
            self._start(item, resume=True)
        claimed = await asyncio.to_thread(self.store.claim, self.agent_id, self.queue_ids,
                                          limit=self._free(), lease_seconds=self._lease)
        for item in claimed:
            self._start(item, resume=False)
        return len(claimed)

    @property
    def _lease(self) -> float:
        return self.config.lease_seconds

    def _free(self) -> int:
        if self.config.unlimited:
            return UNLIMITED_BATCH
        return max(0, self.config.max_jobs - len(self.running))

    def _start(self, item: QueueItem, *, resume: bool) -> None:
        self.logger.info("%s job %s", "re-adopting" if resume else "launching", item.id)
        task = asyncio.create_task(self._launch(item, resume))
        self.running[item.id] = task

    async def _launch(self, item: QueueItem, resume: bool) -> None:
        queue_name = self.queue_names.get(item.queue_id, "")
        try:
            state = await launch_job(
                item_id=item.id, queue_name=queue_name, actor=self.agent_id, resume=resume)
            self.logger.info("job %s ended: %s", item.id, state)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.logger.warning("job %s failed: %s", item.id, exc)
        finally:
            self.running.pop(item.id, None)
            self.wake.set()

    async def _sleep(self) -> None:
        self.wake.clear()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.wake.wait(), timeout=self.config.poll_interval)

    async def _queues_idle(self) -> bool:
        for queue_id in self.queue_ids:
            open_items = await asyncio.to_thread(self.store.list_items, queue_id=queue_id,
                                                 states=(QUEUED, *ACTIVE), limit=1)
            if open_items:
                return False
        return True

    async def _heartbeat(self) -> None:
        interval = min(5.0, self._lease / 3)
        while True:
            await asyncio.sleep(interval)
            try:
                # Only jobs with a live monitor: a job whose monitor died lets its lease
                # lapse, so the sweep requeues or re-adopts it instead of it being stuck.
                await asyncio.to_thread(self.store.renew_leases, self.agent_id,
                                        item_ids=list(self.running),
                                        lease_seconds=self._lease)
                await asyncio.to_thread(self.store.heartbeat_agent, self.agent_id)
            except Exception as exc:  # a restarting database: keep trying
                self.logger.warning("heartbeat failed: %s", exc)

    async def _watch_shutdown(self) -> None:
        # Prefect's flow engine owns SIGTERM in its thread (it raises there), so the
        # CLI runs agents off the main thread and reports signals through this event.
        while not SHUTDOWN_REQUESTED.is_set():
            await asyncio.sleep(0.1)
        self.logger.info("stop requested: no more claims; releasing jobs")
        self.stopping.set()
        self.wake.set()

    async def _shutdown(self, heartbeat: asyncio.Task[Any]) -> None:
        if self.running:
            await asyncio.wait(list(self.running.values()), timeout=SHUTDOWN_GRACE)
        for task in list(self.running.values()):
            task.cancel()
        if self.running:
            await asyncio.gather(*self.running.values(), return_exceptions=True)
        heartbeat.cancel()
        released = await asyncio.to_thread(self.store.release, self.agent_id)
        await asyncio.to_thread(self.store.stop_agent, self.agent_id)
        if released:
            self.logger.info("released jobs %s for re-adoption", released)

    def _start_listener(self) -> threading.Event | None:
        """On PostgreSQL, LISTEN for enqueues so an idle agent starts a job at once."""
        url = database_url(self.config.database)
        if not url.startswith("postgresql"):
            return None
        stop = threading.Event()
        loop = asyncio.get_running_loop()
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        thread = threading.Thread(target=_listen, args=(dsn, stop, loop, self.wake),
                                  name="relaunch-listen", daemon=True)
        thread.start()
        return stop


def _listen(dsn: str, stop: threading.Event, loop: asyncio.AbstractEventLoop,
            wake: asyncio.Event) -> None:
    import psycopg

    while not stop.is_set():
        try:
            with psycopg.connect(dsn, autocommit=True) as conn:
                conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                while not stop.is_set():
                    for _ in conn.notifies(timeout=0.5, stop_after=1):
                        loop.call_soon_threadsafe(wake.set)
        except Exception:  # database restarting: the fallback poll covers us
            stop.wait(1.0)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
