"""The events audit finds what exactly-once forbids (and nothing in a sound history)."""

from __future__ import annotations

import time

from sqlalchemy import insert

from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from launch_core.store.audit import audit_store
from launch_core.store.schema import events
from tests.support.store_helpers import make_queue


def _claimed(store: QueueStore):  # type: ignore[no-untyped-def]
    queue = make_queue(store)
    store.enqueue(queue, LaunchSpec(image="img"))
    agent = store.register_agent("team", ["q"], 1)
    return store.claim(agent.id, [queue.id])[0], agent


def _event(store: QueueStore, item_id: int, before: str, after: str) -> None:
    with store._write() as conn:
        conn.execute(insert(events), [{"item_id": item_id, "from_state": before,
                                       "to_state": after, "actor": "x", "at": time.time()}])


def test_a_sound_history_has_no_problems(store: QueueStore) -> None:
    item, agent = _claimed(store)
    store.transition(item.id, "submitted", actor=agent.id, claim=item.claim, handle={"a": 1})
    store.transition(item.id, "finished", actor=agent.id, claim=item.claim)
    report = audit_store(store, live_after=0)
    assert report.problems == [] and report.items == 1 and report.events == 4


def test_two_submissions_of_one_run_and_a_move_out_of_a_final_state_are_found(
        store: QueueStore) -> None:
    item, agent = _claimed(store)
    store.transition(item.id, "submitted", actor=agent.id, claim=item.claim, handle={"a": 1})
    _event(store, item.id, "running", "submitted")
    _event(store, item.id, "finished", "running")
    report = audit_store(store)
    assert report.resubmitted == [f"item {item.id}: 2 submitted events for 1 run(s)"]
    assert report.out_of_final == [f"item {item.id}: finished -> running"]
    assert len(report.illegal) == 1  # running -> submitted is not a lifecycle move


def test_notes_on_a_submitted_item_are_not_submissions(store: QueueStore) -> None:
    item, agent = _claimed(store)
    store.transition(item.id, "submitted", actor=agent.id, claim=item.claim, handle={"a": 1})
    for _ in range(3):
        _event(store, item.id, "submitted", "submitted")  # "re-adopted", lease notes...
    assert audit_store(store).problems == []


def test_an_active_item_held_by_a_dead_agent_is_found(store: QueueStore) -> None:
    item, agent = _claimed(store)
    assert audit_store(store, live_after=0).dead_holders == []
    report = audit_store(store, live_after=time.time() + 60)  # its heartbeat is older
    assert report.dead_holders == [f"item {item.id}: claimed, held by {agent.id} (not alive)"]
