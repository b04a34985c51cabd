"""One relaunch agent draining a burst of trivial local-process jobs, for
bench/bench_burst.py and bench/bench_agent_memory.py: start the agent (its own
session, stopped by PID), warm it up with one job, enqueue a burst, wait until every
job has ended, count what went wrong in the agent's log.

Only 127.0.0.1. The job is bench_agent_latency's trivial job (records its start and
end time in OUTDIR/<item id>.json), or a job sleeping SECONDS when ``sleep`` is given.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import _common
from bench_agent_latency import JOB, JOB_PYTHON

ENTITY, QUEUE = "bench", "bench"
# Prefect's temporary server must start within this (its default, 20 s, is too short
# on a loaded machine: the agent exits "Timed out while attempting to connect").
EPHEMERAL_STARTUP_SECONDS = "120"
SLEEP_JOB = "import sys,time\ntime.sleep(float(sys.argv[1]))\n"
# What counts as an error in an agent's log (one count per matching line).
LOG_ERRORS = {
    "HTTP 503": re.compile(r"503 Service Unavailable|status code 503"),
    "database is locked": re.compile(r"database is locked"),
    "flow run failed/crashed": re.compile(r"in state '?(Failed|Crashed)"),
    "traceback": re.compile(r"^Traceback "),
    "lease lost (swept)": re.compile(r"lost job \d+"),
    "job given back": re.compile(r"given back for another attempt"),
}


@dataclass
class Burst:
    """One drained burst: enqueue and end times, final states, log error counts."""

    jobs: int
    t0: float                 # just before the first enqueue
    enqueued: float           # just after the last enqueue
    last_end: float           # the last recorded end (store finished_at)
    states: dict[str, int]
    log_errors: dict[str, int] = field(default_factory=dict)
    timed_out: bool = False
    agent_cpu: float = 0.0    # CPU seconds of the agent process during the burst
    server_cpu: float = 0.0   # CPU seconds of the Prefect server(s) during the burst

    @property
    def seconds(self) -> float:
        return self.last_end - self.t0

    @property
    def jobs_per_second(self) -> float:
        done = self.states.get("finished", 0)
        return done / self.seconds if self.seconds > 0 else 0.0

    @property
    def not_finished(self) -> int:
        return self.jobs - self.states.get("finished", 0)

    @property
    def error_count(self) -> int:
        return self.not_finished + sum(self.log_errors.values())


def agent_env(work: Path, url: str, api_url: str | None) -> dict[str, str]:
    """The agent's environment: store ``url``, own data dir and PREFECT_HOME; without
    ``api_url`` no PREFECT_API_URL (Prefect starts its temporary server)."""
    env = _common.prefect_env(work / "prefect-home", api_url)
    env.update(RELAUNCH_DATABASE_URL=url, RELAUNCH_DATA_DIR=str(work / "data"),
               RELAUNCH_ENTITY=ENTITY, HOME=str(work / "home"))
    if not api_url:
        env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = EPHEMERAL_STARTUP_SECONDS
    return env


@contextlib.contextmanager
def agent(work: Path, url: str, api_url: str | None, max_jobs: int
          ) -> Iterator[tuple[subprocess.Popen[bytes], Path]]:
    """``relaunch launch-agent -q bench --max-jobs N``; yields (process, log path)."""
    work.mkdir(parents=True, exist_ok=True)
    log_path = work / "agent.log"
    with _common.started([str(_common.BIN / "relaunch"), "launch-agent", "-q", QUEUE,
                          "--max-jobs", str(max_jobs)], agent_env(work, url, api_url),
                         log_path) as proc:
        yield proc, log_path


def job_fields(out: Path, sleep: float | None = None) -> dict[str, Any]:
    code, args = (SLEEP_JOB, [str(sleep)]) if sleep is not None else (JOB, [str(out)])
    return {"image": "bench/none:latest", "entry_point": [JOB_PYTHON, "-c", code],
            "args": args, "author": "bench"}


def enqueue(store: Any, fields: dict[str, Any], n: int) -> list[int]:
    from launch_core.api import launch

    return [launch(store, QUEUE, fields, entity=ENTITY).id for _ in range(n)]


def states_of(store: Any, ids: list[int]) -> dict[str, int]:
    states: dict[str, int] = {}
    for item_id in ids:
        state = store.get_item(item_id).state
        states[state] = states.get(state, 0) + 1
    return states


def wait_ended(store: Any, ids: list[int], timeout: float, alive: Any) -> bool:
    """Wait until every item is in a final state; False when ``timeout`` passed first."""
    from launch_core.store.states import TERMINAL

    pending = list(ids)
    deadline = time.monotonic() + timeout
    while pending:
        pending = [i for i in pending if store.get_item(i).state not in TERMINAL]
        if not pending:
            break
        if time.monotonic() > deadline:
            return False
        alive()
        time.sleep(0.2)
    return True


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process (0 when gone)."""
    import os

    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds() -> float:
    """CPU seconds of the Prefect servers this bench started (its own, or an agent's
    temporary one): descendants whose command line runs a Prefect server."""
    import os

    total = 0.0
    for pid, _ in _common.descendants(os.getpid()):
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if b"prefect" in cmd and (b"server start" in cmd or b"uvicorn" in cmd):
            total += cpu_seconds(pid)
    return total


def count_log_errors(log_path: Path) -> dict[str, int]:
    text = _common.log_tail(log_path, n=50_000_000)
    return {name: sum(1 for line in text.splitlines() if pattern.search(line))
            for name, pattern in LOG_ERRORS.items()}


def burst(store: Any, work: Path, url: str, api_url: str | None, *, jobs: int,
          max_jobs: int, timeout: float, warmup_timeout: float = 180) -> Burst:
    """Warm an agent up with one job, then enqueue ``jobs`` at once and wait for all
    to end (or ``timeout``); the agent is stopped before the log is read."""
    from launch_core.api import create_queue

    out = work / "out"
    out.mkdir(parents=True, exist_ok=True)
    create_queue(store, QUEUE, "local-process", entity=ENTITY)
    fields = job_fields(out)
    with agent(work, url, api_url, max_jobs) as (proc, log_path):
        def alive() -> None:
            _common.check_alive(proc, "agent", log_path)

        warm = enqueue(store, fields, 1)
        if not wait_ended(store, warm, warmup_timeout, alive):
            raise TimeoutError(f"warm-up job not ended after {warmup_timeout:.0f} s: "
                               f"{_common.log_tail(log_path)}")
        cpu0, server0 = cpu_seconds(proc.pid), server_cpu_seconds()
        t0 = time.time()
        ids = enqueue(store, fields, jobs)
        enqueued = time.time()
        ended = wait_ended(store, ids, timeout, alive)
        cpu = (cpu_seconds(proc.pid) - cpu0, server_cpu_seconds() - server0)
    ends = [float(item.finished_at) for i in ids
            if (item := store.get_item(i)).finished_at is not None]
    return Burst(jobs, t0, enqueued, max(ends, default=t0), states_of(store, ids),
                 count_log_errors(log_path), timed_out=not ended, agent_cpu=cpu[0],
                 server_cpu=cpu[1])
