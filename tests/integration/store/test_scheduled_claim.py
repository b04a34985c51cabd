"""The scheduled claim on SQLite and PostgreSQL: caps, fair share, quotas, GPU slots,
and why an item waits."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, update

from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.scheduled_claim import GpuSlots
from launch_core.store.schema import agents, items
from tests.support.store_helpers import make_queue, spec


@pytest.fixture
def store(timed_store: QueueStore) -> QueueStore:
    """The store on SQLite and on PostgreSQL."""
    return timed_store


def enqueue(store: QueueStore, queue: QueueRecord, *, project: str = "", user: str = "",
            gpus: int = 0) -> QueueItem:
    """Enqueue one image job; the submitter (the database's or OS user) is set to
    ``user`` afterwards, as a second role would have enqueued it."""
    item = store.enqueue(queue, spec(project=project) if project else spec(), gpus=gpus)
    if user:
        with store.engine.begin() as conn:
            conn.execute(update(items).where(items.c.id == item.id).values(submitter=user))
    return store.get_item(item.id)


def finish(store: QueueStore, item: QueueItem) -> None:
    store.transition(item.id, "failed", actor=item.agent_id or "t", claim=item.claim,
                     stage="run", reason="done")


def test_fair_share_by_project_within_a_cap(store: QueueStore):
    """12 jobs of project a, then 3 of b; --fair-share project --max-running 2; one agent
    with four slots: b's jobs start among the first 6, never more than 2 run."""
    queue = make_queue(store, policy={"max_running": 2, "fair_share": "project"})
    ids = {enqueue(store, queue, project="a").id: "a" for _ in range(12)}
    ids.update({enqueue(store, queue, project="b").id: "b" for _ in range(3)})
    running: list[QueueItem] = []
    started: list[str] = []
    while len(started) < 15:
        got = store.claim("agent-1", [queue.id], limit=4 - len(running))
        running += got
        started += [ids[i.id] for i in got]
        assert 1 <= len(running) <= 2, [i.id for i in running]
        finish(store, running.pop(0))  # the oldest run ends
    assert [n for n, project in enumerate(started) if project == "b"] == [1, 3, 5]
    assert sorted(started) == ["a"] * 12 + ["b"] * 3


def test_fair_share_by_user_prefers_whoever_runs_fewest(store: QueueStore):
    queue = make_queue(store, policy={"fair_share": "user"})
    first = [enqueue(store, queue, user="alice") for _ in range(3)]
    bob = enqueue(store, queue, user="bob")
    assert [i.id for i in store.claim("a1", [queue.id])] == [first[0].id]
    assert [i.id for i in store.claim("a1", [queue.id])] == [bob.id]  # alice runs 1, bob 0
    assert [i.id for i in store.claim("a1", [queue.id])] == [first[1].id]  # both run 1


def test_priority_still_comes_first_with_fair_share(store: QueueStore):
    queue = make_queue(store, prioritization=True, policy={"fair_share": "user"})
    running = enqueue(store, queue, user="alice")
    store.claim("a1", [queue.id])
    low = enqueue(store, queue, user="bob")
    with store.engine.begin() as conn:
        conn.execute(update(items).where(items.c.id == low.id).values(priority=3))
    high = enqueue(store, queue, user="alice")
    with store.engine.begin() as conn:
        conn.execute(update(items).where(items.c.id == high.id).values(priority=1))
    assert [i.id for i in store.claim("a1", [queue.id])] == [high.id]
    assert running.id != high.id


def test_max_running_holds_over_agents_and_says_why(store: QueueStore):
    queue = make_queue(store, policy={"max_running": 2})
    jobs = [enqueue(store, queue) for _ in range(4)]
    assert len(store.claim("a1", [queue.id], limit=1)) == 1
    assert len(store.claim("a2", [queue.id], limit=5)) == 1
    assert store.claim("a3", [queue.id], limit=5) == []
    assert store.waiting_reasons(store.get_item(jobs[3].id)) == ["queue at max-running 2"]


def test_quota_counts_every_queue_of_the_entity(store: QueueStore):
    cpu = make_queue(store, "cpu")
    gpu = make_queue(store, "gpu")
    store.set_quota("team", project="a", running=1)
    first = enqueue(store, cpu, project="a")
    second = enqueue(store, gpu, project="a")
    other = enqueue(store, gpu, project="b")
    claimed = store.claim("a1", [cpu.id, gpu.id], limit=5)
    assert sorted(i.id for i in claimed) == sorted([first.id, other.id])
    assert store.waiting_reasons(store.get_item(second.id)) == ["quota: project a runs 1 of 1"]
    finish(store, next(i for i in claimed if i.id == first.id))
    assert [i.id for i in store.claim("a2", [gpu.id])] == [second.id]
    store.delete_quota("team", project="a")
    assert [q.scope for q in store.list_quotas("team")] == []


def test_gpu_quota_counts_demand(store: QueueStore):
    queue = make_queue(store)
    store.set_quota("team", user="alice", gpus=4)
    big = enqueue(store, queue, user="alice", gpus=3)
    too_many = enqueue(store, queue, user="alice", gpus=2)
    cpu_only = enqueue(store, queue, user="alice", gpus=0)
    small = enqueue(store, queue, user="alice", gpus=1)
    claimed = [i.id for i in store.claim("a1", [queue.id], limit=5)]
    assert claimed == [big.id, cpu_only.id, small.id]
    assert store.waiting_reasons(store.get_item(too_many.id)) == [
        "quota: user alice uses 4 of 4 GPUs; this job needs 2"]
    assert [(q.name, running, used) for q, running, used in store.quota_usage("team")] == [
        ("alice", 3, 4)]


def test_entity_quota_stops_every_queue(store: QueueStore):
    queue = make_queue(store)
    store.set_quota("team", running=1)
    enqueue(store, queue)
    waiting = enqueue(store, queue)
    assert len(store.claim("a1", [queue.id], limit=3)) == 1
    assert store.waiting_reasons(store.get_item(waiting.id)) == ["quota: entity runs 1 of 1"]


def test_gpu_slots_give_disjoint_devices(store: QueueStore):
    queue = make_queue(store)
    slots = GpuSlots(("0", "1", "2", "3"), frozenset({queue.id}))
    two = enqueue(store, queue, gpus=2)
    three = enqueue(store, queue, gpus=3)
    one = enqueue(store, queue, gpus=1)
    none = enqueue(store, queue, gpus=0)
    claimed = store.claim("a1", [queue.id], limit=4, slots=slots)
    devices = {i.id: i.devices for i in claimed}
    assert devices == {two.id: ["0", "1"], one.id: ["2"], none.id: []}
    finish(store, next(i for i in claimed if i.id == two.id))
    again = store.claim("a1", [queue.id], limit=4, slots=slots)
    assert [(i.id, i.devices) for i in again] == [(three.id, ["0", "1", "3"])]
    # Another agent of this host shares its devices: none is free for it now.
    enqueue(store, queue, gpus=2)
    assert store.claim("a2", [queue.id], slots=slots) == []
    # The runs go on after their agent stops (processes, containers): an agent started
    # again on this host (a new id) still counts the devices they hold, orphaned or
    # re-adopted.
    for held in [*again, *(i for i in claimed if i.id != two.id)]:
        store.transition(held.id, "submitted", actor="a1", claim=held.claim,
                         handle={"pid": 1})
    assert sorted(store.release("a1")) == sorted([three.id, one.id, none.id])
    assert store.claim("a3", [queue.id], slots=slots) == []
    assert len(store.adopt("a4", [queue.id], limit=5)) == 3
    assert store.claim("a3", [queue.id], slots=slots) == []


def test_an_agent_of_another_host_has_devices_of_its_own(store: QueueStore):
    queue = make_queue(store)
    slots = GpuSlots(("0", "1"), frozenset({queue.id}))
    with store.engine.begin() as conn:
        conn.execute(insert(agents).values(
            id="far", entity="team", queues=["q"], hostname="another-host", pid=1,
            max_jobs=4, started_at=0, heartbeat_at=0))
    theirs = enqueue(store, queue, gpus=2)
    assert store.claim("far", [queue.id], slots=slots)[0].devices == ["0", "1"]
    ours = enqueue(store, queue, gpus=2)
    assert store.claim("here", [queue.id], slots=slots)[0].devices == ["0", "1"]
    assert theirs.id != ours.id


def test_a_remote_queue_ignores_the_agents_slots(store: QueueStore):
    queue = make_queue(store)
    job = enqueue(store, queue, gpus=8)
    claimed = store.claim("a1", [queue.id], slots=GpuSlots(("0",), frozenset()))
    assert [(i.id, i.devices) for i in claimed] == [(job.id, None)]


def test_a_new_policy_applies_to_the_next_claim_of_the_same_store(store: QueueStore):
    queue = make_queue(store)
    for _ in range(3):
        enqueue(store, queue)
    assert len(store.claim("a1", [queue.id])) == 1  # no policy: the plain claim
    store.update_queue("team", "q", policy={"max_running": 1})
    assert store.claim("a1", [queue.id]) == []


def test_devices_do_not_follow_a_job_back_to_the_queue(store: QueueStore):
    queue = make_queue(store)
    job = enqueue(store, queue, gpus=1)
    held = store.claim("a1", [queue.id], slots=GpuSlots(("3",), frozenset({queue.id})))
    assert held[0].devices == ["3"]
    assert store.release("a1") == [job.id]
    assert store.claim("a2", [queue.id])[0].devices is None  # an agent without slots
