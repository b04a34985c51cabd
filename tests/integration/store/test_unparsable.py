"""An item whose stored spec does not parse (written around relaunch, e.g. by a
submitter's own SQL, docs/access.md) fails alone: the claim, sweep and release of
the other items go on. SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, update

from launch_core.store import QueueStore
from launch_core.store.audit import audit_store
from launch_core.store.schema import items
from tests.support.store_helpers import FakeClock, enqueue, make_queue


def poison(store: QueueStore, queue_id: int, **values: Any) -> int:
    """Write an item whose spec names no source (LaunchSpec refuses it)."""
    row = {"queue_id": queue_id, "state": "queued", "priority": 2, "run_id": "poison000001",
           "spec": {"entry_point": ["true"]}, "enqueued_at": 0.0, "updated_at": 0.0,
           **values}
    with store._write() as conn:
        return int(conn.execute(insert(items).values(**row).returning(items.c.id)).scalar_one())


def test_a_claim_skips_and_fails_an_unparsable_item(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    bad = poison(timed_store, queue.id)  # enqueued first: the head of the queue
    good = enqueue(timed_store, queue)
    assert [i.id for i in timed_store.claim("a", [queue.id], limit=5)] == [good.id]
    with timed_store._read() as conn:
        row = conn.execute(items.select().where(items.c.id == bad)).one()
    assert (row.state, row.stage) == ("failed", "agent")
    assert row.reason.startswith("stored job spec: ") and "source" in row.reason
    assert timed_store.get_item(good.id).state == "claimed"
    assert audit_store(timed_store).problems == []


def test_sweep_and_release_go_on_past_an_unparsable_item(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    held = enqueue(timed_store, queue)
    timed_store.claim("a", [queue.id])
    expired = poison(timed_store, queue.id, run_id="poison000002", state="claimed",
                     agent_id="a", claim_token=1, lease_expires_at=clock() - 1)
    released = timed_store.release("a")
    assert released == [held.id]
    with timed_store._read() as conn:
        state = conn.execute(items.select().where(items.c.id == expired)).one().state
    assert state == "failed"
    # The sweep meets one in the same batch as a sound item whose lease lapsed.
    [again] = timed_store.claim("b", [queue.id])
    lapsed = poison(timed_store, queue.id, run_id="poison000003", state="building",
                    agent_id="c", claim_token=1, lease_expires_at=clock() - 1)
    with timed_store._write() as conn:
        conn.execute(update(items).where(items.c.id == again.id)
                     .values(lease_expires_at=clock() - 1))
    assert timed_store.sweep_expired().requeued == [again.id]
    with timed_store._read() as conn:
        row = conn.execute(items.select().where(items.c.id == lapsed)).one()
    assert (row.state, row.stage) == ("failed", "agent")
    assert audit_store(timed_store).problems == []
