"""A worker of the scheduling-policy race test: one agent's random steps against a
shared store, checking the policy invariants after each (spawned processes)."""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import select

from launch_core.store import QueueItem, QueueStore
from launch_core.store.scheduled_claim import GpuSlots
from launch_core.store.schema import items
from launch_core.store.states import ACTIVE
from tests.support.store_helpers import spec

CAP = 3  # the capped queue's max_running
PROJECT_RUNNING = 2  # project p0's quota
ENTITY_GPUS = 5  # the entity's GPU quota
DEVICES = ("0", "1", "2")  # each agent's GPU slots


def violations(store: QueueStore, capped: int, agent_ids: list[str]) -> list[str]:
    """What breaks a policy in the store now (one read)."""
    with store.engine.connect() as conn, conn.begin():
        rows = conn.execute(select(items.c.queue_id, items.c.project, items.c.gpus,
                                   items.c.agent_id, items.c.devices)
                            .where(items.c.state.in_(list(ACTIVE)))).all()
    found = []
    if (n := sum(1 for r in rows if r.queue_id == capped)) > CAP:
        found.append(f"capped queue runs {n} > {CAP}")
    if (n := sum(1 for r in rows if r.project == "p0")) > PROJECT_RUNNING:
        found.append(f"project p0 runs {n} > {PROJECT_RUNNING}")
    if (n := sum(r.gpus for r in rows)) > ENTITY_GPUS:
        found.append(f"entity uses {n} GPUs > {ENTITY_GPUS}")
    for agent in agent_ids:
        held = Counter(d for r in rows if r.agent_id == agent for d in (r.devices or []))
        if shared := [d for d, n in held.items() if n > 1]:
            found.append(f"{agent} gave device(s) {shared} to two jobs")
    return found


def race_worker(url: str, queue_ids: list[int], agent_id: str, agent_ids: list[str],
                seed: int, steps: int, out_path: str, start: object) -> None:
    """Random enqueues, claims and ends as ``agent_id``; writes what it saw."""
    rng = random.Random(seed)
    store = QueueStore(url)
    queue = store.get_queue_by_id(queue_ids[0])
    queues = [store.get_queue_by_id(q) for q in queue_ids]
    slots = GpuSlots(DEVICES, frozenset(queue_ids))
    held: list[QueueItem] = []
    seen: list[str] = []
    claimed = 0
    try:
        start.wait(60)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 120
        for _ in range(steps):
            if time.monotonic() > deadline:
                break
            action = rng.random()
            if action < 0.35:
                queue = rng.choice(queues)
                store.enqueue(queue, spec(project=f"p{rng.randrange(3)}"),
                              gpus=rng.choice((0, 0, 1, 2)))
            elif action < 0.75:
                got = store.claim(agent_id, queue_ids, limit=rng.randint(1, 3), slots=slots)
                held += got
                claimed += len(got)
            elif held:
                item = held.pop(rng.randrange(len(held)))
                store.transition(item.id, "failed", actor=agent_id, claim=item.claim,
                                 stage="run", reason="ended")
            seen += violations(store, queue_ids[0], agent_ids)
    finally:
        Path(out_path).write_text(json.dumps({"violations": seen, "claimed": claimed}))
        store.dispose()
