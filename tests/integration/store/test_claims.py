"""The claim protocol: claim order, leases, the expiry sweep, re-adoption, release."""

from __future__ import annotations

import pytest

from launch_core.store import QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue, spec


def ids(items: list) -> list[int]:
    return [item.id for item in items]


def test_claim_takes_higher_priority_first(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store, "q", prioritization=True)
    low = enqueue(timed_store, queue, priority="low")
    medium = enqueue(timed_store, queue, priority="medium")
    critical = enqueue(timed_store, queue, priority="critical")
    high = enqueue(timed_store, queue, priority="high")
    order = [timed_store.claim("a", [queue.id])[0].id for _ in range(4)]
    assert order == [critical.id, high.id, medium.id, low.id]


def test_claim_is_fifo_by_enqueue_time_within_a_priority(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    first = enqueue(timed_store, queue)
    clock.advance(10)
    second = enqueue(timed_store, queue)
    clock.advance(-5)  # enqueued later in id order, earlier in time
    between = enqueue(timed_store, queue)
    assert between.id > second.id
    assert ids(timed_store.claim("a", [queue.id], limit=3)) == [first.id, between.id,
                                                                 second.id]


def test_claim_breaks_enqueue_time_ties_by_id(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    items = [enqueue(timed_store, queue) for _ in range(5)]  # all at the same instant
    assert len({item.enqueued_at for item in items}) == 1
    assert [timed_store.claim("a", [queue.id])[0].id for _ in items] == ids(items)


def test_items_of_a_queue_without_prioritization_count_as_medium(
        timed_store: QueueStore, clock: FakeClock) -> None:
    plain = make_queue(timed_store, "plain")
    ranked = make_queue(timed_store, "ranked", prioritization=True)
    plain_critical = enqueue(timed_store, plain, priority="critical")
    clock.advance(1)
    ranked_high = enqueue(timed_store, ranked, priority="high")
    ranked_medium = enqueue(timed_store, ranked, priority="medium")
    ranked_low = enqueue(timed_store, ranked, priority="low")
    assert plain_critical.priority == 2
    assert plain_critical.priority_name == "medium"
    assert ranked_high.priority == 1
    claimed = timed_store.claim("a", [plain.id, ranked.id], limit=4)
    # high first; then the two mediums by enqueue time (plain's was earlier); low last
    assert ids(claimed) == [ranked_high.id, plain_critical.id, ranked_medium.id,
                            ranked_low.id]


def test_claim_takes_from_several_queues_and_only_those(
        timed_store: QueueStore, clock: FakeClock) -> None:
    a, b, c = (make_queue(timed_store, name) for name in "abc")
    in_a = enqueue(timed_store, a)
    clock.advance(1)
    in_c = enqueue(timed_store, c)
    clock.advance(1)
    in_b = enqueue(timed_store, b)
    claimed = timed_store.claim("agent", [a.id, b.id], limit=10)
    assert ids(claimed) == [in_a.id, in_b.id]
    assert timed_store.get_item(in_c.id).state == "queued"
    assert timed_store.claim("agent", [a.id, b.id]) == []


def test_claim_returns_at_most_limit_items_in_claim_order(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    items = [enqueue(timed_store, queue) for _ in range(5)]
    assert ids(timed_store.claim("a", [queue.id], limit=3)) == ids(items[:3])
    assert ids(timed_store.claim("a", [queue.id], limit=3)) == ids(items[3:])
    assert timed_store.claim("a", [queue.id], limit=3) == []


@pytest.mark.parametrize(("limit", "use_queue"), [(0, True), (-1, True), (1, False)])
def test_claim_with_nothing_to_ask_for_claims_nothing(
        timed_store: QueueStore, limit: int, use_queue: bool) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    assert timed_store.claim("a", [queue.id] if use_queue else [], limit=limit) == []
    assert timed_store.get_item(item.id).state == "queued"


def test_claim_sets_agent_lease_and_writes_one_event(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    clock.advance(7)
    [claimed] = timed_store.claim("agent-7", [queue.id], lease_seconds=45)
    assert claimed.id == item.id
    assert claimed.state == "claimed"
    assert claimed.agent_id == "agent-7"
    assert claimed.lease_expires_at == clock.now + 45
    assert timed_store.get_item(item.id) == claimed
    events = timed_store.events_for(item.id)
    assert [(e.from_state, e.to_state, e.actor) for e in events] == [
        (None, "queued", "user"), ("queued", "claimed", "agent-7")]


def test_claim_never_returns_an_item_twice(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    items = [enqueue(timed_store, queue) for _ in range(12)]
    seen: list[int] = []
    for n in range(10):
        got = timed_store.claim(f"agent-{n % 3}", [queue.id], limit=(n % 3) + 1)
        if not got:
            break
        seen.extend(ids(got))
    assert sorted(seen) == ids(items)
    assert len(seen) == len(set(seen))
    assert timed_store.claim("late", [queue.id], limit=100) == []


def held(items: list) -> dict[int, int]:
    return {item.id: item.claim_token for item in items}


def test_renew_leases_extends_only_the_agents_active_items(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    mine1, mine2, done, theirs = (enqueue(timed_store, queue) for _ in range(4))
    mine = timed_store.claim("me", [queue.id], limit=3, lease_seconds=10)
    their_claim = timed_store.claim("them", [queue.id], lease_seconds=10)
    timed_store.transition(mine2.id, "submitted", actor="me")
    timed_store.transition(done.id, "failed", actor="me")
    clock.advance(8)
    # "me" also names the other agent's item: that is not renewed, it is not "me"'s
    result = timed_store.renew_leases("me", held(mine + their_claim), lease_seconds=60)
    assert result.renewed == [mine1.id, mine2.id]
    # done ended under "me"'s claim (its pipeline may still be reporting): not lost
    assert (result.lost, result.ended) == ([theirs.id], [done.id])
    for item_id in (mine1.id, mine2.id):
        assert timed_store.get_item(item_id).lease_expires_at == clock.now + 60
    assert timed_store.get_item(theirs.id).lease_expires_at == clock.now - 8 + 10
    assert timed_store.get_item(done.id).lease_expires_at is None
    assert timed_store.renew_leases("nobody", {}).renewed == []


def test_renew_leases_limited_to_given_items_lets_the_others_expire(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    watched, orphan = (enqueue(timed_store, queue) for _ in range(2))
    claimed = timed_store.claim("me", [queue.id], limit=2, lease_seconds=10)
    timed_store.transition(orphan.id, "submitted", actor="me")
    clock.advance(8)
    result = timed_store.renew_leases("me", held(claimed[:1]), lease_seconds=60)
    assert result.renewed == [watched.id]
    clock.advance(5)
    swept = timed_store.sweep_expired()
    assert swept.orphaned == [orphan.id] and swept.requeued == []
    assert timed_store.get_item(orphan.id).agent_id is None


def test_sweep_leaves_items_whose_lease_has_not_expired(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    [claimed] = timed_store.claim("a", [queue.id], lease_seconds=60)
    result = timed_store.sweep_expired(now=claimed.lease_expires_at)
    assert (result.requeued, result.failed, result.orphaned, result.cancelled) == (
        [], [], [], [])
    assert timed_store.get_item(item.id) == claimed


def test_sweep_after_renewal_keeps_the_item(timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    claimed = timed_store.claim("a", [queue.id], lease_seconds=60)
    clock.advance(50)
    timed_store.renew_leases("a", held(claimed), lease_seconds=60)
    assert timed_store.sweep_expired(now=clock.now + 30).requeued == []
    assert timed_store.get_item(item.id).state == "claimed"


@pytest.mark.parametrize("state", ["claimed", "building"])
def test_sweep_requeues_an_unsubmitted_item_with_one_more_attempt(
        timed_store: QueueStore, clock: FakeClock, state: str) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    timed_store.claim("lost-agent", [queue.id], lease_seconds=60)
    if state == "building":
        timed_store.transition(item.id, "building", actor="lost-agent")
    result = timed_store.sweep_expired(now=clock.now + 61)
    assert result.requeued == [item.id]
    swept = timed_store.get_item(item.id)
    # Only a launch that had started (building) counts: a claimed item's agent may have
    # died of anything.
    counted = 1 if state == "building" else 0
    assert (swept.state, swept.attempts, swept.agent_id, swept.lease_expires_at) == (
        "queued", counted, None, None)
    last = timed_store.events_for(item.id)[-1]
    assert (last.from_state, last.to_state, last.actor) == (state, "queued", "sweeper")
    assert "lost-agent" in (last.message or "")
    assert ids(timed_store.claim("new-agent", [queue.id])) == [item.id]


def test_sweep_fails_an_item_once_it_has_used_max_attempts(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    item = timed_store.enqueue(queue, spec(), max_attempts=3)
    for attempt in (1, 2):
        timed_store.claim("a", [queue.id], lease_seconds=10)
        timed_store.transition(item.id, "building", actor="a")
        clock.advance(11)
        assert timed_store.sweep_expired().requeued == [item.id]
        assert timed_store.get_item(item.id).attempts == attempt
    timed_store.claim("a", [queue.id], lease_seconds=10)
    timed_store.transition(item.id, "building", actor="a")
    clock.advance(11)
    result = timed_store.sweep_expired()
    assert (result.requeued, result.failed) == ([], [item.id])
    failed = timed_store.get_item(item.id)
    assert (failed.state, failed.stage, failed.attempts) == ("failed", "agent", 3)
    assert failed.finished_at == clock.now
    assert failed.reason and "\n" not in failed.reason
    assert timed_store.claim("a", [queue.id]) == []


@pytest.mark.parametrize("state", ["submitted", "running"])
def test_sweep_makes_a_launched_item_re_adoptable_without_requeueing_it(
        timed_store: QueueStore, clock: FakeClock, state: str) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    timed_store.claim("lost-agent", [queue.id], lease_seconds=10)
    timed_store.transition(item.id, "submitted", actor="lost-agent", handle={"pid": 4242})
    if state == "running":
        timed_store.transition(item.id, "running", actor="lost-agent")
    clock.advance(11)
    result = timed_store.sweep_expired()
    assert (result.orphaned, result.requeued, result.failed) == ([item.id], [], [])
    orphan = timed_store.get_item(item.id)
    assert (orphan.state, orphan.agent_id, orphan.attempts) == (state, None, 0)
    assert orphan.handle == {"pid": 4242}
    assert timed_store.claim("other", [queue.id]) == []  # never submitted twice
    assert timed_store.sweep_expired(now=clock.now + 1000).orphaned == []


def test_adopt_takes_each_orphan_once(timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    other = make_queue(timed_store, "other")
    first, second = enqueue(timed_store, queue), enqueue(timed_store, queue)
    elsewhere = enqueue(timed_store, other)
    timed_store.claim("lost", [queue.id, other.id], limit=3, lease_seconds=10)
    for item in (first, second, elsewhere):
        timed_store.transition(item.id, "submitted", actor="lost", handle={"pid": item.id})
    clock.advance(11)
    assert sorted(timed_store.sweep_expired().orphaned) == ids([first, second, elsewhere])
    [adopted] = timed_store.adopt("heir-1", [queue.id], lease_seconds=30)
    assert adopted.id == first.id
    assert (adopted.agent_id, adopted.lease_expires_at) == ("heir-1", clock.now + 30)
    assert adopted.handle == {"pid": first.id}
    assert ids(timed_store.adopt("heir-2", [queue.id], limit=5)) == [second.id]
    assert timed_store.adopt("heir-3", [queue.id], limit=5) == []
    assert timed_store.get_item(elsewhere.id).agent_id is None
    last = timed_store.events_for(first.id)[-1]
    assert (last.from_state, last.to_state, last.actor) == ("submitted", "submitted", "heir-1")


def test_adopt_does_not_take_items_whose_agent_is_alive(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    timed_store.claim("alive", [queue.id])
    timed_store.transition(item.id, "submitted", actor="alive")
    assert timed_store.adopt("thief", [queue.id]) == []
    assert timed_store.get_item(item.id).agent_id == "alive"


def test_sweep_cancels_an_unsubmitted_item_whose_cancel_was_requested(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    timed_store.claim("lost", [queue.id], lease_seconds=10)
    timed_store.request_cancel(item.id)
    clock.advance(11)
    result = timed_store.sweep_expired()
    assert (result.cancelled, result.requeued) == ([item.id], [])
    cancelled = timed_store.get_item(item.id)
    assert (cancelled.state, cancelled.agent_id) == ("cancelled", None)
    assert cancelled.finished_at == clock.now
    assert timed_store.claim("a", [queue.id]) == []


def test_release_requeues_unsubmitted_items_without_counting_an_attempt(
        timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    claimed, building, launched, theirs = (enqueue(timed_store, queue) for _ in range(4))
    timed_store.claim("leaving", [queue.id], limit=3)
    timed_store.claim("staying", [queue.id])
    timed_store.transition(building.id, "building", actor="leaving")
    timed_store.transition(launched.id, "submitted", actor="leaving")
    released = timed_store.release("leaving")
    assert sorted(released) == ids([claimed, building, launched])
    for item_id in (claimed.id, building.id):
        item = timed_store.get_item(item_id)
        assert (item.state, item.agent_id, item.attempts, item.lease_expires_at) == (
            "queued", None, 0, None)
    orphan = timed_store.get_item(launched.id)
    assert (orphan.state, orphan.agent_id) == ("submitted", None)
    assert timed_store.get_item(theirs.id).agent_id == "staying"
    assert ids(timed_store.adopt("heir", [queue.id])) == [launched.id]
    assert ids(timed_store.claim("next", [queue.id], limit=5)) == [claimed.id, building.id]
    assert timed_store.release("nobody") == []


def test_release_does_not_requeue_an_item_whose_cancel_was_requested(
        timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    item = enqueue(timed_store, queue)
    timed_store.claim("leaving", [queue.id])
    timed_store.request_cancel(item.id)
    timed_store.release("leaving")
    assert timed_store.get_item(item.id).state == "cancelled"
    assert timed_store.claim("next", [queue.id]) == []


def test_agents_lost_while_an_item_is_only_claimed_never_use_up_its_attempts(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    item = timed_store.enqueue(queue, spec(), max_attempts=3)
    for _ in range(5):  # more agent losses than attempts
        timed_store.claim("a", [queue.id], lease_seconds=10)
        clock.advance(11)
        assert timed_store.sweep_expired().requeued == [item.id]
    swept = timed_store.get_item(item.id)
    assert (swept.state, swept.attempts) == ("queued", 0)
    assert "not counted as an attempt" in (timed_store.events_for(item.id)[-1].message or "")
