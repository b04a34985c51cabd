"""A real agent (no Prefect, SQLite) under a queue's cap and fair share: its claims
go through the scheduled claim, its jobs through the real pipeline."""

from __future__ import annotations

import asyncio
import sys

from launch_core import api
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from tests.support.agent_runner import make_agent


def timeline(store: QueueStore, item_id: int) -> tuple[float, float]:
    """When the item was claimed and when it ended, from its audit log."""
    events = store.events_for(item_id)
    claimed = next(e.at for e in events if e.to_state == "claimed")
    ended = next(e.at for e in events if e.to_state in ("finished", "failed", "cancelled"))
    return claimed, ended


def test_twelve_of_a_then_three_of_b_share_a_capped_queue(
        sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    """12 jobs of project a, then 3 of b; --fair-share project --max-running 2; one agent
    with --max-jobs 4: b's jobs start among the first 6, never more than 2 run at once."""
    queue = api.create_queue(sqlite_store, "q", "local-process", entity="team",
                             policy={"max_running": 2, "fair_share": "project"})
    sleep = LaunchSpec.model_validate({"image": "local", "entry_point": [
        sys.executable, "-c", "import time; time.sleep(0.2)"]})
    project = {}
    for name in ["a"] * 12 + ["b"] * 3:
        item = sqlite_store.enqueue(queue, sleep.model_copy(update={"project": name}))
        project[item.id] = name
    agent = make_agent(sqlite_store, agent_config, until_idle=True)
    assert asyncio.run(agent.run()) == 15
    spans = {item_id: timeline(sqlite_store, item_id) for item_id in project}
    assert {sqlite_store.get_item(i).state for i in project} == {"finished"}
    order = [project[i] for i in sorted(spans, key=lambda i: spans[i][0])]
    assert order[:2] in (["a", "b"], ["b", "a"]), order  # b does not wait behind 12 of a
    # Fair share at every claim (whatever the timing of the ends): the project claimed
    # ran no more jobs at that moment than another project that still had jobs waiting.
    for item_id, (claimed, _) in spans.items():
        def running(name: str, at: float = claimed) -> int:
            return sum(1 for i, (c, e) in spans.items()
                       if project[i] == name and c < at < e)
        mine = project[item_id]
        waiting = {project[i] for i, (c, _) in spans.items() if c > claimed} - {mine}
        assert all(running(mine) <= running(other) for other in waiting), (order, item_id)
    for claimed, _ in spans.values():  # at each claim, what else was active
        assert sum(1 for c, e in spans.values() if c <= claimed < e) <= 2
