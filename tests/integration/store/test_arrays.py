"""Arrays and groups in the store, on SQLite and PostgreSQL: ``enqueue_array`` writes
one job per index in one new group and one transaction; a group is listed and
cancelled as a whole, within one entity; a sweep's trials join a group one at a time."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from launch_core.errors import InvalidInput, NotFound
from launch_core.store import QueueStore
from launch_core.store.schema import events, item_deps, items
from tests.support.store_helpers import enqueue, make_queue, spec


def counts(store: QueueStore) -> tuple[int, int, int]:
    with store.engine.connect() as conn:
        return tuple(int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                     for t in (items, events, item_deps))  # type: ignore[return-value]


def test_an_array_is_one_job_per_index_in_one_new_group_claimed_in_index_order(
        store: QueueStore) -> None:
    queue = make_queue(store)
    jobs = store.enqueue_array(queue, spec(name="sweep"), range(0, 10, 3))
    assert [job.array_index for job in jobs] == [0, 3, 6, 9]
    assert len({job.group_id for job in jobs}) == 1 and jobs[0].group_id
    assert len({job.run_id for job in jobs}) == 4
    assert {(job.state, job.held, job.spec.name) for job in jobs} == {("queued", False, "sweep")}
    again = store.enqueue_array(queue, spec(), [7])
    assert again[0].group_id != jobs[0].group_id  # each array its own group
    claimed = store.claim("agent-1", [queue.id], limit=10)
    assert [item.array_index for item in claimed] == [0, 3, 6, 9, 7]


@pytest.mark.parametrize("indices, message", [
    ([], "--array: no index given"),
    ([1, 2, 1], "--array: an index is repeated"),
    (range(10_001), "--array: at most 10,000 jobs, not 10,001"),
])
def test_a_bad_array_is_refused_naming_the_flag(store: QueueStore, indices: list[int],
                                                 message: str) -> None:
    queue = make_queue(store)
    with pytest.raises(InvalidInput) as refused:
        store.enqueue_array(queue, spec(), indices)
    assert str(refused.value) == message
    assert counts(store) == (0, 0, 0)


def boom_at_index_5(store: QueueStore) -> None:
    """A trigger failing the transaction when the dependency of index 5 is written:
    after every job and event of the array (and index 0-4's dependencies) were."""
    with store.engine.begin() as conn:
        if store.is_postgres:
            conn.execute(text(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF (SELECT array_index FROM items WHERE id = NEW.item_id) = 5 THEN "
                "RAISE EXCEPTION 'boom at index 5'; END IF; RETURN NEW; END $$"))
            conn.execute(text("CREATE TRIGGER boom BEFORE INSERT ON item_deps "
                              "FOR EACH ROW EXECUTE FUNCTION boom()"))
        else:
            conn.execute(text(
                "CREATE TRIGGER boom BEFORE INSERT ON item_deps WHEN (SELECT array_index "
                "FROM items WHERE id = NEW.item_id) = 5 BEGIN "
                "SELECT RAISE(ABORT, 'boom at index 5'); END"))


def test_an_array_is_all_or_nothing(store: QueueStore) -> None:
    queue = make_queue(store)
    first = enqueue(store, queue)
    before = counts(store)
    boom_at_index_5(store)
    with pytest.raises(DBAPIError, match="boom at index 5"):
        store.enqueue_array(queue, spec(), range(10), after=[first.id])
    assert counts(store) == before
    assert [i.id for i in store.list_items()] == [first.id]


def test_a_group_is_listed_and_cancelled_as_a_whole(store: QueueStore) -> None:
    queue = make_queue(store)
    jobs = store.enqueue_array(queue, spec(), range(4))
    group = jobs[0].group_id
    assert group is not None
    outside = enqueue(store, queue)
    waits = store.enqueue(queue, spec(), after=[jobs[3].id])  # not in the group
    [running] = store.claim("agent-1", [queue.id])  # index 0
    store.transition(running.id, "submitted", actor="agent-1", claim=running.claim,
                     handle={"p": 1})
    listed = store.list_items(entity="team", group=group)
    assert sorted(i.id for i in listed) == [j.id for j in jobs]
    assert store.list_items(entity="elsewhere", group=group) == []

    done = store.cancel_group("team", group)
    assert (done.cancelled, done.requested) == ([j.id for j in jobs[1:]], [jobs[0].id])
    assert [store.get_item(j.id).state for j in jobs[1:]] == ["cancelled"] * 3
    flagged = store.get_item(jobs[0].id)
    assert (flagged.state, flagged.cancel_requested) == ("submitted", True)
    assert store.get_item(outside.id).state == "queued"
    dependent = store.get_item(waits.id)
    assert (dependent.state, dependent.reason) == ("cancelled",
                                                   f"dependency {jobs[3].id} cancelled")
    again = store.cancel_group("team", group)  # nothing left to do
    assert (again.cancelled, again.requested) == ([], [])


def test_a_group_of_another_entity_is_not_found(store: QueueStore) -> None:
    queue = make_queue(store)
    group = store.enqueue_array(queue, spec(), range(2))[0].group_id
    assert group is not None
    with pytest.raises(NotFound, match="^--group: no jobs in group '.*' of entity 'elsewhere'$"):
        store.cancel_group("elsewhere", group)
    with pytest.raises(NotFound):
        store.cancel_group("team", "nosuchgroup")
    assert {i.state for i in store.list_items()} == {"queued"}


def test_a_sweep_adds_its_trials_to_one_group_one_at_a_time(store: QueueStore) -> None:
    queue = make_queue(store)
    trials = [store.enqueue(queue, spec(run_config={"lr": lr}), group="sweep-abc")
              for lr in (0.1, 0.01)]
    assert {t.group_id for t in trials} == {"sweep-abc"}
    assert {t.array_index for t in trials} == {None}
    assert sorted(i.id for i in store.list_items(group="sweep-abc")) == [t.id for t in trials]
