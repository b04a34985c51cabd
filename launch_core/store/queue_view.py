"""What a queue holds open now, as its page in the Prefect UI shows it
(flows/queue_artifact.py): its active items, its first queued items in claim order with
why each waits (``waiting_reasons``, as ``relaunch job status`` says it), and the
agents polling it with their free slots. Reads only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from sqlalchemy import func, select

from launch_core.store.base import StoreBase
from launch_core.store.records import QueueItem, QueueRecord
from launch_core.store.scheduled_claim import read_usage, waiting_reasons
from launch_core.store.schema import items
from launch_core.store.states import ACTIVE, QUEUED

if TYPE_CHECKING:
    from launch_core.store import QueueStore

QUEUED_SHOWN = 100  # queued items a view holds: the first ones in claim order
ACTIVE_SHOWN = 1000  # active items a view holds (all of them, short of a runaway)


@dataclass(frozen=True)
class WaitingItem:
    """A queued item, its 1-based position in its queue's claim order, and what holds
    it: its queue's cap, a quota, its fair-share turn or GPUs (empty: none of those)."""

    position: int
    item: QueueItem
    reasons: list[str]


@dataclass(frozen=True)
class QueueView:
    """A queue's open items at ``at`` (the store's clock)."""

    queue: QueueRecord
    at: float
    active: list[QueueItem]  # claimed to running, the longest-running first
    queued: list[WaitingItem]  # the first queued items, in claim order
    queued_total: int
    agents: int  # live agents polling the queue
    free_slots: int  # their free job slots (an unlimited agent counts 1)

    @property
    def slots(self) -> str:
        """Why a queued item that no policy holds still waits, as ``job status``
        words it: no agent, all slots busy, or free slots (it is claimed next)."""
        if not self.agents:
            return f"no agent is polling queue {self.queue.name!r}"
        if self.free_slots == 0:
            return f"{self.agents} agent(s) polling, all slots busy"
        return f"{self.agents} agent(s) polling, {self.free_slots} free slot(s)"


class QueueViewOps(StoreBase):
    """A queue's open items for its page, read with the store's own item and agent
    reads (a mixin of QueueStore, whose other mixins it calls)."""

    def queue_view(self, queue: QueueRecord, *, limit: int = QUEUED_SHOWN,
                   uses_slots: bool = False) -> QueueView:
        """``queue``'s active items and its first ``limit`` queued ones, each with why
        it waits (``uses_slots``: its resource runs on the agents' hosts, so GPUs
        free on them count, see ``waiting_reasons``)."""
        store = cast("QueueStore", self)
        at = self.clock()
        active = store.list_items(queue_id=queue.id, states=ACTIVE, limit=ACTIVE_SHOWN)
        active.sort(key=lambda item: (item.started_at or at, item.id))
        running = {item.id for item in active}
        pending = [(n, item) for n, item in store.pending(queue.id, limit)
                   if item.id not in running]  # claimed between the two reads
        agents = [a for a in store.live_agents(queue.entity) if queue.name in a.queues]
        load = store.active_counts([a.id for a in agents])
        free = sum(max(0, a.max_jobs - load[a.id]) if a.max_jobs >= 0 else 1
                   for a in agents)
        with self._read() as conn:
            total = conn.execute(select(func.count()).where(
                items.c.queue_id == queue.id, items.c.state == QUEUED)).scalar_one()
            usage = read_usage(conn, [queue.entity])
            queued = [WaitingItem(n, item, waiting_reasons(
                conn, item, queue.entity, uses_slots=uses_slots, usage=usage))
                for n, item in pending]
        return QueueView(queue, at, active, queued, int(total), len(agents), free)
