"""The launch pipeline without Prefect, on SQLite: stages, fencing, idempotent submit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from launch_core.backends.resource import JobContext
from launch_core.pipeline.pipeline import LOST, JobPipeline, StageFailed, direct_step, resource_for
from launch_core.pipeline.workspace import run_dir
from launch_core.spec.agent_config import AgentConfig
from launch_core.store import QueueStore
from tests.support.marker_jobs import Jobs


def pipeline(store: QueueStore, config: AgentConfig, actor: str) -> tuple[JobPipeline,
                                                                          list[str]]:
    lines: list[str] = []
    return JobPipeline(store, config, actor, lines.append), lines


def test_a_claimed_job_runs_once_and_ends_finished_with_its_output_logged(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    item = jobs.enqueue()
    [claimed] = sqlite_store.claim("agent-a", [jobs.queue.id])
    run, lines = pipeline(sqlite_store, agent_config, "agent-a")
    state = asyncio.run(run.run(item.id, claim_token=claimed.claim_token))
    assert state == "finished"
    assert jobs.runs(item) == 1
    assert "hello from the job" in lines
    states = [e.to_state for e in sqlite_store.events_for(item.id)]
    assert states == ["queued", "claimed", "building", "submitted", "running", "finished"]


def test_a_failing_job_is_failed_at_stage_run_with_its_exit_code(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    item = jobs.enqueue(code=3)
    [claimed] = sqlite_store.claim("agent-a", [jobs.queue.id])
    run, _ = pipeline(sqlite_store, agent_config, "agent-a")
    with pytest.raises(StageFailed, match="run: exit code 3"):
        asyncio.run(run.run(item.id, claim_token=claimed.claim_token))
    ended = sqlite_store.get_item(item.id)
    assert (ended.state, ended.stage, ended.exit_code) == ("failed", "run", 3)


def test_a_pipeline_whose_lease_was_swept_and_reclaimed_stops_without_submitting(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    """Agent A is paused before submit-to-resource; meanwhile its lease is swept and
    agent B claims the item. A's pipeline must start nothing and write nothing."""
    item = jobs.enqueue()
    [stale] = sqlite_store.claim("agent-a", [jobs.queue.id], lease_seconds=5)

    async def take_over_before_submit(name: str, fn: Any, *args: Any) -> Any:
        if name == "submit-to-resource":
            sqlite_store.sweep_expired(now=sqlite_store.clock() + 10)
            assert sqlite_store.claim("agent-b", [jobs.queue.id]) != []
        return await fn(*args)

    run, lines = pipeline(sqlite_store, agent_config, "agent-a")
    state = asyncio.run(run.run(item.id, claim_token=stale.claim_token,
                                step=take_over_before_submit))
    assert state == LOST
    assert jobs.runs(item) == 0
    now = sqlite_store.get_item(item.id)
    assert (now.state, now.agent_id) == ("claimed", "agent-b")
    assert not [e for e in sqlite_store.events_for(item.id)
                if e.actor == "agent-a" and e.to_state in ("submitted", "failed")]
    assert any("no longer holds" in line for line in lines)


@pytest.mark.parametrize("paused_at", ["fetch-config", "build-image", "wait-for-completion"])
def test_a_stale_pipeline_is_refused_at_every_stage(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig,
        paused_at: str) -> None:
    item = jobs.enqueue(seconds=2)
    [stale] = sqlite_store.claim("agent-a", [jobs.queue.id], lease_seconds=5)
    taken = False

    async def take_over(name: str, fn: Any, *args: Any) -> Any:
        nonlocal taken
        if name == paused_at and not taken:
            taken = True
            item_now = sqlite_store.get_item(item.id)
            if item_now.state in ("submitted", "running"):  # swept: orphaned, then adopted
                sqlite_store.sweep_expired(now=sqlite_store.clock() + 10)
                assert sqlite_store.adopt("agent-b", [jobs.queue.id]) != []
            else:
                sqlite_store.sweep_expired(now=sqlite_store.clock() + 10)
                assert sqlite_store.claim("agent-b", [jobs.queue.id]) != []
        return await fn(*args)

    run, _ = pipeline(sqlite_store, agent_config, "agent-a")
    assert asyncio.run(run.run(item.id, claim_token=stale.claim_token,
                               step=take_over)) == LOST
    assert sqlite_store.get_item(item.id).agent_id == "agent-b"
    assert [e.to_state for e in sqlite_store.events_for(item.id)].count("submitted") <= 1


def test_a_run_started_before_the_agent_died_is_reattached_never_started_again(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    """The agent started the run, then died before recording ``submitted``: the item
    is swept back to queued; the next agent finds the run and watches it."""
    item = jobs.enqueue(seconds=0.5)
    [first] = sqlite_store.claim("agent-a", [jobs.queue.id], lease_seconds=5)
    sqlite_store.transition(item.id, "building", actor="agent-a", claim=first.claim)
    job = JobContext(run_id=item.run_id, item_id=item.id, entry_point=item.spec.entry_point,
                     args=[], env={}, config={}, run_dir=run_dir(item.run_id),
                     workdir=None)
    resource_for("local-process").submit(job)  # ...and agent-a is killed here
    assert sqlite_store.sweep_expired(now=sqlite_store.clock() + 10).requeued == [item.id]
    [second] = sqlite_store.claim("agent-b", [jobs.queue.id])
    run, _ = pipeline(sqlite_store, agent_config, "agent-b")
    assert asyncio.run(run.run(item.id, claim_token=second.claim_token)) == "finished"
    assert jobs.runs(item) == 1
    events = sqlite_store.events_for(item.id)
    [submitted] = [e for e in events if e.to_state == "submitted"]
    assert submitted.actor == "agent-b" and "re-attached" in (submitted.message or "")


def test_submitting_the_same_run_twice_starts_it_once(
        jobs: Jobs, sqlite_store: QueueStore) -> None:
    item = jobs.enqueue(seconds=0.3)
    job = JobContext(run_id=item.run_id, item_id=item.id, entry_point=item.spec.entry_point,
                     args=[], env={}, config={}, run_dir=run_dir(item.run_id), workdir=None)
    resource = resource_for("local-process")
    first, second = resource.submit(job), resource.submit(job)
    assert first == second
    while resource.status(first).state == "running":
        asyncio.run(asyncio.sleep(0.05))
    assert jobs.runs(item) == 1


def test_direct_step_runs_the_stage_as_is() -> None:
    async def double(x: int) -> int:
        return 2 * x

    assert asyncio.run(direct_step("any", double, 21)) == 42


def test_an_announcement_that_hangs_does_not_delay_the_end_and_is_given_up(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The announcement (the Prefect artifact in the flow) talks to an API that may be
    away: the run's end is recorded while it hangs, and it is given up after the grace."""
    import launch_core.pipeline.pipeline as pipeline_module

    monkeypatch.setattr(pipeline_module, "ANNOUNCE_GRACE", 0.5)
    item = jobs.enqueue()
    [claimed] = sqlite_store.claim("agent-a", [jobs.queue.id])
    ends: list[str] = []

    async def hangs(launch: Any, *_: Any) -> None:
        while True:  # like a client retrying an API that does not answer
            ends.append(sqlite_store.get_item(launch.item.id).state)
            await asyncio.sleep(0.05)

    run, lines = pipeline(sqlite_store, agent_config, "agent-a")
    state = asyncio.run(run.run(item.id, claim_token=claimed.claim_token, announce=hangs))
    assert state == "finished"
    assert "finished" in ends  # the end was recorded while the announcement still hung
    assert any("announcement (the Prefect artifact) was given up" in line for line in lines)
