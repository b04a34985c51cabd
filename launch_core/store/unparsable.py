"""Items whose stored spec does not parse: failed where an agent meets them, alone.

relaunch validates a spec before it enqueues it, but a row can be written around
relaunch: by a submitter's own SQL (docs/access.md) or by hand. One such row must
not make a claim, sweep or re-adoption fail for every other item in the batch
(a shared agent's batch mixes entities).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import Connection, update

from launch_core.masking import mask
from launch_core.spec.inputs import describe_validation_error
from launch_core.store.base import StoreBase
from launch_core.store.dependencies import settle
from launch_core.store.records import QueueItem
from launch_core.store.schema import items
from launch_core.store.states import FAILED


def split(rows: Any) -> tuple[list[QueueItem], list[tuple[Any, str]]]:
    """The items of ``rows`` whose spec parses, and (row, reason) for the others."""
    good: list[QueueItem] = []
    bad: list[tuple[Any, str]] = []
    for row in rows:
        try:
            good.append(QueueItem.from_row(row))
        except ValidationError as exc:
            bad.append((row, mask(describe_validation_error(exc, "stored job spec"))[:500]))
    return good, bad


def fail_unparsable(store: StoreBase, conn: Connection, bad: list[tuple[Any, str]],
                    actor: str) -> None:
    """Mark each (row, reason) of ``split`` ``failed`` (stage agent) in ``conn``'s
    transaction, fenced by the state and claim token the row was read with (its
    dependents settled, as any item's end settles them)."""
    now = store.clock()
    for row, reason in bad:
        moved = conn.execute(update(items).where(
            items.c.id == row.id, items.c.state == row.state,
            items.c.claim_token == row.claim_token,
        ).values(state=FAILED, stage="agent", reason=reason, finished_at=now,
                 lease_expires_at=None, updated_at=now)).rowcount
        if moved:
            store._events(conn, [{"item_id": row.id, "from_state": row.state,
                                  "to_state": FAILED, "actor": actor,
                                  "message": f"agent: {reason}"}])
            settle(store, conn, {row.id: FAILED}, actor)


def parsed(store: StoreBase, conn: Connection, rows: Any, actor: str) -> list[QueueItem]:
    """The items of ``rows`` whose spec parses; the others are failed in ``conn``."""
    good, bad = split(rows)
    fail_unparsable(store, conn, bad, actor)
    return good
