"""Heartbeats cannot starve: one agent with max_jobs 8 and a 5 s lease builds eight
images whose build takes ~12 s each, while a second agent polls the same queue.
Real Docker daemon, real Prefect server, SQLite cli_store."""

from __future__ import annotations

import json

from tests.support import wait_for
from tests.support.docker import create_queue, start_agent, write_agent_config, write_code

DOCKERFILE = """\
FROM {base}
COPY . /app
WORKDIR /app
RUN sleep 12
"""


def test_eight_slow_builds_with_a_short_lease_run_exactly_once_and_keep_their_leases(
        relaunch, cli_store, docker_env, names, tmp_path, cli_env):
    create_queue(relaunch, "slow", names)
    jobs = []
    for n in range(8):  # distinct contexts: eight real builds, none cached
        code = write_code(tmp_path / f"job{n}", Dockerfile=DOCKERFILE.format(
            base=docker_env.base_image), token__txt=f"{names.token}-{n}")
        result = relaunch("launch", "-q", "slow", "--code", str(code), "-E", "python3 main.py",
                          "--run-config", json.dumps({"n": n}), "--json")
        assert result.code == 0, result.err
        jobs.append(int(result.json()["id"]))
    builder = {"type": "docker", "base-image": docker_env.base_image}
    busy = write_agent_config(tmp_path / "busy.yaml", "slow", max_jobs=8, lease_seconds=5,
                              builder=builder)
    other = write_agent_config(tmp_path / "other.yaml", "slow", max_jobs=8, lease_seconds=5,
                               builder=builder)
    first = start_agent(cli_env, tmp_path / "busy.log", "-c", str(busy), "--until-idle")
    # the second agent starts once the first holds every job, and polls until all end
    wait_for(lambda: all(cli_store.get_item(j).state != "queued" for j in jobs),
             "the first agent to claim every job", 60)
    second = start_agent(cli_env, tmp_path / "other.log", "-c", str(other), "--until-idle")
    for proc, log in ((first, "busy.log"), (second, "other.log")):
        assert proc.wait(timeout=600) == 0, (tmp_path / log).read_text()[-3000:]

    for job in jobs:
        item = cli_store.get_item(job)
        assert item.state == "finished", (item.state, item.reason)
        events = cli_store.events_for(job)
        # State changes only: notes (the launch-job flow run, build steps) keep the state.
        states = [e.to_state for e in events if e.from_state != e.to_state]
        assert states.count("claimed") == 1 and states.count("submitted") == 1, states
        assert not [e for e in events if e.actor == "sweeper"], "a lease lapsed"
        assert "built image" in " ".join(e.message or "" for e in events)
        output = relaunch("job", "logs", str(job)).out
        assert output.count("hello from") == 1, output  # the job's own output: one run
        assert f'"n": {jobs.index(job)}' in output
