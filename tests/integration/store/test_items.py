"""Queue items: enqueue, guarded transitions and their audit events, cancel, positions."""

from __future__ import annotations

import re

import pytest

from launch_core.errors import Conflict, IllegalTransition, InvalidInput, NotFound
from launch_core.store import QueueItem, QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue, spec

# A path from queued to each state, through legal transitions.
PATHS = {
    "queued": [],
    "claimed": ["claimed"],
    "building": ["claimed", "building"],
    "submitted": ["claimed", "submitted"],
    "running": ["claimed", "submitted", "running"],
    "finished": ["claimed", "submitted", "running", "finished"],
    "failed": ["claimed", "failed"],
    "cancelled": ["cancelled"],
}


def item_in(store: QueueStore, state: str, **spec_fields: object) -> QueueItem:
    """A new item (in its own queue) moved to ``state`` by agent ``agent-1``."""
    queue = make_queue(store, f"q-{state}-{len(store.list_queues())}")
    item = enqueue(store, queue, **spec_fields)
    for step in PATHS[state]:
        if step == "claimed":
            [item] = store.claim("agent-1", [queue.id])
        else:
            item = store.transition(item.id, step, actor="agent-1")
    assert item.state == state
    return item


def test_enqueue_stores_a_queued_item_with_its_spec(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    launch = spec(args=["--epochs", "3"], project="p", run_config={"lr": 0.1})
    item = timed_store.enqueue(queue, launch, max_attempts=4, actor="alice")
    assert (item.queue_id, item.state, item.attempts, item.max_attempts) == (
        queue.id, "queued", 0, 4)
    assert item.enqueued_at == item.updated_at == clock.now
    assert re.fullmatch(r"[a-z0-9]{12}", item.run_id)
    assert item.spec == launch
    assert (item.agent_id, item.finished_at, item.cancel_requested) == (None, None, False)
    assert timed_store.get_item(item.id) == item
    [event] = timed_store.events_for(item.id)
    assert (event.from_state, event.to_state, event.actor, event.at) == (
        None, "queued", "alice", clock.now)


def test_enqueued_items_get_distinct_run_ids(store: QueueStore) -> None:
    queue = make_queue(store)
    run_ids = {enqueue(store, queue).run_id for _ in range(50)}
    assert len(run_ids) == 50


def test_get_unknown_item_raises_not_found(store: QueueStore) -> None:
    with pytest.raises(NotFound):
        store.get_item(424242)


def test_list_items_filters_by_queue_entity_and_state_newest_first(store: QueueStore) -> None:
    a = make_queue(store, "a")
    b = make_queue(store, "b", entity="other")
    a1, a2, b1 = enqueue(store, a), enqueue(store, a), enqueue(store, b)
    store.claim("agent", [a.id])
    assert [i.id for i in store.list_items(queue_id=a.id)] == [a2.id, a1.id]
    assert [i.id for i in store.list_items(entity="other")] == [b1.id]
    assert [i.id for i in store.list_items(states=("claimed",))] == [a1.id]
    assert [i.id for i in store.list_items(limit=1)] == [b1.id]


def test_each_transition_writes_an_event_with_from_to_and_actor(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    timed_store.claim("agent-1", [queue.id])
    steps = [("building", "builder"), ("submitted", "agent-1"), ("running", "monitor"),
             ("finished", "agent-1")]
    for n, (target, actor) in enumerate(steps):
        clock.advance(1)
        moved = timed_store.transition(item.id, target, actor=actor, message=f"step {n}")
        assert moved.state == target
        assert moved.updated_at == clock.now
    events = timed_store.events_for(item.id)
    assert [(e.from_state, e.to_state, e.actor) for e in events] == [
        (None, "queued", "user"), ("queued", "claimed", "agent-1"),
        ("claimed", "building", "builder"), ("building", "submitted", "agent-1"),
        ("submitted", "running", "monitor"), ("running", "finished", "agent-1")]
    assert [e.message for e in events[2:]] == [f"step {n}" for n in range(4)]
    assert [e.at for e in events[2:]] == sorted(e.at for e in events[2:])


def test_transition_sets_extra_fields(store: QueueStore) -> None:
    item = item_in(store, "claimed")
    moved = store.transition(item.id, "submitted", actor="agent-1",
                             handle={"container_id": "abc123"})
    assert store.get_item(item.id).handle == {"container_id": "abc123"} == moved.handle


def test_running_sets_started_at_once(timed_store: QueueStore, clock: FakeClock) -> None:
    item = item_in(timed_store, "submitted")
    assert item.started_at is None
    clock.advance(5)
    started = timed_store.transition(item.id, "running", actor="agent-1")
    assert started.started_at == clock.now


@pytest.mark.parametrize(("start", "target"), [
    ("queued", "running"), ("queued", "finished"), ("queued", "building"),
    ("claimed", "running"), ("claimed", "finished"), ("building", "running"),
    ("submitted", "building"), ("running", "submitted"), ("running", "claimed"),
    ("finished", "queued"), ("finished", "failed"), ("failed", "claimed"),
    ("cancelled", "running"), ("cancelled", "queued"),
])
def test_illegal_transition_raises_and_writes_nothing(
        store: QueueStore, start: str, target: str) -> None:
    item = item_in(store, start)
    events_before = store.events_for(item.id)
    with pytest.raises(IllegalTransition) as raised:
        store.transition(item.id, target, actor="agent-1")
    assert (raised.value.item_id, raised.value.current, raised.value.target) == (
        item.id, start, target)
    assert store.get_item(item.id) == item
    assert store.events_for(item.id) == events_before


def test_transition_of_unknown_item_raises_not_found(store: QueueStore) -> None:
    with pytest.raises(NotFound):
        store.transition(31337, "claimed", actor="agent-1")


@pytest.mark.parametrize("target", ["finished", "failed", "cancelled"])
def test_terminal_state_sets_finished_at_and_clears_the_lease(
        timed_store: QueueStore, clock: FakeClock, target: str) -> None:
    item = item_in(timed_store, "running")
    assert item.lease_expires_at is not None and item.finished_at is None
    clock.advance(100)
    done = timed_store.transition(item.id, target, actor="agent-1", exit_code=0)
    assert done.finished_at == clock.now
    assert done.lease_expires_at is None
    assert timed_store.sweep_expired(now=clock.now + 10_000).failed == []


def test_fail_records_stage_and_a_one_line_reason(store: QueueStore) -> None:
    item = item_in(store, "building")
    failed = store.fail(item.id, "build", "  docker build exited 1\nStep 3/9: RUN pip\n...",
                        actor="agent-1")
    assert (failed.state, failed.stage, failed.reason) == (
        "failed", "build", "docker build exited 1")
    assert failed.finished_at is not None
    last = store.events_for(item.id)[-1]
    assert (last.from_state, last.to_state, last.actor) == ("building", "failed", "agent-1")
    assert last.message == "build: docker build exited 1"


def test_fail_with_an_empty_reason_still_gives_one(store: QueueStore) -> None:
    item = item_in(store, "running")
    assert store.fail(item.id, "run", " \n ", actor="agent-1").reason == "failed"


def test_fail_truncates_a_very_long_reason(store: QueueStore) -> None:
    item = item_in(store, "running")
    assert len(store.fail(item.id, "run", "x" * 5000, actor="agent-1").reason or "") <= 500


def test_fail_rejects_a_stage_outside_agent_build_run(store: QueueStore) -> None:
    item = item_in(store, "running")
    with pytest.raises((InvalidInput, ValueError)):
        store.fail(item.id, "compilation-phase", "boom", actor="agent-1")
    assert store.get_item(item.id).state == "running"


def test_fail_of_a_finished_item_is_illegal(store: QueueStore) -> None:
    item = item_in(store, "finished")
    with pytest.raises(IllegalTransition):
        store.fail(item.id, "run", "late", actor="agent-1")


@pytest.mark.parametrize("state", ["submitted", "running"])
def test_preempt_requeues_with_the_same_run_id_and_resume_count_plus_one(
        store: QueueStore, state: str) -> None:
    item = item_in(store, state)
    back = store.preempt(item.id, actor="k8s", reason="node evicted")
    assert (back.state, back.resume_count, back.run_id) == ("queued", 1, item.run_id)
    assert (back.agent_id, back.lease_expires_at, back.handle) == (None, None, None)
    last = store.events_for(item.id)[-1]
    assert (last.from_state, last.to_state, last.actor, last.message) == (
        state, "queued", "k8s", "node evicted")
    [again] = store.claim("agent-2", [item.queue_id])
    assert (again.id, again.resume_count) == (item.id, 1)


def test_preempt_fails_the_item_after_five_resumes(store: QueueStore) -> None:
    item = item_in(store, "running")
    for resumes in range(1, 6):
        assert store.preempt(item.id, actor="k8s").resume_count == resumes
        store.claim("agent-1", [item.queue_id])
        store.transition(item.id, "submitted", actor="agent-1")
    failed = store.preempt(item.id, actor="k8s")
    assert (failed.state, failed.stage, failed.resume_count) == ("failed", "run", 5)
    assert failed.finished_at is not None
    assert "5" in (failed.reason or "")


def test_preempt_does_not_requeue_an_item_whose_cancel_was_requested(
        store: QueueStore) -> None:
    item = item_in(store, "running")
    store.request_cancel(item.id)
    store.preempt(item.id, actor="k8s")
    assert store.get_item(item.id).state == "cancelled"
    assert store.claim("agent-2", [item.queue_id]) == []


@pytest.mark.parametrize("state", ["queued", "claimed", "building", "finished"])
def test_preempt_of_an_item_not_launched_is_illegal(store: QueueStore, state: str) -> None:
    item = item_in(store, state)
    with pytest.raises(IllegalTransition):
        store.preempt(item.id, actor="k8s")
    assert store.get_item(item.id) == item


def test_cancel_of_a_queued_item_cancels_it_at_once(
        timed_store: QueueStore, clock: FakeClock) -> None:
    item = item_in(timed_store, "queued")
    clock.advance(3)
    cancelled = timed_store.request_cancel(item.id, actor="bob")
    assert (cancelled.state, cancelled.finished_at) == ("cancelled", clock.now)
    last = timed_store.events_for(item.id)[-1]
    assert (last.from_state, last.to_state, last.actor) == ("queued", "cancelled", "bob")
    assert timed_store.claim("agent", [item.queue_id]) == []


@pytest.mark.parametrize("state", ["claimed", "building", "submitted", "running"])
def test_cancel_of_an_active_item_flags_it_for_its_agent(store: QueueStore, state: str) -> None:
    item = item_in(store, state)
    flagged = store.request_cancel(item.id, actor="bob")
    assert (flagged.state, flagged.cancel_requested, flagged.finished_at) == (state, True, None)
    assert store.get_item(item.id).cancel_requested is True
    last = store.events_for(item.id)[-1]
    assert (last.from_state, last.to_state, last.actor) == (state, state, "bob")
    assert store.transition(item.id, "cancelled", actor="agent-1").state == "cancelled"


@pytest.mark.parametrize("state", ["finished", "failed", "cancelled"])
def test_cancel_of_an_ended_item_raises_conflict(store: QueueStore, state: str) -> None:
    item = item_in(store, state)
    with pytest.raises(Conflict, match=state):
        store.request_cancel(item.id)
    assert store.get_item(item.id) == item


def test_cancel_of_unknown_item_raises_not_found(store: QueueStore) -> None:
    with pytest.raises(NotFound):
        store.request_cancel(99999)


def test_position_follows_claim_order(timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store, prioritization=True)
    other = make_queue(timed_store, "other")
    low = enqueue(timed_store, queue, priority="low")
    clock.advance(1)
    first_medium = enqueue(timed_store, queue)
    enqueue(timed_store, other, priority="medium")  # other queues do not count
    clock.advance(1)
    second_medium = enqueue(timed_store, queue)
    critical = enqueue(timed_store, queue, priority="critical")
    expected = [critical, first_medium, second_medium, low]
    assert [timed_store.position(i) for i in expected] == [1, 2, 3, 4]
    assert [(n, i.id) for n, i in timed_store.pending(queue.id)] == [
        (n, i.id) for n, i in enumerate(expected, start=1)]
    assert [i.id for _, i in timed_store.pending(queue.id, limit=2)] == [
        critical.id, first_medium.id]


def test_positions_move_up_when_the_head_is_claimed(store: QueueStore) -> None:
    queue = make_queue(store)
    items = [enqueue(store, queue) for _ in range(3)]
    [head] = store.claim("agent", [queue.id])
    assert store.position(head) is None
    assert [store.position(i) for i in items[1:]] == [1, 2]
    assert [n for n, _ in store.pending(queue.id)] == [1, 2]


def test_pending_of_an_empty_queue_is_empty(store: QueueStore) -> None:
    queue = make_queue(store)
    assert store.pending(queue.id) == []
