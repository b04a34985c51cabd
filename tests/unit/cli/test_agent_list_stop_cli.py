"""`relaunch agent list|stop` through the console script, on the CLI's SQLite store
(agents registered through the store API)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launch_core import api
from launch_core.store import AgentRecord, QueueStore


@pytest.fixture
def cli_store(cli_env: dict[str, str]) -> Iterator[QueueStore]:
    """The store the CLI opens, with a queue ``q`` holding two jobs."""
    store = QueueStore(f"sqlite:///{Path(cli_env['RELAUNCH_DATA_DIR']) / 'relaunch.db'}")
    api.create_queue(store, "q", "local-process", entity="team")
    for _ in range(2):
        api.launch(store, "q", {"image": "img:1"}, entity="team")
    yield store
    store.dispose()


def register(store: QueueStore, max_jobs: int = 2, age: float = 0.0) -> AgentRecord:
    """An agent of entity ``team`` whose last heartbeat was ``age`` seconds ago."""
    if not age:
        return store.register_agent("team", ["q"], max_jobs)
    past = QueueStore(engine=store.engine, clock=lambda: time.time() - age)
    return past.register_agent("team", ["q"], max_jobs)


def one_line(result: Any) -> str:
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return str(lines[0])


def test_list_shows_each_agents_running_jobs_heartbeat_and_state(
        relaunch: Any, cli_store: QueueStore) -> None:
    polling = register(cli_store, max_jobs=-1)
    running = register(cli_store)
    lost = register(cli_store, age=600)
    stopped = register(cli_store)
    cli_store.stop_agent(stopped.id)
    queue = cli_store.get_queue("team", "q")
    assert len(cli_store.claim(running.id, [queue.id], limit=2)) == 2
    listed = relaunch("agent", "list", "--json")
    assert listed.code == 0, listed.err
    by_id = {agent["id"]: agent for agent in listed.json()}
    assert {i: (a["running"], a["state"]) for i, a in by_id.items()} == {
        polling.id: (0, "polling"), running.id: (2, "running"), lost.id: (0, "lost"),
        stopped.id: (0, "stopped")}
    record = by_id[running.id]  # the store's field names
    assert (record["queues"], record["max_jobs"], record["entity"]) == (["q"], 2, "team")
    assert record["stopped_at"] is None and by_id[stopped.id]["stopped_at"] is not None
    assert record["stop_requested"] is None and record["pid"] == running.pid
    text = relaunch("agent", "list", "-e", "team")
    assert text.code == 0, text.err
    for agent_id, shown in ((polling.id, ["0 of ∞", "polling"]),
                            (running.id, ["2 of 2", "running"]),
                            (lost.id, ["10m ago", "lost"]), (stopped.id, ["stopped"])):
        row = next(line for line in text.out.splitlines() if agent_id in line)  # ids whole
        assert all(cell in row for cell in shown), (agent_id, text.out)
    assert relaunch("agent", "list", "-e", "nobody", "--json").json() == []


def test_stop_asks_the_agent_through_the_store(relaunch: Any, cli_store: QueueStore) -> None:
    agent = register(cli_store)
    stopped = relaunch("agent", "stop", agent.id)
    assert stopped.code == 0, stopped.err
    assert stopped.out.strip() == (f"stop requested of agent {agent.id} on {agent.hostname}: "
                                   "it will finish its jobs, then exit")
    assert cli_store.stop_request(agent.id) == "finish"
    [shown] = relaunch("agent", "list", "--json").json()
    assert (shown["stop_requested"], shown["state"]) == ("finish", "stopping")
    now = relaunch("agent", "stop", agent.id, "--now")
    assert now.code == 0 and "it will release its jobs and exit" in now.out
    assert cli_store.stop_request(agent.id) == "now"


def test_stopping_an_unknown_or_stopped_agent_exits_2_with_one_line(
        relaunch: Any, cli_store: QueueStore) -> None:
    unknown = relaunch("agent", "stop", "agent-nope")
    assert unknown.code == 2 and one_line(unknown) == "error: agent agent-nope not found"
    agent = register(cli_store)
    cli_store.stop_agent(agent.id)
    again = relaunch("agent", "stop", agent.id, "--now")
    assert again.code == 2
    assert one_line(again) == f"error: agent {agent.id} has stopped already"
    missing = relaunch("agent", "stop")
    assert missing.code == 2 and "Missing argument 'ID'" in one_line(missing)


def test_agent_no_longer_starts_an_agent(relaunch: Any) -> None:
    """Starting one is `relaunch launch-agent` (W&B's name); `agent` is the group."""
    started = relaunch("agent", "-q", "q", "--until-idle")
    assert started.code == 2 and "No such option" in one_line(started)
