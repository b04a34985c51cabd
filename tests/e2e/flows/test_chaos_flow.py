"""Exactly once under chaos, small: three real agents (``relaunch launch-agent``, a
real Prefect server on PostgreSQL, a PostgreSQL queue store) drain 40 local-process
jobs while agents are killed with SIGKILL and restarted (up to 4 kills, bounded). Counted
from each job's own append-only marker and from the events table. The full run (8
agents, 2,000 jobs) is bench/bench_chaos.py."""

from __future__ import annotations

from pathlib import Path

from launch_core.store import QueueStore
from tests.support import RELAUNCH
from tests.support.faults.chaos import AgentPool, agent_env, run_chaos


def test_agents_killed_and_restarted_run_every_job_exactly_once(
        cli_env: dict[str, str], postgres_url: str, tmp_path: Path) -> None:
    config = tmp_path / "launch-config.yaml"
    config.write_text("queues: [chaos]\nlease_seconds: 5\nmax_jobs: 4\n")
    out = tmp_path / "out"
    out.mkdir()
    pool = AgentPool([RELAUNCH, "launch-agent", "-c", str(config)],
                     agent_env(cli_env, postgres_url, tmp_path), tmp_path, n=3)
    store = QueueStore(postgres_url)
    try:
        result = run_chaos(store, pool, out, jobs=40, job_seconds=2.0, chaos_seconds=40,
                           kill_every=5, max_kills=4, timeout=240)
    finally:
        pool.stop_all()
        store.dispose()
    # How many kills land before the queue drains depends on the machine's speed.
    assert 1 <= result.kills <= 4
    assert result.states == {"finished": 40}
    assert result.twice == [] and result.never == []  # each job's side effect: once
    assert result.problems == []  # no double submit, nothing out of a final state
