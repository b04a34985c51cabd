"""Fencing: an agent writes to an item only while it holds it under the same claim."""

from __future__ import annotations

import pytest

from launch_core.errors import IllegalTransition, LostClaim
from launch_core.store import QueueItem, QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue


def swept_and_reclaimed(store: QueueStore, clock: FakeClock, state: str = "claimed"
                        ) -> tuple[QueueItem, QueueItem]:
    """Agent A claims an item (and moves it to ``state``); its lease is swept; agent
    B claims it. Returns (A's view, B's view)."""
    queue = make_queue(store)
    enqueue(store, queue)
    [stale] = store.claim("agent-a", [queue.id], lease_seconds=5)
    if state == "building":
        stale = store.transition(stale.id, "building", actor="agent-a", claim=stale.claim)
    clock.advance(6)
    assert store.sweep_expired().requeued == [stale.id]
    [fresh] = store.claim("agent-b", [queue.id], lease_seconds=5)
    assert fresh.id == stale.id and fresh.claim_token == stale.claim_token + 1
    return stale, fresh


@pytest.mark.parametrize("first_state", ["claimed", "building"])
@pytest.mark.parametrize("target", ["building", "submitted", "running", "finished", "failed",
                                    "cancelled"])
def test_a_swept_agent_cannot_move_the_item_another_agent_holds(
        timed_store: QueueStore, clock: FakeClock, first_state: str, target: str) -> None:
    stale, fresh = swept_and_reclaimed(timed_store, clock, first_state)
    with pytest.raises(LostClaim):
        timed_store.transition(stale.id, target, actor="agent-a", claim=stale.claim)
    assert timed_store.get_item(stale.id) == fresh
    # B's own writes go through
    timed_store.transition(fresh.id, "building", actor="agent-b", claim=fresh.claim)
    timed_store.transition(fresh.id, "submitted", actor="agent-b", claim=fresh.claim)
    events = timed_store.events_for(fresh.id)
    assert [e.to_state for e in events if e.actor == "agent-a"] == (
        ["claimed", "building"] if first_state == "building" else ["claimed"])
    assert sum(e.to_state == "submitted" for e in events) == 1


def test_a_swept_agents_note_fail_and_preempt_are_refused(
        timed_store: QueueStore, clock: FakeClock) -> None:
    stale, fresh = swept_and_reclaimed(timed_store, clock)
    before = timed_store.events_for(stale.id)
    with pytest.raises(LostClaim):
        timed_store.note(stale.id, "built image x", actor="agent-a", claim=stale.claim)
    with pytest.raises(LostClaim):
        timed_store.fail(stale.id, "build", "boom", actor="agent-a", claim=stale.claim)
    with pytest.raises(LostClaim):
        timed_store.preempt(stale.id, actor="agent-a", claim=stale.claim)
    assert timed_store.events_for(stale.id) == before
    assert timed_store.get_item(stale.id) == fresh


def test_a_swept_agents_renewal_reports_the_item_lost_and_extends_nothing(
        timed_store: QueueStore, clock: FakeClock) -> None:
    stale, fresh = swept_and_reclaimed(timed_store, clock)
    result = timed_store.renew_leases("agent-a", {stale.id: stale.claim_token},
                                      lease_seconds=60)
    assert (result.renewed, result.lost) == ([], [stale.id])
    assert timed_store.get_item(stale.id).lease_expires_at == fresh.lease_expires_at
    # the same agent id with a stale token is refused too (it claimed it again later)
    assert timed_store.renew_leases("agent-b", {fresh.id: stale.claim_token}).lost == [fresh.id]
    assert timed_store.renew_leases("agent-b", {fresh.id: fresh.claim_token}).renewed == [
        fresh.id]


def test_a_swept_agents_release_leaves_the_new_holders_item_alone(
        timed_store: QueueStore, clock: FakeClock) -> None:
    stale, fresh = swept_and_reclaimed(timed_store, clock)
    assert timed_store.release("agent-a") == []
    assert timed_store.get_item(stale.id) == fresh


def test_readoption_takes_a_new_claim_that_fences_the_previous_holder(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    enqueue(timed_store, queue)
    [item] = timed_store.claim("agent-a", [queue.id], lease_seconds=5)
    item = timed_store.transition(item.id, "submitted", actor="agent-a", claim=item.claim,
                                  handle={"pid": 1})
    clock.advance(6)
    assert timed_store.sweep_expired().orphaned == [item.id]
    with pytest.raises(LostClaim):  # orphaned: nobody holds it
        timed_store.transition(item.id, "running", actor="agent-a", claim=item.claim)
    [adopted] = timed_store.adopt("agent-a", [queue.id], lease_seconds=5)
    assert adopted.claim_token == item.claim_token + 1
    with pytest.raises(LostClaim):  # the same agent, but its old claim
        timed_store.transition(item.id, "finished", actor="agent-a", claim=item.claim)
    finished = timed_store.transition(item.id, "finished", actor="agent-a",
                                      claim=adopted.claim)
    assert finished.state == "finished"


def test_claim_item_claims_one_queued_item_by_id(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    claimed = timed_store.claim_item(item.id, "cli-1", lease_seconds=30)
    assert (claimed.state, claimed.agent_id, claimed.claim_token) == ("claimed", "cli-1", 1)
    assert timed_store.claim("agent-a", [queue.id]) == []


def test_give_back_requeues_with_one_more_attempt_and_fails_past_max_attempts(
        timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    for attempt in (1, 2):
        [claimed] = timed_store.claim("agent-a", [queue.id])
        back = timed_store.give_back(item.id, claimed.claim, "launch failed: boom")
        assert (back.state, back.attempts, back.agent_id) == ("queued", attempt, None)
    [claimed] = timed_store.claim("agent-a", [queue.id])
    ended = timed_store.give_back(item.id, claimed.claim, "launch failed: boom")
    assert (ended.state, ended.stage) == ("failed", "agent")
    assert ended.reason == "not launched after 3 attempts; last: launch failed: boom"


def test_give_back_is_fenced_and_leaves_submitted_items_alone(
        timed_store: QueueStore, clock: FakeClock) -> None:
    stale, fresh = swept_and_reclaimed(timed_store, clock)
    with pytest.raises(LostClaim):
        timed_store.give_back(stale.id, stale.claim, "launch failed")
    submitted = timed_store.transition(fresh.id, "submitted", actor="agent-b",
                                       claim=fresh.claim, handle={"pid": 1})
    with pytest.raises(IllegalTransition):
        timed_store.give_back(fresh.id, fresh.claim, "launch failed")
    assert timed_store.get_item(fresh.id) == submitted
