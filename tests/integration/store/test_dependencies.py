"""Dependencies (``launch --after``) in the store, on SQLite and PostgreSQL: a job
waiting for others is held (still ``queued``) and never claimed until they have all
finished; it ends ``cancelled``, naming the dependency, when one fails or is
cancelled; and it is never left held by a race between its dependencies' ends, its
own enqueue, and claims."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from launch_core.errors import Conflict, InvalidInput
from launch_core.spec.failure_class import run_failure
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.schema import item_deps, items
from tests.support.store_helpers import FakeClock, enqueue, make_queue, spec


def started(store: QueueStore, item_id: int, agent: str = "agent-1") -> QueueItem:
    """The item claimed by ``agent`` and running."""
    claimed = store.claim_item(item_id, agent)
    store.transition(item_id, "submitted", actor=agent, claim=claimed.claim, handle={"p": 1})
    return store.transition(item_id, "running", actor=agent, claim=claimed.claim)


def finish(store: QueueStore, item_id: int) -> QueueItem:
    item = started(store, item_id)
    return store.transition(item_id, "finished", actor="agent-1", claim=item.claim)


def fail(store: QueueStore, item_id: int, code: int = 1) -> QueueItem:
    item = started(store, item_id)
    return store.fail(item_id, "run", f"exit code {code}", actor="agent-1", claim=item.claim,
                      failure=run_failure(code, None, f"exit code {code}"), exit_code=code)


def claimed_ids(store: QueueStore, queue: QueueRecord) -> list[int]:
    return [item.id for item in store.claim("agent-2", [queue.id], limit=100)]


def test_a_job_after_another_is_held_until_it_finishes(store: QueueStore) -> None:
    queue = make_queue(store)
    first = enqueue(store, queue)
    second = store.enqueue(queue, spec(), after=[first.id])
    assert (second.state, second.held) == ("queued", True)
    assert store.position(second) is None
    assert store.dependencies(second.id) == [(first.id, "queued")]

    item = started(store, first.id)
    assert claimed_ids(store, queue) == []  # the only queued job waits
    store.transition(first.id, "finished", actor="agent-1", claim=item.claim)
    released = store.get_item(second.id)
    assert (released.state, released.held) == ("queued", False)
    assert store.position(released) == 1
    assert store.events_for(second.id)[-1].message == "dependencies finished"
    assert claimed_ids(store, queue) == [second.id]


def test_a_job_waits_for_every_job_it_names(store: QueueStore) -> None:
    queue = make_queue(store)
    a, b = enqueue(store, queue), enqueue(store, queue)
    both = store.enqueue(queue, spec(), after=[a.id, b.id])
    finish(store, b.id)
    assert store.get_item(both.id).held
    assert claimed_ids(store, queue) == [a.id]  # a is the claimable one, not both
    store.transition(a.id, "submitted", actor="agent-2",
                     claim=store.get_item(a.id).claim, handle={"p": 2})
    store.transition(a.id, "finished", actor="agent-2", claim=store.get_item(a.id).claim)
    assert claimed_ids(store, queue) == [both.id]


def test_a_failed_dependency_cancels_the_chain_naming_each_link(store: QueueStore) -> None:
    queue = make_queue(store)
    first = enqueue(store, queue)
    second = store.enqueue(queue, spec(), after=[first.id])
    third = store.enqueue(queue, spec(), after=[second.id])
    other = enqueue(store, queue)  # waits for nothing: untouched
    fail(store, first.id)
    for item, reason in ((second, f"dependency {first.id} failed"),
                         (third, f"dependency {second.id} cancelled")):
        ended = store.get_item(item.id)
        assert (ended.state, ended.reason) == ("cancelled", reason)
        assert ended.finished_at is not None
        last = store.events_for(item.id)[-1]
        assert (last.from_state, last.to_state, last.message) == ("queued", "cancelled", reason)
    assert store.get_item(other.id).state == "queued"
    assert claimed_ids(store, queue) == [other.id]


def test_a_cancelled_dependency_cancels_the_jobs_waiting_for_it(store: QueueStore) -> None:
    queue = make_queue(store)
    first = enqueue(store, queue)
    waiting = store.enqueue_array(queue, spec(), range(3), after=[first.id])
    store.request_cancel(first.id)
    assert {(i.state, i.reason) for i in map(store.get_item, [w.id for w in waiting])} == {
        ("cancelled", f"dependency {first.id} cancelled")}


def test_a_dependency_its_queue_retries_is_still_waited_for(store: QueueStore) -> None:
    queue = make_queue(store, policy={"retry": 1, "retry_on": ["exit:3"]})
    first = enqueue(store, queue)
    second = store.enqueue(queue, spec(), after=[first.id])
    again = fail(store, first.id, code=3)
    assert again.state == "queued"  # retried: not an end
    assert (store.get_item(second.id).state, store.get_item(second.id).held) == ("queued", True)
    finish(store, first.id)
    assert not store.get_item(second.id).held


def test_waiting_for_ended_jobs_at_enqueue(store: QueueStore) -> None:
    queue = make_queue(store)
    done, failed = enqueue(store, queue), enqueue(store, queue)
    finish(store, done.id)
    fail(store, failed.id)
    ready = store.enqueue(queue, spec(), after=[done.id])
    assert (ready.state, ready.held) == ("queued", False)
    doomed = store.enqueue_array(queue, spec(), range(2), after=[done.id, failed.id])
    assert [(i.state, i.reason) for i in doomed] == [
        ("cancelled", f"dependency {failed.id} failed")] * 2
    assert claimed_ids(store, queue) == [ready.id]


def count(store: QueueStore, table: Any) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


@pytest.mark.parametrize("after, message", [
    ([999], "--after: job 999 not found"),
    ([2**63], f"--after: job {2**63} not found"),
    (["other"], "--after: job {other} is not a job of entity 'team'"),
])
def test_an_unknown_or_foreign_dependency_is_refused_and_nothing_is_written(
        store: QueueStore, after: list[Any], message: str) -> None:
    queue = make_queue(store)
    foreign = make_queue(store, "q", entity="elsewhere")
    other = enqueue(store, foreign)
    after = [other.id if a == "other" else a for a in after]
    before = (count(store, items), count(store, item_deps))
    with pytest.raises(InvalidInput) as refused:
        store.enqueue_array(queue, spec(), range(3), after=after)
    assert str(refused.value) == message.format(other=other.id)
    assert (count(store, items), count(store, item_deps)) == before


def test_a_dependency_can_only_be_older_so_there_is_no_cycle(store: QueueStore) -> None:
    """The table refuses a row where a job would wait for a newer one (what a cycle
    needs), whoever writes it."""
    queue = make_queue(store)
    older, newer = enqueue(store, queue), enqueue(store, queue)
    with pytest.raises(IntegrityError, match="ck_item_deps_older"), \
            store.engine.begin() as conn:
        conn.execute(item_deps.insert().values(item_id=older.id, after_id=newer.id))


def test_the_scheduled_claim_never_takes_a_held_job(store: QueueStore) -> None:
    queue = make_queue(store, policy={"max_running": 5, "fair_share": "user"})
    first = enqueue(store, queue)
    held = store.enqueue(queue, spec(), after=[first.id])
    free = enqueue(store, queue)
    assert sorted(claimed_ids(store, queue)) == [first.id, free.id]
    assert store.get_item(held.id).state == "queued"


def test_a_job_run_directly_by_id_is_refused_while_held(store: QueueStore) -> None:
    queue = make_queue(store)
    first = enqueue(store, queue)
    held = store.enqueue(queue, spec(), after=[first.id])
    with pytest.raises(Conflict, match="waits for its dependencies"):
        store.claim_item(held.id, "cli")


def test_a_held_job_waits_past_max_pending_and_its_clock_starts_at_release(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store, policy={"max_pending": 60})
    first = enqueue(timed_store, queue)
    held = timed_store.enqueue(queue, spec(), after=[first.id])
    item = started(timed_store, first.id)
    clock.advance(600)
    assert timed_store.expire_pending([queue.id], actor="agent-1").failed == []
    timed_store.transition(first.id, "finished", actor="agent-1", claim=item.claim)
    clock.advance(30)
    assert timed_store.expire_pending([queue.id], actor="agent-1").failed == []
    clock.advance(31)
    assert timed_store.expire_pending([queue.id], actor="agent-1").failed == [held.id]


def test_deleting_a_queue_cancels_the_jobs_elsewhere_that_wait_for_its_jobs(
        store: QueueStore) -> None:
    doomed, kept = make_queue(store, "doomed"), make_queue(store, "kept")
    first = enqueue(store, doomed)
    waiting = store.enqueue(kept, spec(), after=[first.id])
    store.delete_queue("team", "doomed", force=True)
    ended = store.get_item(waiting.id)
    assert (ended.state, ended.reason) == ("cancelled", f"dependency {first.id} deleted")


def at_once(*actions: Callable[[], Any]) -> list[BaseException]:
    """Run ``actions`` in threads released together; the errors they raised."""
    gate = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def run(action: Callable[[], Any]) -> None:
        try:
            gate.wait(timeout=30)
            action()
        except BaseException as exc:  # reported to the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an action never returned"
    return errors


ROUNDS = 15


def test_two_dependencies_ending_at_once_always_release_their_job(store_url: str) -> None:
    """Each ending transaction reads the other dependency's state: without the lock on
    the waiting job, each could see the other unfinished and leave it held."""
    stores = [QueueStore(store_url) for _ in range(2)]
    try:
        queue = make_queue(stores[0])
        for _ in range(ROUNDS):
            a, b = enqueue(stores[0], queue), enqueue(stores[0], queue)
            waiting = stores[0].enqueue(queue, spec(), after=[a.id, b.id])
            running = [started(stores[0], a.id, "agent-a"), started(stores[0], b.id, "agent-b")]
            errors = at_once(*[
                lambda s=s, i=i: s.transition(i.id, "finished", actor=i.agent_id or "",
                                              claim=i.claim)
                for s, i in zip(stores, running, strict=True)])
            assert errors == []
            assert not stores[0].get_item(waiting.id).held, "left held by the race"
    finally:
        for opened in stores:
            opened.dispose()


@pytest.mark.parametrize("outcome", ["finished", "failed"])
def test_an_enqueue_racing_its_dependencys_end_never_stays_held(
        store_url: str, outcome: str) -> None:
    stores = [QueueStore(store_url) for _ in range(2)]
    try:
        queue = make_queue(stores[0])
        for _ in range(ROUNDS):
            dep = started(stores[0], enqueue(stores[0], queue).id)
            made: list[QueueItem] = []

            def end(dep: QueueItem = dep) -> None:
                if outcome == "finished":
                    stores[0].transition(dep.id, "finished", actor="agent-1", claim=dep.claim)
                else:
                    stores[0].fail(dep.id, "run", "exit code 1", actor="agent-1",
                                   claim=dep.claim)

            def wait(dep: QueueItem = dep, made: list[QueueItem] = made) -> None:
                made.append(stores[1].enqueue(queue, spec(), after=[dep.id]))

            errors = at_once(end, wait)
            assert errors == []
            item = stores[0].get_item(made[0].id)
            if outcome == "finished":
                assert (item.state, item.held) == ("queued", False)
            else:
                assert (item.state, item.reason) == ("cancelled", f"dependency {dep.id} failed")
    finally:
        for opened in stores:
            opened.dispose()


def test_agents_claiming_while_dependencies_end_take_each_job_once_and_only_after(
        store_url: str) -> None:
    """Two agents claim in a loop while a third store finishes the dependencies of 20
    held jobs: each is claimed exactly once, and never before its dependency ended."""
    setup = QueueStore(store_url)
    agents = [QueueStore(store_url) for _ in range(2)]
    try:
        queue = make_queue(setup)
        deps = [started(setup, enqueue(setup, queue).id) for _ in range(20)]
        waiting = {setup.enqueue(queue, spec(), after=[d.id]).id: d.id for d in deps}
        taken: list[list[int]] = [[], []]
        done = threading.Event()

        def claimer(n: int) -> Callable[[], None]:
            def run() -> None:
                deadline = time.monotonic() + 60
                while (not done.is_set() or len(taken[0]) + len(taken[1]) < len(waiting)) \
                        and time.monotonic() < deadline:
                    taken[n].extend(i.id for i in agents[n].claim(f"claimer-{n}", [queue.id]))
            return run

        def finisher() -> None:
            for dep in deps:
                setup.transition(dep.id, "finished", actor="agent-1", claim=dep.claim)
            done.set()

        assert at_once(claimer(0), claimer(1), finisher) == []
        claims = taken[0] + taken[1]
        assert sorted(claims) == sorted(waiting)
        for item_id, dep_id in waiting.items():
            ended = next(e for e in setup.events_for(dep_id) if e.to_state == "finished")
            claim = [e for e in setup.events_for(item_id) if e.to_state == "claimed"]
            assert len(claim) == 1 and claim[0].id > ended.id
    finally:
        setup.dispose()
        for opened in agents:
            opened.dispose()
