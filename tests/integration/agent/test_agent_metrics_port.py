"""An agent's /metrics as the agent serves it (SQLite, no Prefect): two agents in one
process each serve their own figures at once (a registry per agent, no clash), each
server stops with its agent, and a port in use stops the agent before it registers."""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from launch_core import api
from launch_core.errors import InvalidInput
from launch_core.spec.agent_config import AgentConfig
from launch_core.store import QueueItem, QueueStore
from tests.support.agent_runner import make_agent
from tests.support.marker_jobs import Jobs
from tests.support.prefect_server import free_port


def gated(store: QueueStore, queue: str, gate: Path, code: int = 0) -> QueueItem:
    """A job of ``queue`` that waits for ``gate`` to exist, then exits with ``code``."""
    script = (f"import os, sys, time\nwhile not os.path.exists({str(gate)!r}): "
              f"time.sleep(0.05)\nsys.exit({code})")
    return api.launch(store, queue, {"image": "local",
                                     "entry_point": [sys.executable, "-c", script]},
                      entity="team")


def samples(text: str, name: str) -> dict[tuple[str, ...], float]:
    """The samples of ``name``: label values (sorted by label name) -> value."""
    return {tuple(v for _, v in sorted(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples
            if s.name == name}


def scrape(port: int) -> str | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.ConnectError:
        return None


async def wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not await asyncio.to_thread(condition):
            await asyncio.sleep(0.05)


def test_two_agents_in_one_process_serve_their_own_figures(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig,
        tmp_path: Path) -> None:
    api.create_queue(sqlite_store, "other", "local-process", entity="team")
    gate = tmp_path / "gate"
    items = [gated(sqlite_store, "q", gate), gated(sqlite_store, "q", gate, code=3),
             gated(sqlite_store, "other", gate)]
    ports = [free_port(), free_port()]
    agents = [make_agent(sqlite_store, agent_config.model_copy(
        update={"metrics_port": port, "queues": [queue]}), until_idle=True)
        for port, queue in zip(ports, ["q", "other"], strict=True)]
    running: list[dict[tuple[str, ...], float]] = []

    async def main() -> None:
        tasks = [asyncio.create_task(agent.run()) for agent in agents]
        await wait_for(lambda: all(sqlite_store.get_item(i.id).state == "running"
                                   for i in items))
        for port in ports:  # both servers up at once, in this one process
            text = await asyncio.to_thread(scrape, port)
            assert text is not None
            running.append(samples(text, "relaunch_agent_running_jobs"))
        gate.touch()
        await asyncio.gather(*tasks)

    asyncio.run(main())
    assert running == [{("team", "q"): 2}, {("team", "other"): 1}]
    ends = [samples(generate_latest(agent.metrics.registry).decode(),
                    "relaunch_job_ends_total") for agent in agents]
    # labels sorted by name: entity, queue, resource, stage, state
    assert ends == [{("team", "q", "local-process", "", "finished"): 1,
                     ("team", "q", "local-process", "run", "failed"): 1},
                    {("team", "other", "local-process", "", "finished"): 1}]
    assert [scrape(port) for port in ports] == [None, None]  # stopped with their agents


def test_a_port_in_use_stops_the_agent_before_it_registers(
        jobs: Jobs, sqlite_store: QueueStore, agent_config: AgentConfig) -> None:
    jobs.enqueue()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = int(sock.getsockname()[1])
        agent = make_agent(sqlite_store, agent_config.model_copy(update={"metrics_port": port}))
        with pytest.raises(InvalidInput) as info:
            asyncio.run(agent.run())
    assert str(info.value) == (f"--metrics-port/metrics_port: cannot serve /metrics on "
                               f"127.0.0.1:{port}: Address already in use")
    assert sqlite_store.list_agents("team") == []
    assert [item.state for item in sqlite_store.list_items(entity="team")] == ["queued"]
