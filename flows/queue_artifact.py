"""The queue page: a Prefect table artifact per queue an agent polls, keyed
``queue-<entity>-<name>`` (``artifact_key``), listing the queue's active jobs and its
first queued ones with their waits and why they wait. The UI's Artifacts page lists
them: the queue dashboard.

Every ``queue_page_interval`` seconds (agent config, default 5; 0: no page) the agent
reads each of its queues (``QueueStore.queue_view``, on a store connection pool and a
thread of the page's own, never the agent's) and writes a page when its jobs, states,
positions or reasons changed, or when its times are ``TIMES_REFRESH`` seconds old. The
first write of an agent run creates a version of the artifact (shown in the agent's
flow run too); later writes update the latest version in place, so the Prefect
database holds one version per agent start, not one per change. Several agents
polling one queue each write its page from the same store: the latest write wins.
A failure (the Prefect API or the store down) is logged once, then once more when
writing works again; it never reaches the agent's claims or jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from prefect.artifacts import TableArtifact
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import ArtifactUpdate
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

from launch_core.agent.agent import Agent
from launch_core.backends.table import load_class
from launch_core.errors import one_line
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.engine import database_url
from launch_core.store.queue_view import QueueView

TIMES_REFRESH = 60.0  # seconds after which a page is written again for its times alone
WAITED = "waited / running"
COLUMNS = ("job", "run id", "state", "position", "priority", "user", "project", WAITED,
           "reason")
Log = logging.Logger | logging.LoggerAdapter[Any]


def artifact_key(entity: str, name: str) -> str:
    """``queue-<entity>-<name>`` in the characters Prefect allows in a key (lowercase
    letters, digits and dashes): capitals are lowered, ``_`` and ``.`` become dashes.
    When that changed a character, or the entity has a dash (``a-b``/``c`` would read
    as ``a``/``b-c``), a dash and the first 8 hex digits of the SHA-256 of
    ``<entity>/<name>`` follow, so no two queues share a page."""
    plain = f"{entity}-{name}"
    key = "queue-" + re.sub(r"[^a-z0-9-]", "-", plain.lower())
    if key != f"queue-{plain}" or "-" in entity:
        key += "-" + hashlib.sha256(f"{entity}/{name}".encode()).hexdigest()[:8]
    return key


def _for(seconds: float) -> str:
    """``42s``, ``3m 5s``, ``2h 10m``, ``1d 4h``."""
    left = int(max(0.0, seconds))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if left >= size or (size == 1 and not parts):
            parts.append(f"{left // size}{unit}")
            left %= size
    return " ".join(parts[:2])


def _row(item: QueueItem, at: float, position: int | None, reason: str) -> dict[str, Any]:
    waited = (f"running {_for(at - item.started_at)}" if item.started_at is not None
              else f"waited {_for(at - item.enqueued_at)}")
    return {"job": item.id, "run id": item.run_id, "state": item.state,
            "position": position or "", "priority": item.priority_name,
            "user": item.submitter, "project": item.project, WAITED: waited,
            "reason": reason}


def page_rows(view: QueueView) -> list[dict[str, Any]]:
    """The page's rows: the active jobs (longest running first), then the queued ones
    shown, in claim order, each with what holds it (a policy, else the agents' slots)."""
    rows = [_row(item, view.at, None, "") for item in view.active]
    rows += [_row(w.item, view.at, w.position, "; ".join(w.reasons) or view.slots)
             for w in view.queued]
    return rows


def page_description(view: QueueView, agent_id: str, interval: float) -> str:
    queue = view.queue
    shown = (f" (the first {len(view.queued)} shown, in claim order)"
             if view.queued_total > len(view.queued) else "")
    at = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(view.at))
    return (f"Queue **{queue.entity}/{queue.name}**: {len(view.active)} active, "
            f"{view.queued_total} queued{shown}. Written by agent `{agent_id}` at {at}; "
            f"looked at every {interval:g} s, written when it changed and at least every "
            f"{TIMES_REFRESH:g} s for its times. Every agent polling this queue writes "
            "this page: the latest write wins.")


class QueuePages:
    """The pages of one agent's queues (see the module's docstring)."""

    def __init__(self, agent: Agent, log: Log) -> None:
        self.agent, self.log = agent, log
        self.interval = agent.config.queue_page_interval
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="relaunch-queue-page")
        self._store: QueueStore | None = None
        self._queues: list[tuple[QueueRecord, bool]] = []  # each with uses_slots
        self._written: dict[str, tuple[Any, float]] = {}  # key -> (what changes, when)
        self._created: set[str] = set()  # keys this agent run created a version of
        self._failing = False

    async def run(self) -> None:
        """Look at the queues every ``interval`` seconds until cancelled."""
        try:
            while not self.agent.agent_id:  # registered: the pages name it
                await asyncio.sleep(0.1)
            async with get_client() as client:
                while True:
                    await self.refresh(client)
                    await asyncio.sleep(self.interval)
        except Exception as exc:  # no Prefect client: the agent goes on without pages
            self.log.warning("queue page: stopped: %s", one_line(exc))
        finally:
            self.close()

    def close(self) -> None:
        """Release the store's connections, after any read still running."""
        if self._store is not None:
            self._executor.submit(self._store.dispose)
        self._executor.shutdown(wait=False)

    async def refresh(self, client: PrefectClient) -> None:
        """One look at every queue; writes the pages that changed. Never raises."""
        try:
            views = await asyncio.get_running_loop().run_in_executor(self._executor,
                                                                     self._read)
            for view in views:
                await self._write(client, view)
        except Exception as exc:
            if not self._failing:
                self.log.warning("queue page: could not write (%s); trying again every "
                                 "%g s, logged once until it works", one_line(exc),
                                 self.interval)
            self._failing = True
            return
        if self._failing:
            self.log.info("queue page: writing again")
        self._failing = False

    def _read(self) -> list[QueueView]:
        if self._store is None:
            self._store = QueueStore(database_url(self.agent.config.database))
        if not self._queues:
            queues = [self._store.get_queue(self.agent.entity, name)
                      for name in self.agent.config.queues]
            self._queues = [(queue, bool(getattr(load_class(
                "resource", queue.definition.resource), "runs_on_agent_host", False)))
                for queue in queues]
        return [self._store.queue_view(queue, uses_slots=local)
                for queue, local in self._queues]

    async def _write(self, client: PrefectClient, view: QueueView) -> None:
        key = artifact_key(view.queue.entity, view.queue.name)
        rows = page_rows(view)
        changes = (view.queued_total, [[row[c] for c in COLUMNS if c != WAITED]
                                       for row in rows])
        last = self._written.get(key)
        if last is not None and last[0] == changes and (
                not rows or view.at - last[1] < TIMES_REFRESH):
            return
        artifact = TableArtifact(key=key, table=rows, description=page_description(
            view, self.agent.agent_id, self.interval))
        await self._publish(client, artifact)
        self._written[key] = (changes, view.at)

    async def _publish(self, client: PrefectClient, artifact: TableArtifact) -> None:
        """Create a version (first write of this agent run), else update the latest."""
        key = str(artifact.key)
        latest = [] if key not in self._created else await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(
                key=ArtifactCollectionFilterKey(any_=[key])), limit=1)
        if not latest:
            await artifact.acreate(client)
            self._created.add(key)
            return
        await client.update_artifact(latest[0].latest_id, ArtifactUpdate(
            data=await artifact.aformat(), description=artifact.description))


@contextlib.asynccontextmanager
async def queue_pages(agent: Agent, log: Log) -> AsyncIterator[None]:
    """Keep the pages of ``agent``'s queues while the body runs (unless its config's
    ``queue_page_interval`` is 0)."""
    if not agent.config.queue_page_interval:
        yield
        return
    task = asyncio.create_task(QueuePages(agent, log).run(), name="relaunch-queue-pages")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
