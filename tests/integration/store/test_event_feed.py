"""The store's event log read as a feed of job state changes (launch_core/store/
event_feed.py, what the Prefect relay publishes): names, labels and payload, the flow
run each change belongs to, only the feed's queues, nothing of the past; on SQLite and
PostgreSQL. On PostgreSQL, a row that commits after a row with a higher id is still
read, and a rolled-back id is given up after gap_wait."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from launch_core.spec.failure_class import run_failure
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.event_feed import EventFeed, JobEvent, head, published_last
from tests.support.store_helpers import FakeClock, enqueue, make_queue

AGENT = "agent-1"


def feed_of(store: QueueStore, *queues: QueueRecord, **kwargs: Any) -> EventFeed:
    return EventFeed(store, [q.id for q in queues], after=head(store), **kwargs)


def summary(events: list[JobEvent]) -> list[tuple[str, str | None, str | None]]:
    return [(e.name, e.from_state, e.flow_run) for e in events]


def launch(store: QueueStore, queue: QueueRecord, item: QueueItem, flow_run: str
           ) -> QueueItem:
    """Claim ``item`` (the queue's next), note its flow run, submit and run it."""
    [claimed] = store.claim(AGENT, [queue.id])
    assert claimed.id == item.id
    store.note(item.id, f"flow run {flow_run}", actor=AGENT, claim=claimed.claim)
    store.transition(item.id, "submitted", actor=AGENT, claim=claimed.claim,
                     handle={"pid": 1})
    return store.transition(item.id, "running", actor=AGENT, claim=claimed.claim)


def test_a_jobs_life_reads_as_named_events_with_its_labels_and_flow_run(
        timed_store: QueueStore) -> None:
    queue = make_queue(timed_store, "q")
    feed = feed_of(timed_store, queue)
    item = enqueue(timed_store, queue, project="vision")
    running = launch(timed_store, queue, item, "run-a")
    timed_store.transition(item.id, "finished", actor=AGENT, claim=running.claim, exit_code=0)

    events = feed.read()
    assert summary(events) == [("queued", None, None), ("claimed", "queued", None),
                               ("submitted", "claimed", "run-a"),
                               ("running", "submitted", "run-a"),
                               ("finished", "running", "run-a")]
    finished = events[-1]
    assert (finished.item_id, finished.run_id, finished.queue, finished.entity,
            finished.resource, finished.project, finished.actor) == (
        item.id, item.run_id, "q", "team", "local-process", "vision", AGENT)
    assert finished.user == item.submitter != ""
    assert finished.exit_code == 0 and finished.to_state == "finished"
    assert events[2].exit_code is None  # only an ended job's row is final
    assert feed.read() == []


def test_a_failure_carries_stage_reason_and_exit_code(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store, "q")
    feed = feed_of(timed_store, queue)
    item = enqueue(timed_store, queue)
    running = launch(timed_store, queue, item, "run-a")
    timed_store.fail(item.id, "run", "exit code 2", actor=AGENT, claim=running.claim,
                     exit_code=2)
    failed = feed.read()[-1]
    assert (failed.name, failed.stage, failed.reason, failed.exit_code, failed.message,
            failed.flow_run) == ("failed", "run", "exit code 2", 2, "run: exit code 2",
                                 "run-a")


def test_a_retry_is_queued_a_preemption_preempted_each_with_its_own_flow_run(
        timed_store: QueueStore) -> None:
    queue = make_queue(timed_store, "q", policy={"retry": 1, "retry_on": ["exit:3"]})
    feed = feed_of(timed_store, queue)
    item = enqueue(timed_store, queue)
    first = launch(timed_store, queue, item, "run-a")
    timed_store.fail(item.id, "run", "exit code 3", actor=AGENT, claim=first.claim,
                     failure=run_failure(3, None), exit_code=3)
    second = launch(timed_store, queue, item, "run-b")
    timed_store.preempt(item.id, actor=AGENT, reason="pod evicted", claim=second.claim)
    third = launch(timed_store, queue, item, "run-c")
    timed_store.transition(item.id, "finished", actor=AGENT, claim=third.claim)

    named = [(e.name, e.flow_run, e.message) for e in feed.read()
             if e.name in ("queued", "preempted", "claimed", "finished")]
    assert named == [("queued", None, None), ("claimed", None, None),
                     ("queued", "run-a", "retry 1 of 1 after exit code 3"),
                     ("claimed", None, None), ("preempted", "run-b", "pod evicted"),
                     ("claimed", None, None), ("finished", "run-c", None)]


def test_notes_and_cancel_requests_are_no_events_and_a_queued_cancel_has_no_flow_run(
        timed_store: QueueStore) -> None:
    queue = make_queue(timed_store, "q")
    first, second = enqueue(timed_store, queue), enqueue(timed_store, queue)
    feed = feed_of(timed_store, queue)
    running = launch(timed_store, queue, first, "run-a")
    timed_store.note(first.id, "resource says: pending", actor=AGENT, claim=running.claim)
    timed_store.request_cancel(first.id)  # running: only flagged for its agent
    timed_store.transition(first.id, "cancelled", actor=AGENT, claim=running.claim)
    timed_store.request_cancel(second.id)  # queued: cancelled at once
    assert summary(feed.read()) == [("claimed", "queued", None),
                                    ("submitted", "claimed", "run-a"),
                                    ("running", "submitted", "run-a"),
                                    ("cancelled", "running", "run-a"),
                                    ("cancelled", "queued", None)]


def test_a_feed_reads_only_its_queues_and_nothing_logged_before_it_started(
        timed_store: QueueStore) -> None:
    mine, other = make_queue(timed_store, "mine"), make_queue(timed_store, "other")
    enqueue(timed_store, mine)  # before the feed: its past
    feed = feed_of(timed_store, mine)
    enqueue(timed_store, other)
    late = enqueue(timed_store, mine)
    assert [(e.name, e.item_id) for e in feed.read()] == [("queued", late.id)]


def test_a_small_batch_reads_the_rest_next_time(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store, "q")
    feed = feed_of(timed_store, queue, batch=2)
    items = [enqueue(timed_store, queue) for _ in range(3)]
    first = feed.read()
    assert feed.full and [e.item_id for e in first] == [i.id for i in items[:2]]
    assert [e.item_id for e in feed.read()] == [items[2].id] and not feed.full


def test_published_last_names_only_this_stores_own_events(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store, "q")
    item = enqueue(timed_store, queue)
    [event] = timed_store.events_for(item.id)
    assert published_last(timed_store, {(item.run_id, event.id)}) == event.id
    # Another store's event with the same id has another run id; none at all: None.
    assert published_last(timed_store, {("otherstore12", event.id)}) is None
    assert published_last(timed_store, set()) is None


@pytest.fixture
def pg_store(postgres_url: str) -> Any:
    opened = QueueStore(postgres_url)
    yield opened
    opened.dispose()


def _held_open(store: QueueStore, item: QueueItem, written: threading.Event,
               commit: threading.Event, rollback: bool) -> None:
    """Log a note for ``item`` in a transaction that stays open until ``commit``."""
    with store.engine.connect() as conn:
        transaction = conn.begin()
        store._events(conn, [{"item_id": item.id, "from_state": "queued",
                              "to_state": "cancelled", "actor": "slow writer"}])
        written.set()
        commit.wait(30)
        transaction.rollback() if rollback else transaction.commit()


@pytest.mark.parametrize("rollback", [False, True], ids=["late-commit", "rolled-back"])
def test_a_row_committed_after_a_higher_id_is_still_read_and_a_rolled_back_one_given_up(
        pg_store: QueueStore, rollback: bool) -> None:
    queue = make_queue(pg_store, "q")
    slow = enqueue(pg_store, queue)
    clock = FakeClock(0.0)
    feed = feed_of(pg_store, queue, clock=clock, gap_wait=10.0)
    written, commit = threading.Event(), threading.Event()
    writer = threading.Thread(target=_held_open, args=(pg_store, slow, written, commit,
                                                       rollback))
    writer.start()
    try:
        assert written.wait(30)
        fast = enqueue(pg_store, queue)  # a higher id, committed first
        assert [e.item_id for e in feed.read()] == [fast.id]
        assert len(feed.gaps) == 1
    finally:
        commit.set()
        writer.join(30)
    clock.advance(5.0)
    late = [(e.name, e.item_id, e.actor) for e in feed.read()]
    assert late == ([] if rollback else [("cancelled", slow.id, "slow writer")])
    clock.advance(10.0)
    assert feed.read() == [] and feed.gaps == []  # looked for once more, then given up
