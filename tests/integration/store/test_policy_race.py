"""Caps, quotas and GPU slots hold with four agents racing (spawned processes) on
SQLite and PostgreSQL: random arrivals, claims and ends, the invariants checked by
every agent after each of its steps."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest

from launch_core.store import QueueStore
from tests.support.policy_race import (
    CAP,
    ENTITY_GPUS,
    PROJECT_RUNNING,
    race_worker,
    violations,
)
from tests.support.store_helpers import make_queue

pytestmark = pytest.mark.slow

AGENTS = 4
STEPS = 80


def test_policies_hold_while_four_agents_race(store_url: str, tmp_path: Path) -> None:
    setup = QueueStore(store_url)
    try:
        capped = make_queue(setup, "capped", policy={"max_running": CAP})
        fair = make_queue(setup, "fair", policy={"fair_share": "project"})
        setup.set_quota("team", project="p0", running=PROJECT_RUNNING)
        setup.set_quota("team", gpus=ENTITY_GPUS)
    finally:
        setup.dispose()
    agent_ids = [f"racer-{n}" for n in range(AGENTS)]
    context = multiprocessing.get_context("spawn")
    start = context.Event()
    outputs = [tmp_path / f"agent-{n}.json" for n in range(AGENTS)]
    workers = [context.Process(target=race_worker, daemon=True, args=(
        store_url, [capped.id, fair.id], agent_ids[n], agent_ids, 1000 + n, STEPS,
        str(outputs[n]), start)) for n in range(AGENTS)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=240)
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=10)
    assert [w.exitcode for w in workers] == [0] * AGENTS
    seen = [json.loads(path.read_text()) for path in outputs]
    assert [v for s in seen for v in s["violations"]] == []
    assert sum(1 for s in seen if s["claimed"]) >= 2, "no race: one agent claimed all"
    check = QueueStore(store_url)
    try:
        assert violations(check, capped.id, agent_ids) == []
    finally:
        check.dispose()
