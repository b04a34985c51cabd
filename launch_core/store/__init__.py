"""The queue store: one manager object for all database access."""

from launch_core.store.agents import AgentOps
from launch_core.store.blobs import BlobOps
from launch_core.store.claims import ClaimOps
from launch_core.store.items import ItemOps
from launch_core.store.pending import PendingOps
from launch_core.store.queues import QueueOps
from launch_core.store.quotas import QuotaOps
from launch_core.store.records import (
    AgentRecord,
    Claim,
    ItemEvent,
    QueueItem,
    QueueRecord,
    RenewResult,
    SweepResult,
)


class QueueStore(QueueOps, ItemOps, ClaimOps, PendingOps, QuotaOps, AgentOps, BlobOps):
    """Queues, items, claims, waiting bounds, quotas, agents and code blobs, on SQLite
    or PostgreSQL.

    ``QueueStore()`` opens the embedded SQLite file (or RELAUNCH_DATABASE_URL) and
    applies pending migrations.
    """


__all__ = ["AgentRecord", "Claim", "ItemEvent", "QueueItem", "QueueRecord", "QueueStore",
           "RenewResult", "SweepResult"]
