"""A queue's retries and time bounds with a real agent and the real pipeline (local
processes, SQLite, no Prefect): a retried exit code, a class not retried, max_runtime,
and max_pending swept by the agent's poll."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from launch_core import api
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.failure_class import last_retry
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueItem, QueueRecord, QueueStore
from tests.support.agent_runner import make_agent

# Exits 3 unless resumed (RELAUNCH_RESUME=1); appends a line to its marker each run.
FLAKY = ("import os, sys; open(sys.argv[1], 'a').write(os.environ.get('RELAUNCH_RESUME', '0') "
         "+ '\\n'); sys.exit(0 if os.environ.get('RELAUNCH_RESUME') == '1' else {code})")


def enqueue(store: QueueStore, queue: QueueRecord, marker: Path, code: int = 3,
            script: str | None = None) -> QueueItem:
    marker.touch()
    spec = LaunchSpec.model_validate({"image": "local", "entry_point": [
        sys.executable, "-c", script or FLAKY.format(code=code), str(marker)]})
    return store.enqueue(queue, spec)


def policy_queue(store: QueueStore, **policy: Any) -> QueueRecord:
    return api.update_queue(store, "q", entity="team", policy=policy)


def test_a_run_that_exits_with_a_retried_code_runs_again_resumed_and_finishes(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    api.create_queue(sqlite_store, "q", "local-process", entity="team")
    queue = policy_queue(sqlite_store, retry=2, retry_on=["exit:3"])
    marker = tmp_path / "flaky"
    item = enqueue(sqlite_store, queue, marker)
    asyncio.run(make_agent(sqlite_store, agent_config, until_idle=True).run())
    done = sqlite_store.get_item(item.id)
    assert (done.state, done.exit_code, done.run_id) == ("finished", 0, item.run_id), (
        done.stage, done.reason)
    assert (done.retries, done.resume_count) == (1, 1)
    assert marker.read_text().split() == ["0", "1"]  # failed once, then ran resumed
    messages = [e.message for e in sqlite_store.events_for(item.id)]
    assert last_retry(messages) == "retry 1 of 2 after exit code 3"


def test_a_run_that_exits_with_a_code_not_listed_fails_once(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    api.create_queue(sqlite_store, "q", "local-process", entity="team")
    queue = policy_queue(sqlite_store, retry=2, retry_on=["exit:3", "oom", "infra"])
    marker = tmp_path / "flaky"
    item = enqueue(sqlite_store, queue, marker, code=4)
    asyncio.run(make_agent(sqlite_store, agent_config, until_idle=True).run())
    ended = sqlite_store.get_item(item.id)
    assert (ended.state, ended.stage, ended.reason, ended.exit_code, ended.retries) == (
        "failed", "run", "exit code 4", 4, 0)
    assert marker.read_text().split() == ["0"]


def test_a_run_past_max_runtime_is_cancelled_and_fails_without_a_retry(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    api.create_queue(sqlite_store, "q", "local-process", entity="team")
    # Its cancel ends it with an exit code of a signal: listed classes do not retry it.
    queue = policy_queue(sqlite_store, max_runtime="1s", retry=2,
                         retry_on=["exit:-15", "exit:143", "exit:-9", "exit:137"])
    marker = tmp_path / "slow"
    item = enqueue(sqlite_store, queue, marker, script=(
        "import sys, time; open(sys.argv[1], 'a').write('ran\\n'); time.sleep(60)"))
    started = time.monotonic()
    asyncio.run(make_agent(sqlite_store, agent_config, until_idle=True).run())
    assert time.monotonic() - started < 30
    ended = sqlite_store.get_item(item.id)
    assert (ended.state, ended.stage, ended.reason, ended.retries) == (
        "failed", "run", "max runtime 1s exceeded", 0)
    assert ended.finished_at is not None and ended.started_at is not None
    assert ended.finished_at - ended.started_at >= 1
    assert marker.read_text().count("ran") == 1


def test_the_agents_poll_moves_a_job_that_waited_too_long_to_the_fallback_queue(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    """The agent (max_jobs 1) is busy with a long job; the next one waits past the
    queue's max_pending and its poll moves it to a queue it does not poll."""
    api.create_queue(sqlite_store, "q", "local-process", entity="team")
    other = api.create_queue(sqlite_store, "other", "local-process", entity="team")
    queue = policy_queue(sqlite_store, max_pending="1s", fallback_queue="other")
    busy = enqueue(sqlite_store, queue, tmp_path / "busy", script=(
        "import sys, time; time.sleep(60)"))
    waiting = enqueue(sqlite_store, queue, tmp_path / "waiting", code=0)
    agent = make_agent(sqlite_store, agent_config.model_copy(update={"max_jobs": 1}),
                       shutdown_grace=0.2)

    async def main() -> None:
        task = asyncio.create_task(agent.run())
        deadline = time.monotonic() + 30
        while sqlite_store.get_item(waiting.id).queue_id != other.id:
            assert time.monotonic() < deadline, sqlite_store.events_for(waiting.id)
            await asyncio.sleep(0.1)
        sqlite_store.request_cancel(busy.id)
        agent.stop_signal.set()
        await asyncio.wait_for(task, 30)

    asyncio.run(main())
    moved = sqlite_store.get_item(waiting.id)
    assert (moved.state, moved.queue_id) == ("queued", other.id)
    assert sqlite_store.events_for(waiting.id)[-1].message == (
        "moved to fallback queue other after waiting 1s")
