"""Cancel and re-adoption of running containers: real Docker daemon, real open OCI
registry (Debian's docker-registry), the session's Prefect server, agents as
console-script processes on a SQLite cli_store."""

from __future__ import annotations

import os
import signal
import time

from tests.support.docker import (
    containers_of,
    create_queue,
    enqueue,
    run_agent,
    start_agent,
    wait_for,
    write_agent_config,
    write_code,
)


def _config(tmp_path, docker_env, names, **extra):
    return write_agent_config(
        tmp_path / "launch-config.yaml", names.queue,
        builder={"type": "docker", "destination": names.destination(docker_env.registry),
                 "base-image": docker_env.base_image}, **extra)


def _container_starts(docker_env, names, item_id: int, since: float) -> int:
    events = docker_env.client.events(
        since=int(since) - 1, until=int(time.time()) + 1, decode=True,
        filters={"type": "container", "event": "start",
                 "label": [f"relaunch.item={item_id}", f"relaunch.test={names.token}"]})
    return sum(1 for _ in events)


def test_cancel_running_container_stops_and_removes_it(
        relaunch, cli_store, cli_env, docker_env, names, agents, tmp_path):
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code, sleep=120)
    config = _config(tmp_path, docker_env, names, stopped_run_timeout=3)
    agent = start_agent(cli_env, tmp_path / "agent.log", "-c", str(config), "--until-idle")
    agents.append(agent)
    wait_for(lambda: cli_store.get_item(job).state == "running", "the job to run", 240)
    container_id = cli_store.get_item(job).handle["container_id"]
    [container] = containers_of(docker_env, names, job)
    assert container.id == container_id
    # While it runs, its output reaches `relaunch job logs`.
    wait_for(lambda: f"hello from {job}" in relaunch("job", "logs", str(job)).out,
             "the job's output in job logs", 60)

    assert relaunch("job", "cancel", str(job)).code == 0
    wait_for(lambda: cli_store.get_item(job).state == "cancelled", "the job to be cancelled", 90)
    wait_for(lambda: all(c.status != "running"
                         for c in containers_of(docker_env, names, job)),
             "the container to stop", 60)
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]
    assert containers_of(docker_env, names, job) == []
    item = cli_store.get_item(job)
    assert item.state == "cancelled" and item.exit_code in (None, 137, 143)


def test_kill_9_agent_then_second_agent_readopts_container_without_resubmitting(
        relaunch, cli_store, cli_env, docker_env, names, agents, tmp_path):
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code, sleep=10)
    config = _config(tmp_path, docker_env, names, lease_seconds=5)
    since = time.time()
    first = start_agent(cli_env, tmp_path / "agent-0.log", "-c", str(config))
    agents.append(first)
    wait_for(lambda: cli_store.get_item(job).state == "running", "the job to run", 240)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    [container] = containers_of(docker_env, names, job)  # the run outlives its agent

    second = run_agent(relaunch, config)
    assert second.code == 0, second.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert item.handle["container_id"] == container.id
    events = cli_store.events_for(job)
    assert [e.to_state for e in events].count("submitted") == 1
    assert any(e.message == "re-adopted" for e in events)
    assert containers_of(docker_env, names, job) == []
    assert _container_starts(docker_env, names, job, since) == 1
    # The brief's check: one run's worth of output in `relaunch job logs`.
    logs = relaunch("job", "logs", str(job)).out
    assert logs.count(f"hello from {job}") == 1, f"job logs printed {logs!r}"
    assert logs.count("done") == 1
