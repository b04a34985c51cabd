"""Sweeps in the store, on SQLite and PostgreSQL: a sweep and its scheduler item are
written together; a trial's row and its item are written in one transaction, fenced
by the scheduler's claim, so a trial is never launched twice and never half-written;
stop and resume move the sweep and its scheduler item."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from launch_core.errors import Conflict, LostClaim
from launch_core.store import Claim, QueueStore
from launch_core.store.schema import items, sweep_trials
from launch_core.sweep_runs.start import scheduler_spec
from tests.support.store_helpers import make_queue, spec

CONFIG = {"method": "grid", "image_uri": "img:1", "parameters": {"x": {"values": [1, 2]}}}


def counts(store: QueueStore) -> tuple[int, int]:
    with store.engine.connect() as conn:
        return (int(conn.execute(select(func.count()).select_from(items)).scalar_one()),
                int(conn.execute(select(func.count()).select_from(sweep_trials)).scalar_one()))


def test_a_trial_is_recorded_with_its_item_once_and_only_under_the_claim(
        store: QueueStore) -> None:
    queue = make_queue(store)
    sweep, scheduler = store.create_sweep(queue, "abc123", CONFIG,
                                          scheduler_spec("abc123", ""), seed=7)
    assert (sweep.state, sweep.scheduler_item, scheduler.spec.is_scheduler) == (
        "running", scheduler.id, True)
    [held] = store.claim("agent-1", [queue.id])
    claim = Claim("agent-1", held.claim_token)
    trial = spec(run_config={"x": 1}, sweep_id="abc123")
    item = store.launch_trial("abc123", 0, {"x": 1}, {"number": 0}, queue, trial,
                              claim=claim, scheduler_item=scheduler.id)
    assert (item.group_id, item.spec.sweep_id, item.state) == ("abc123", "abc123", "queued")
    assert counts(store) == (2, 1)
    with pytest.raises(Conflict, match="trial 0 was launched already"):
        store.launch_trial("abc123", 0, {"x": 1}, {"number": 0}, queue, trial,
                           claim=claim, scheduler_item=scheduler.id)
    with pytest.raises(LostClaim):  # an older claim of the scheduler launches nothing
        store.launch_trial("abc123", 1, {"x": 2}, {"number": 1}, queue, trial,
                           claim=Claim("agent-1", held.claim_token - 1),
                           scheduler_item=scheduler.id)
    assert counts(store) == (2, 1)  # neither item nor row of a refused trial
    store.record_trial("abc123", 0, {"number": 0, "state": "complete"}, "finished", 0.5,
                       claim=claim, scheduler_item=scheduler.id)
    [row] = store.sweep_trials("abc123")
    assert (row.number, row.item_id, row.state, row.metric, row.params) == (
        0, item.id, "finished", 0.5, {"x": 1})


def test_stop_cancels_a_queued_scheduler_and_resume_queues_another(store: QueueStore) -> None:
    queue = make_queue(store)
    _, first = store.create_sweep(queue, "s1", CONFIG, scheduler_spec("s1", ""))
    with pytest.raises(Conflict, match="only a stopped sweep resumes"):
        store.resume_sweep(queue.entity, "s1", scheduler_spec("s1", ""))
    stopped = store.stop_sweep(queue.entity, "s1")
    assert stopped.state == "stopped"
    assert store.get_item(first.id).state == "cancelled"
    with pytest.raises(Conflict, match="is stopped, not running"):
        store.stop_sweep(queue.entity, "s1")
    with pytest.raises(LostClaim):  # a stopped sweep's old scheduler launches nothing
        store.launch_trial("s1", 0, {}, {}, queue, spec(), claim=Claim("a", 1),
                           scheduler_item=first.id)
    resumed, second = store.resume_sweep(queue.entity, "s1", scheduler_spec("s1", ""))
    assert (resumed.state, resumed.scheduler_item, second.state) == (
        "running", second.id, "queued")
    assert [s.id for s in store.list_sweeps(queue.entity)] == ["s1"]
