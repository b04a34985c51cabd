"""A queue's open items as its page shows them (``QueueStore.queue_view``), on SQLite
and PostgreSQL: active items, the first queued ones in claim order with why each
waits, the agents' free slots."""

from __future__ import annotations

from launch_core.store import QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue


def test_the_view_lists_active_items_then_queued_ones_in_claim_order_with_their_reasons(
        timed_store: QueueStore, clock: FakeClock):
    store = timed_store
    queue = make_queue(store, policy={"max_running": 1}, prioritization=True)
    items = [enqueue(store, queue, priority=p) for p in ("medium", "low", "high", "medium")]
    agent = store.register_agent("team", ["q"], max_jobs=3)
    [running] = store.claim(agent.id, [queue.id])
    assert running.id == items[2].id  # high first
    clock.advance(30)

    view = store.queue_view(queue)

    assert [item.id for item in view.active] == [running.id]
    assert [(w.position, w.item.id) for w in view.queued] == [
        (1, items[0].id), (2, items[3].id), (3, items[1].id)]
    for waiting in view.queued:  # the reasons ``job status`` gives, item by item
        assert waiting.reasons == store.waiting_reasons(waiting.item)
        assert waiting.reasons == ["queue at max-running 1"]
        assert waiting.position == store.position(waiting.item)
    assert (view.queued_total, view.agents, view.free_slots) == (3, 1, 2)
    assert view.at == clock.now
    assert view.slots == "1 agent(s) polling, 2 free slot(s)"


def test_the_view_holds_the_first_queued_items_and_counts_them_all(timed_store: QueueStore):
    store = timed_store
    queue = make_queue(store)
    items = [enqueue(store, queue) for _ in range(5)]

    view = store.queue_view(queue, limit=2)

    assert [w.item.id for w in view.queued] == [items[0].id, items[1].id]
    assert view.queued_total == 5
    assert all(w.reasons == [] for w in view.queued)  # no policy holds them
    assert view.slots == "no agent is polling queue 'q'"


def test_the_view_says_when_every_slot_of_the_queues_agents_is_busy(timed_store: QueueStore):
    store = timed_store
    queue = make_queue(store)
    other = make_queue(store, "other")
    enqueue(store, queue)
    enqueue(store, queue)
    busy = store.register_agent("team", ["q"], max_jobs=1)
    store.register_agent("team", ["other"], max_jobs=4)  # polls another queue only
    store.claim(busy.id, [queue.id])

    view = store.queue_view(queue)

    assert (len(view.active), view.queued_total, view.agents, view.free_slots) == (1, 1, 1, 0)
    assert view.slots == "1 agent(s) polling, all slots busy"
    assert store.queue_view(other).queued == []
