"""The queue store: one manager object for all database access."""

from launch_core.store.agents import AgentOps
from launch_core.store.blobs import BlobOps
from launch_core.store.claims import ClaimOps
from launch_core.store.groups import GroupOps
from launch_core.store.items import ItemOps
from launch_core.store.jobs import JobOps
from launch_core.store.pending import PendingOps
from launch_core.store.queue_view import QueueViewOps
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
from launch_core.store.stats import StatsOps
from launch_core.store.sweeps import SweepOps


class QueueStore(SweepOps, QueueOps, GroupOps, ItemOps, ClaimOps, PendingOps, QuotaOps,
                 AgentOps, JobOps, BlobOps, StatsOps, QueueViewOps):
    """Queues, items, claims, waiting bounds, quotas, agents, code blobs, launch
    jobs, queue figures and sweeps, on SQLite or PostgreSQL.

    ``QueueStore()`` opens the embedded SQLite file (or RELAUNCH_DATABASE_URL) and
    applies pending migrations.
    """


__all__ = ["AgentRecord", "Claim", "ItemEvent", "QueueItem", "QueueRecord", "QueueStore",
           "RenewResult", "SweepResult"]
