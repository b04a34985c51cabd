"""Four processes racing to claim the same queue: every item is claimed exactly once."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import func, select

from launch_core.store import QueueStore
from launch_core.store.schema import events, items
from tests.support.store_helpers import make_queue, race_worker, spec

pytestmark = pytest.mark.slow

PROCESSES = 4
ITEMS = 2000


def test_concurrent_claimers_claim_every_item_exactly_once(
        store_url: str, tmp_path: Path) -> None:
    setup = QueueStore(store_url)
    try:
        queue = make_queue(setup, "race")
        launch = spec()
        enqueued = sorted(setup.enqueue(queue, launch).id for _ in range(ITEMS))
    finally:
        setup.dispose()

    context = multiprocessing.get_context("spawn")
    start = context.Event()
    outputs = [tmp_path / f"claimed-{n}.json" for n in range(PROCESSES)]
    workers = [context.Process(target=race_worker, daemon=True,
                               args=(store_url, queue.id, f"racer-{n}", str(outputs[n]),
                                     start, ITEMS + 10))
               for n in range(PROCESSES)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(timeout=300)
    stuck = [w.pid for w in workers if w.is_alive()]
    for worker in workers:
        if worker.is_alive():
            worker.terminate()
            worker.join(timeout=10)
    assert stuck == [], f"claimer processes did not stop: {stuck}"
    assert [w.exitcode for w in workers] == [0] * PROCESSES

    per_worker = [json.loads(path.read_text()) for path in outputs]
    claimed = [item_id for ids in per_worker for item_id in ids]
    assert len(claimed) == len(set(claimed)), "an item was claimed twice"
    assert sorted(claimed) == enqueued
    assert sum(1 for ids in per_worker if ids) >= 2, "no race happened: one process took all"

    check = QueueStore(store_url)
    try:
        with check.engine.connect() as conn:
            owners = dict(conn.execute(select(items.c.id, items.c.agent_id)
                                       .where(items.c.state == "claimed")).all())
            claim_events = dict(conn.execute(
                select(events.c.item_id, func.count())
                .where(events.c.from_state == "queued", events.c.to_state == "claimed")
                .group_by(events.c.item_id)).all())
        assert sorted(owners) == enqueued
        for n, ids in enumerate(per_worker):
            assert {owners[item_id] for item_id in ids} <= {f"racer-{n}"}
        assert sorted(claim_events) == enqueued
        assert set(claim_events.values()) == {1}
    finally:
        check.dispose()
