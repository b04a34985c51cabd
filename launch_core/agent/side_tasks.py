"""An agent's side tasks: threads beside its event loop (heartbeat, PostgreSQL
listener, SQLite watcher). An error that escapes one ends the agent
(``Agent.side_task_died``); a database that is down for a while is ridden out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any, Protocol

from launch_core.agent.metrics import AgentMetrics
from launch_core.errors import one_line
from launch_core.spec.agent_config import AgentConfig
from launch_core.store import QueueStore
from launch_core.store.engine import database_url
from launch_core.store.items import NOTIFY_CHANNEL


class AgentHooks(Protocol):
    """What a side task needs of its agent (``launch_core.agent.agent.Agent``)."""

    agent_id: str
    config: AgentConfig
    metrics: AgentMetrics
    log: logging.Logger | logging.LoggerAdapter[Any]
    _wake: asyncio.Event

    def held(self) -> dict[int, int]: ...

    def lost(self, item_ids: list[int]) -> None: ...

    def side_task_died(self, name: str, exc: BaseException) -> None: ...

    def parent_gone(self, parent: int) -> None: ...

WATCH_INTERVAL = 0.025  # seconds between two looks at SQLite's data_version
PARENT_INTERVAL = 0.5  # seconds between two looks at the parent process


class SideTask(threading.Thread):
    """A daemon thread of an agent; an error that escapes ``work`` ends the agent."""

    task_name = "side task"

    def __init__(self, agent: AgentHooks, loop: asyncio.AbstractEventLoop,
                 stop: threading.Event) -> None:
        super().__init__(name=f"relaunch-{self.task_name}", daemon=True)
        self.agent, self.loop, self.stop = agent, loop, stop
        self.ready = threading.Event()  # set once it watches (the agent waits for it)

    def run(self) -> None:
        try:
            self.work()
        except BaseException as exc:
            self.ready.set()
            if not self.stop.is_set():
                with contextlib.suppress(RuntimeError):  # the loop is closed already
                    self.loop.call_soon_threadsafe(self.agent.side_task_died,
                                                   self.task_name, exc)

    def work(self) -> None:
        raise NotImplementedError


class Heartbeat(SideTask):
    """Renews the leases of the agent's items and its own row, on its own thread and
    connection. Reports lost items to the agent. Retries while the store is down."""

    task_name = "heartbeat"

    def work(self) -> None:
        from sqlalchemy.exc import DBAPIError

        agent = self.agent
        lease = agent.config.lease_seconds
        interval = min(5.0, lease / 3)
        store = QueueStore(database_url(agent.config.database))  # its own pool
        metrics = agent.metrics
        try:
            while not self.stop.wait(interval):
                try:
                    metrics.timed(metrics.heartbeat_seconds, self.beat, store, lease)
                except DBAPIError as exc:  # a restarting database: keep trying
                    agent.log.warning("heartbeat failed: %s", one_line(exc))
        finally:
            store.dispose()

    def beat(self, store: QueueStore, lease: float) -> None:
        renewal = store.renew_leases(self.agent.agent_id, self.agent.held(),
                                     lease_seconds=lease)
        if renewal.lost:
            self.agent.metrics.leases_lost.inc(len(renewal.lost))
            self.loop.call_soon_threadsafe(self.agent.lost, renewal.lost)
        store.heartbeat_agent(self.agent.agent_id)


class ParentWatch(SideTask):
    """Stops a guarded (deployed) agent once the process that started it, its Prefect
    worker, is gone. A worker that ends without stopping its flow runs (killed, or its
    own shutdown cut short: a second Ctrl-C or SIGTERM makes it SIGKILL itself, and a
    cancelled shutdown skips the kill of its children) would otherwise leave the agent
    running alone, renewing the leases of jobs nobody watches any more."""

    task_name = "parent watch"

    def work(self) -> None:
        import os

        parent = os.getppid()
        self.ready.set()
        while not self.stop.wait(PARENT_INTERVAL):
            if os.getppid() != parent:
                with contextlib.suppress(RuntimeError):  # the loop is closed already
                    self.loop.call_soon_threadsafe(self.agent.parent_gone, parent)
                return


class Listener(SideTask):
    """On PostgreSQL, LISTENs for enqueues so an idle agent starts a job at once."""

    task_name = "listener"

    def work(self) -> None:
        import psycopg

        dsn = database_url(self.agent.config.database).replace(
            "postgresql+psycopg://", "postgresql://", 1)
        wake = self.agent._wake
        while not self.stop.is_set():
            try:
                with psycopg.connect(dsn, autocommit=True) as conn:
                    conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self.ready.set()
                    while not self.stop.is_set():
                        for _ in conn.notifies(timeout=0.5, stop_after=1):
                            self.loop.call_soon_threadsafe(wake.set)
            except psycopg.OperationalError:  # database restarting: the poll covers us
                self.ready.set()
                self.stop.wait(1.0)


class StoreWatcher(SideTask):
    """On SQLite, wakes the agent when another connection commits (an enqueue, say):
    ``PRAGMA data_version`` on its own connection changes then, and reading it every
    few tens of milliseconds touches no table. The fallback poll stays for safety."""

    task_name = "store watcher"

    def work(self) -> None:
        import sqlite3

        from sqlalchemy.engine import make_url

        path = make_url(database_url(self.agent.config.database)).database or ""
        conn = sqlite3.connect(path, check_same_thread=False)
        try:
            last = conn.execute("PRAGMA data_version").fetchone()[0]
            self.ready.set()  # from here on no commit goes unseen
            while not self.stop.wait(WATCH_INTERVAL):
                try:
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.OperationalError:  # locked for a moment: look again
                    continue
                if version != last:
                    self.loop.call_soon_threadsafe(self.agent._wake.set)
                last = version
        finally:
            conn.close()
