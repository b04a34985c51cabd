"""A queue's max_pending (and fallback_queue): queued items that waited too long end
failed, or move to the fallback queue if it takes their values; only items still
queued, atomically; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from launch_core.agent.fallback import check_for_fallback
from launch_core.store import QueueRecord, QueueStore
from launch_core.store.schema import items
from tests.support.store_helpers import FakeClock, enqueue, make_queue

THREADS = {"type": "integer", "minimum": 1, "maximum": 8}
HALF_HOUR = 30 * 60


def threads_queue(store: QueueStore, name: str, maximum: int = 8, **policy: Any
                  ) -> QueueRecord:
    return make_queue(store, name, policy=policy, config={"env": {"T": "{{ threads }}"}},
                      template_variables={"threads": {**THREADS, "maximum": maximum}})


def expire(store: QueueStore, *queues: QueueRecord) -> Any:
    return store.expire_pending([q.id for q in queues], actor="agent-1",
                                check=check_for_fallback)


def test_an_item_queued_longer_than_max_pending_fails_and_a_younger_one_waits(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = threads_queue(timed_store, "q", max_pending="30m")
    old = enqueue(timed_store, queue, template_values={"threads": 2})
    clock.advance(HALF_HOUR - 60)
    young = enqueue(timed_store, queue, template_values={"threads": 2})
    clock.advance(61)
    result = expire(timed_store, queue)
    assert (result.failed, result.moved) == ([old.id], [])
    ended = timed_store.get_item(old.id)
    assert (ended.state, ended.stage, ended.reason, ended.finished_at) == (
        "failed", "agent", "waited longer than 30m", clock.now)
    assert timed_store.events_for(old.id)[-1].message == "agent: waited longer than 30m"
    assert timed_store.get_item(young.id).state == "queued"
    assert expire(timed_store, queue).failed == []  # nothing twice


def test_a_fallback_queue_takes_an_item_that_waited_too_long(
        timed_store: QueueStore, clock: FakeClock) -> None:
    big = threads_queue(timed_store, "big")
    queue = threads_queue(timed_store, "q", max_pending="30m", fallback_queue="big")
    item = enqueue(timed_store, queue, template_values={"threads": 6})
    clock.advance(HALF_HOUR + 1)
    assert expire(timed_store, queue).moved == [item.id]
    moved = timed_store.get_item(item.id)
    assert (moved.state, moved.queue_id, moved.enqueued_at, moved.run_id) == (
        "queued", big.id, clock.now, item.run_id)
    event = timed_store.events_for(item.id)[-1]
    assert (event.from_state, event.to_state, event.actor, event.message) == (
        "queued", "queued", "agent-1", "moved to fallback queue big after waiting 30m")
    # The fallback queue's agents claim it; the first queue's do not.
    assert timed_store.claim("agent-2", [queue.id]) == []
    assert [i.id for i in timed_store.claim("agent-2", [big.id])] == [item.id]


def test_a_fallback_queue_that_refuses_the_values_fails_the_item_naming_the_value(
        timed_store: QueueStore, clock: FakeClock) -> None:
    small = threads_queue(timed_store, "small", maximum=4)
    queue = threads_queue(timed_store, "q", max_pending="30m", fallback_queue="small")
    item = enqueue(timed_store, queue, template_values={"threads": 6})
    clock.advance(HALF_HOUR + 1)
    assert expire(timed_store, queue).failed == [item.id]
    ended = timed_store.get_item(item.id)
    assert (ended.state, ended.queue_id, ended.stage) == ("failed", queue.id, "agent")
    assert ended.reason == ("waited longer than 30m; fallback queue 'small' refused it: "
                            "template variable 'threads': 6 is above maximum 4")
    assert small.id != ended.queue_id


def test_the_values_a_retry_raised_are_the_ones_the_fallback_checks(
        timed_store: QueueStore, clock: FakeClock) -> None:
    threads_queue(timed_store, "small", maximum=4)
    queue = threads_queue(timed_store, "q", max_pending="30m", fallback_queue="small")
    item = enqueue(timed_store, queue, template_values={"threads": 2})
    with timed_store._write() as conn:  # as a retry after an OOM would have left it
        conn.execute(items.update().where(items.c.id == item.id).values(
            raised={"threads": 8}))
    clock.advance(HALF_HOUR + 1)
    assert expire(timed_store, queue).failed == [item.id]
    assert "8 is above maximum 4" in (timed_store.get_item(item.id).reason or "")


def test_a_missing_fallback_queue_fails_the_item_naming_it(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = threads_queue(timed_store, "q", max_pending="30m", fallback_queue="gone")
    item = enqueue(timed_store, queue, template_values={"threads": 1})
    clock.advance(HALF_HOUR + 1)
    expire(timed_store, queue)
    assert timed_store.get_item(item.id).reason == (
        "waited longer than 30m; fallback queue 'gone' not found")


def test_only_queued_items_of_the_given_queues_are_touched(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = threads_queue(timed_store, "q", max_pending="30m")
    other = threads_queue(timed_store, "other", max_pending="30m")
    claimed = enqueue(timed_store, queue, template_values={"threads": 1})
    [_] = timed_store.claim("agent-1", [queue.id])
    elsewhere = enqueue(timed_store, other, template_values={"threads": 1})
    clock.advance(HALF_HOUR + 1)
    assert expire(timed_store, queue).failed == []
    assert timed_store.get_item(claimed.id).state == "claimed"
    assert timed_store.get_item(elsewhere.id).state == "queued"


def test_a_queue_without_max_pending_keeps_its_items(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = threads_queue(timed_store, "q")
    item = enqueue(timed_store, queue, template_values={"threads": 1})
    clock.advance(10 * 86400)
    assert expire(timed_store, queue).failed == []
    assert timed_store.get_item(item.id).state == "queued"


def test_an_item_a_claim_has_locked_is_left_alone_not_half_moved(postgres_url: str) -> None:
    """PostgreSQL (SQLite serialises writers, so no row is held by another one there):
    a row another transaction holds (a claim deciding on it) is skipped, neither
    waited for nor moved in part; the next pass moves it."""
    clock = FakeClock()
    store = QueueStore(postgres_url, clock=clock)
    try:
        big = threads_queue(store, "big")
        queue = threads_queue(store, "q", max_pending="30m", fallback_queue="big")
        item = enqueue(store, queue, template_values={"threads": 1})
        clock.advance(HALF_HOUR + 1)
        with store.engine.connect() as holder, holder.begin():
            holder.execute(select(items).where(items.c.id == item.id).with_for_update())
            result = expire(store, queue)
            assert (result.moved, result.failed) == ([], [])
        untouched = store.get_item(item.id)
        assert (untouched.queue_id, untouched.enqueued_at) == (queue.id, item.enqueued_at)
        assert expire(store, queue).moved == [item.id]
        assert store.get_item(item.id).queue_id == big.id
    finally:
        store.dispose()
