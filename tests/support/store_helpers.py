"""Helpers shared by the queue-store tests (imported by name; tests/store is on sys.path).

Kept apart from conftest.py so that test modules never import a ``conftest`` module,
which pytest swaps between directories.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.store import QueueItem, QueueRecord, QueueStore

START = 1_700_000_000.0


class FakeClock:
    """A clock for QueueStore(clock=...) that only moves when told to."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def make_queue(store: QueueStore, name: str = "q", **fields: object) -> QueueRecord:
    """Create a local-process queue in entity ``team`` (fields override)."""
    data = {"entity": "team", "name": name, "resource": "local-process", **fields}
    return store.create_queue(QueueDefinition.model_validate(data))


def spec(**fields: object) -> LaunchSpec:
    """A launch spec running an image (fields override)."""
    return LaunchSpec.model_validate({"image": "python:3.11", **fields})


def enqueue(store: QueueStore, queue: QueueRecord, **fields: object) -> QueueItem:
    return store.enqueue(queue, spec(**fields))


def race_worker(url: str, queue_id: int, agent_id: str, out_path: str, start: object,
                max_claims: int) -> None:
    """Claim items one at a time until the queue is empty; write the ids to a file.

    Runs in a spawned process. Stops by itself: on an empty claim, after
    ``max_claims`` claims, or after five minutes.
    """
    store = QueueStore(url)
    claimed: list[int] = []
    try:
        start.wait(60)  # type: ignore[attr-defined]
        deadline = time.monotonic() + 300
        while len(claimed) < max_claims and time.monotonic() < deadline:
            got = store.claim(agent_id, [queue_id], limit=1)
            if not got:
                break
            claimed.extend(item.id for item in got)
    finally:
        Path(out_path).write_text(json.dumps(claimed))
        store.dispose()
