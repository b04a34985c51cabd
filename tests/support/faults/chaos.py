"""Exactly-once under chaos: agent processes drain a queue of trivial local-process
jobs on a PostgreSQL store while a loop kills (-9) and restarts random agents. Used by
bench/bench_chaos.py (8 agents, 2,000 jobs) and tests/e2e/flows/test_chaos_flow.py (a small
run). Counts come from each job's own side effect (an append-only marker line per run
of the job) and from the events table (launch_core.store.audit); nothing here decides
success from the final states alone.

Only 127.0.0.1; bounded in kills and time; every process started here is stopped here,
by PID.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENTITY, QUEUE = "chaos", "chaos"
# The job: append one line (its run id and pid) to <out>/<item id>.log, then sleep a
# little so kills land while jobs run. O_APPEND: a second run shows as a second line.
JOB = ("import os,sys,time\n"
       "p=os.path.join(sys.argv[1],os.environ['RELAUNCH_ITEM_ID']+'.log')\n"
       "fd=os.open(p,os.O_WRONLY|os.O_CREAT|os.O_APPEND)\n"
       "os.write(fd,(os.environ['RELAUNCH_RUN_ID']+' '+str(os.getpid())+'\\n').encode())\n"
       "os.close(fd)\n"
       "time.sleep(float(sys.argv[2]))\n")


@dataclass
class ChaosResult:
    jobs: int
    seconds: float  # first enqueue to last job ended
    kills: int
    states: dict[str, int]
    runs_per_job: dict[int, int]  # item id -> marker lines (runs of the job)
    recovery: list[float]  # per item a killed agent held: kill -> next agent's event
    problems: list[str] = field(default_factory=list)  # from the events audit

    @property
    def twice(self) -> list[int]:
        return [item for item, runs in self.runs_per_job.items() if runs > 1]

    @property
    def never(self) -> list[int]:
        return [item for item, runs in self.runs_per_job.items() if runs == 0]

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0


class AgentPool:
    """``n`` agent processes (``relaunch launch-agent``), each in its own session."""

    def __init__(self, cmd: list[str], env: dict[str, str], log_dir: Path, n: int) -> None:
        self.cmd, self.env, self.log_dir = cmd, env, log_dir
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * n
        self.started = 0

    def start(self, slot: int) -> None:
        self.started += 1
        with open(self.log_dir / f"agent-{slot}-{self.started}.log", "ab") as log:
            self.procs[slot] = subprocess.Popen(
                self.cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def kill_9(self, slot: int) -> int:
        """SIGKILL the agent process (its jobs run in their own sessions and survive);
        returns its pid."""
        proc = self.procs[slot]
        assert proc is not None
        proc.kill()
        proc.wait(timeout=30)
        return proc.pid

    def stop_all(self, grace: float = 20.0) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in self.procs:
            if proc is None:
                continue
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)


def run_chaos(store: Any, pool: AgentPool, out: Path, *, jobs: int, job_seconds: float,
              chaos_seconds: float, kill_every: float, max_kills: int, timeout: float,
              seed: int = 7, progress: Callable[[str], None] | None = None) -> ChaosResult:
    """Enqueue ``jobs``, start the pool, kill -9 a random agent every ~``kill_every``
    seconds (restarting it 1 s later) for ``chaos_seconds`` or ``max_kills``, then let
    the agents drain. Raises TimeoutError when the queue is not drained in ``timeout``."""
    from launch_core.api import create_queue, launch
    from launch_core.store.audit import audit_store
    from launch_core.store.states import TERMINAL

    rng = random.Random(seed)
    create_queue(store, QUEUE, "local-process", entity=ENTITY)
    fields = {"image": "chaos/none:latest", "entry_point": [sys.executable, "-c", JOB],
              "author": "chaos"}
    t0 = time.time()
    ids = [launch(store, QUEUE, {**fields, "args": [str(out), str(job_seconds)]},
                  entity=ENTITY).id for _ in range(jobs)]
    for slot in range(len(pool.procs)):
        pool.start(slot)
    kills: list[tuple[float, str]] = []  # (when, agent id)
    chaos_end = time.monotonic() + chaos_seconds
    deadline = time.monotonic() + timeout
    next_kill = time.monotonic() + kill_every * rng.uniform(0.5, 1.5)
    while True:
        done = _count_terminal(store, TERMINAL)
        if progress:
            progress(f"{done}/{jobs} ended, {len(kills)} kill(s)")
        if done >= jobs:
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"{done}/{jobs} jobs ended after {timeout:.0f} s")
        now = time.monotonic()
        if now >= next_kill and now < chaos_end and len(kills) < max_kills:
            slot = rng.randrange(len(pool.procs))
            pid = pool.kill_9(slot)
            kills.append((time.time(), _agent_of(store, pid)))
            time.sleep(1.0)
            pool.start(slot)
            next_kill = time.monotonic() + kill_every * rng.uniform(0.5, 1.5)
        time.sleep(0.5)
    last_end = max(float(store.get_item(i).finished_at or 0) for i in ids)
    pool.stop_all()
    audit = audit_store(store)
    states: dict[str, int] = {}
    for item_id in ids:
        state = store.get_item(item_id).state
        states[state] = states.get(state, 0) + 1
    runs = {item_id: _marker_lines(out / f"{item_id}.log") for item_id in ids}
    return ChaosResult(jobs, last_end - t0, len(kills), states, runs,
                       _recovery_times(store, kills), audit.problems)


def _count_terminal(store: Any, terminal: tuple[str, ...]) -> int:
    from sqlalchemy import func, select

    from launch_core.store.schema import items

    with store._read() as conn:
        return int(conn.execute(select(func.count()).where(
            items.c.state.in_(terminal))).scalar_one())


def _agent_of(store: Any, pid: int) -> str:
    from sqlalchemy import select

    from launch_core.store.schema import agents

    with store._read() as conn:
        row = conn.execute(select(agents.c.id).where(agents.c.pid == pid)
                           .order_by(agents.c.started_at.desc())).first()
    return str(row.id) if row else f"pid-{pid}"


def _recovery_times(store: Any, kills: list[tuple[float, str]]) -> list[float]:
    """For each item a killed agent held when it died: seconds until the next event
    by another actor (a re-adoption, a requeue by the sweep, or an end)."""
    from sqlalchemy import select

    from launch_core.store.schema import events

    with store._read() as conn:
        rows = conn.execute(select(events.c.item_id, events.c.actor, events.c.at)
                            .order_by(events.c.id)).all()
    times = []
    for when, agent in kills:
        held: dict[int, bool] = {}
        for row in rows:  # who held each item at the kill: the last actor before it
            if row.at <= when:
                held[row.item_id] = row.actor == agent
        for item_id, by_dead in held.items():
            if not by_dead:
                continue
            later = [row.at for row in rows
                     if row.item_id == item_id and row.at > when and row.actor != agent]
            if later:
                times.append(later[0] - when)
    return times


def _marker_lines(path: Path) -> int:
    try:
        return len(path.read_text().splitlines())
    except FileNotFoundError:
        return 0


def agent_env(base: dict[str, str], url: str, work: Path) -> dict[str, str]:
    """The agents' environment: the store, one data dir (re-adoption of local
    processes needs the runs' files), the chaos entity."""
    (work / "home").mkdir(parents=True, exist_ok=True)
    return {**base, "RELAUNCH_DATABASE_URL": url, "RELAUNCH_DATA_DIR": str(work / "data"),
            "RELAUNCH_ENTITY": ENTITY, "HOME": str(work / "home"),
            "PATH": os.environ.get("PATH", "")}
