"""Open items counted per queue, state and priority: what the agent's queue gauges
(``launch_core.agent.metrics``) export. One grouped read over the items index of
queue and state."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select

from launch_core.store.base import StoreBase
from launch_core.store.schema import items
from launch_core.store.states import ACTIVE, QUEUED


def open_counts(store: StoreBase, queue_ids: Sequence[int]
                ) -> dict[tuple[int, str, int], int]:
    """(queue id, state, priority rank) -> how many items of ``queue_ids`` are in that
    state, for the queued and active states; combinations with none are left out."""
    if not queue_ids:
        return {}
    query = (select(items.c.queue_id, items.c.state, items.c.priority, func.count())
             .where(items.c.queue_id.in_(list(queue_ids)),
                    items.c.state.in_((QUEUED, *ACTIVE)))
             .group_by(items.c.queue_id, items.c.state, items.c.priority))
    with store._read() as conn:
        return {(int(queue_id), str(state), int(priority)): int(count)
                for queue_id, state, priority, count in conn.execute(query)}
