"""The wake-up of idle agents on PostgreSQL: ``NOTIFY relaunch_enqueue`` when an item
becomes claimable (enqueued, or released by its dependencies), sent at commit."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text

NOTIFY_CHANNEL = "relaunch_enqueue"


def notify_claimable(conn: Connection, queue_ids: Iterable[int]) -> None:
    """Tell the agents LISTENing (PostgreSQL) that these queues have claimable items."""
    if conn.dialect.name != "postgresql":
        return
    for queue_id in sorted(set(queue_ids)):
        conn.execute(text("SELECT pg_notify(:c, :q)"), {"c": NOTIFY_CHANNEL, "q": str(queue_id)})
