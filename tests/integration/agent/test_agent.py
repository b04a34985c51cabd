"""The agent protocol without Prefect, on SQLite: claim, run, heartbeat, lost items,
side tasks, release. Jobs run through the real pipeline (``direct_step``)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from launch_core.agent.agent import AgentFailed, StopSignal
from launch_core.spec.agent_config import AgentConfig
from launch_core.store import QueueItem, QueueStore
from tests.support.agent_runner import make_agent
from tests.support.marker_jobs import Jobs


def test_an_agent_runs_every_queued_job_once_until_idle(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    items = [jobs.enqueue() for _ in range(6)]
    agent = make_agent(sqlite_store, agent_config, until_idle=True)
    assert asyncio.run(agent.run()) == 6
    for item in items:
        assert sqlite_store.get_item(item.id).state == "finished"
        assert jobs.runs(item) == 1
    assert sqlite_store.live_agents("team") == []  # it recorded its stop


def test_stop_signal_set_from_another_thread_stops_the_agent_and_releases_its_jobs(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    item = jobs.enqueue(seconds=30)
    stop = StopSignal()
    agent = make_agent(sqlite_store, agent_config, stop=stop, shutdown_grace=0.2)

    async def main() -> int:
        task = asyncio.create_task(agent.run())
        while sqlite_store.get_item(item.id).state != "running":
            await asyncio.sleep(0.05)
        threading.Thread(target=stop.set).start()
        return await task

    asyncio.run(main())
    released = sqlite_store.get_item(item.id)
    assert (released.state, released.agent_id) == ("running", None)  # re-adoptable


def test_an_agent_that_lost_an_item_stops_its_pipeline_and_never_submits_it(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    """The pipeline is held (a long build, say) until the heartbeat has reported the
    item lost: the sweep requeued it and another agent claimed it meanwhile."""
    item = jobs.enqueue()
    taken = threading.Event()

    async def slow_build(claimed: QueueItem) -> None:
        sqlite_store.sweep_expired(now=sqlite_store.clock() + 10)
        assert sqlite_store.claim("agent-b", [jobs.queue.id]) != []
        taken.set()
        await asyncio.sleep(30)  # cancelled by the agent once the heartbeat says "lost"

    agent = make_agent(sqlite_store, agent_config, before=slow_build, until_idle=False)

    async def main() -> None:
        task = asyncio.create_task(agent.run())
        while not taken.is_set() or agent.running:
            await asyncio.sleep(0.05)
        agent.stop_signal.set()
        await asyncio.wait_for(task, 20)

    asyncio.run(main())
    now = sqlite_store.get_item(item.id)
    assert (now.state, now.agent_id) == ("claimed", "agent-b")
    assert jobs.runs(item) == 0
    assert [e.to_state for e in sqlite_store.events_for(item.id)].count("submitted") == 0


class FailingRenewals(QueueStore):
    """A store whose lease renewals fail with a bug (not a database error)."""

    def renew_leases(self, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("bug in renew")


def test_a_dead_heartbeat_ends_the_agent_with_an_error_naming_it_and_releases_jobs(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig,
        monkeypatch: pytest.MonkeyPatch) -> None:
    item = jobs.enqueue(seconds=30)
    # The heartbeat opens its own store (its own connection): make that one fail.
    monkeypatch.setattr("launch_core.agent.side_tasks.QueueStore", FailingRenewals)
    agent = make_agent(sqlite_store, agent_config)
    with pytest.raises(AgentFailed, match="heartbeat died: RuntimeError: bug in renew"):
        asyncio.run(asyncio.wait_for(agent.run(), 30))
    released = sqlite_store.get_item(item.id)
    assert released.agent_id is None and released.state in ("queued", "running")
    assert AgentFailed("x").exit_code == 1


def test_the_executor_is_sized_from_max_jobs(sqlite_store: QueueStore, jobs: Jobs,
                                              agent_config: AgentConfig) -> None:
    eight = agent_config.model_copy(update={"max_jobs": 8})
    unlimited = agent_config.model_copy(update={"max_jobs": -1})
    assert make_agent(sqlite_store, eight)._workers() == 20
    assert make_agent(sqlite_store, unlimited)._workers() == 132


def test_an_item_claimed_again_by_the_same_agent_has_one_pipeline(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    """The operator's case: the agent's lease lapsed while it was still building, the
    sweep requeued the item and the same agent claimed it again. The first pipeline
    is stopped; the job runs once."""
    item = jobs.enqueue()
    pipelines: list[int] = []
    order: list[str] = []

    async def first_is_slow(claimed: QueueItem) -> None:
        pipelines.append(claimed.claim_token)
        if len(pipelines) == 1:  # lapse the lease under the first pipeline
            sqlite_store.sweep_expired(now=sqlite_store.clock() + 10)
            try:
                await asyncio.sleep(30)  # cancelled when the item is claimed again
            finally:
                order.append("first pipeline stopped")
        else:
            order.append("second pipeline started")

    agent = make_agent(sqlite_store, agent_config, before=first_is_slow, until_idle=True)
    asyncio.run(asyncio.wait_for(agent.run(), 60))
    assert pipelines == [1, 2]
    assert order == ["first pipeline stopped", "second pipeline started"]
    assert sqlite_store.get_item(item.id).state == "finished"
    assert jobs.runs(item) == 1
    states = [e.to_state for e in sqlite_store.events_for(item.id)]
    assert states.count("submitted") == 1 and states.count("claimed") == 2


def test_an_idle_sqlite_agent_is_woken_by_an_enqueue_not_by_its_poll(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    """The poll interval is 60 s; the job must start long before the next poll, so
    the store watcher (SQLite's data_version) woke the agent."""
    slow_poll = agent_config.model_copy(update={"poll_interval": 60.0})
    agent = make_agent(sqlite_store, slow_poll)

    polled = asyncio.Event()
    poll_once = agent.poll_once

    async def first_poll_seen() -> int:  # the agent's own poll, then a signal to us
        claimed = await poll_once()
        polled.set()
        return claimed

    agent.poll_once = first_poll_seen  # type: ignore[method-assign]

    async def main() -> float:
        task = asyncio.create_task(agent.run())
        await asyncio.wait_for(polled.wait(), 30)  # it polled once (nothing): it sleeps
        item = jobs.enqueue()  # another connection commits
        waited = 0.0
        while sqlite_store.get_item(item.id).state == "queued" and waited < 30:
            await asyncio.sleep(0.05)
            waited += 0.05
        agent.stop_signal.set()
        await task
        return waited

    assert asyncio.run(main()) < 30  # far below the 60 s poll: woken by the watcher


def test_a_launch_that_fails_outside_its_stages_gives_the_item_back_at_once(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    """The orchestration layer fails before the pipeline runs (say, Prefect answers 503
    creating the flow run): the item is requeued at once with one more attempt, not
    held until its lease lapses, and the next attempt runs it once."""
    item = jobs.enqueue()
    calls: list[int] = []

    async def orchestration_fails_once(claimed: QueueItem) -> None:
        calls.append(claimed.claim_token)
        if len(calls) == 1:
            raise RuntimeError("503 Service Unavailable")

    agent = make_agent(sqlite_store, agent_config, before=orchestration_fails_once,
                       until_idle=True)
    asyncio.run(asyncio.wait_for(agent.run(), 30))
    ended = sqlite_store.get_item(item.id)
    assert (ended.state, ended.attempts) == ("finished", 1)
    assert jobs.runs(item) == 1 and calls == [1, 2]
    [given_back] = [e for e in sqlite_store.events_for(item.id) if e.to_state == "queued"
                    and e.from_state == "claimed"]
    assert given_back.message == "launch failed: RuntimeError: 503 Service Unavailable"


def test_a_job_failed_by_its_pipeline_is_not_given_back(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    item = jobs.enqueue(code=4)
    agent = make_agent(sqlite_store, agent_config, until_idle=True)
    asyncio.run(asyncio.wait_for(agent.run(), 30))
    ended = sqlite_store.get_item(item.id)
    assert (ended.state, ended.stage, ended.attempts) == ("failed", "run", 0)
    assert jobs.runs(item) == 1
