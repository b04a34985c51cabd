"""``relaunch agent stop`` as the agent sees it (SQLite, no Prefect): a stop asked
through the store is honoured at the next poll. 'finish' lets the running job end and
claims nothing more; 'now' releases the job for re-adoption. Jobs run through the real
pipeline and wait for a gate file the test opens."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueItem, QueueStore
from launch_core.store.agents import agent_state
from tests.support.agent_runner import make_agent
from tests.support.marker_jobs import Jobs


def gated_job(jobs: Jobs, gate: Path) -> QueueItem:
    """A job that runs until ``gate`` exists."""
    script = (f"import os, time\nwhile not os.path.exists({str(gate)!r}): time.sleep(0.05)\n"
              "print('through the gate', flush=True)")
    spec = LaunchSpec.model_validate({"image": "local",
                                      "entry_point": [sys.executable, "-c", script]})
    return jobs.store.enqueue(jobs.queue, spec)


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.05)


def state_of(store: QueueStore, agent_id: str) -> str:
    [(agent, running)] = [row for row in store.list_agents("team") if row[0].id == agent_id]
    return agent_state(agent, running, store.clock())


def test_stop_finish_lets_the_running_job_end_claims_nothing_more_and_exits(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    gate = tmp_path / "gate"
    running = gated_job(jobs, gate)
    waiting = jobs.enqueue()  # the one slot is taken: it would be claimed next
    agent = make_agent(sqlite_store, agent_config.model_copy(update={"max_jobs": 1}))
    caplog.set_level(logging.INFO, logger="relaunch.test.agent")

    async def main() -> int:
        task = asyncio.create_task(agent.run())
        await wait_for(lambda: sqlite_store.get_item(running.id).state == "running")
        sqlite_store.request_stop(agent.agent_id)
        assert state_of(sqlite_store, agent.agent_id) == "stopping"
        await wait_for(lambda: any("stop requested: no more claims" in r.getMessage()
                                   for r in caplog.records))
        assert not task.done()  # it waits for its job
        gate.touch()
        return await asyncio.wait_for(task, 30)

    assert asyncio.run(main()) == 1
    assert sqlite_store.get_item(running.id).state == "finished"
    assert sqlite_store.get_item(waiting.id).state == "queued"
    assert [e.to_state for e in sqlite_store.events_for(waiting.id)] == ["queued"]
    assert state_of(sqlite_store, agent.agent_id) == "stopped"


def test_stop_now_releases_the_running_job_for_re_adoption_and_exits(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig,
        tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    item = gated_job(jobs, gate)
    agent = make_agent(sqlite_store, agent_config, shutdown_grace=0.2)

    async def main() -> int:
        task = asyncio.create_task(agent.run())
        await wait_for(lambda: sqlite_store.get_item(item.id).state == "running")
        sqlite_store.request_stop(agent.agent_id, now=True)
        return await asyncio.wait_for(task, 30)

    try:
        assert asyncio.run(main()) == 1
        released = sqlite_store.get_item(item.id)
        assert (released.state, released.agent_id) == ("running", None)
        assert state_of(sqlite_store, agent.agent_id) == "stopped"
        [adopted] = sqlite_store.adopt("agent-next", [jobs.queue.id])  # re-adoptable
        assert adopted.id == item.id
    finally:
        gate.touch()  # the released local process ends
