"""Scaling: 1, 2 and 4 relaunch agents (separate `relaunch launch-agent` processes)
sharing one PostgreSQL queue store and one Prefect server (on PostgreSQL), each
configuration draining N trivial local-process jobs. Prints jobs/s per configuration
(first enqueue -> last finished_at), the speed-up vs. 1 agent, the cores and the load
average after each drain, and an exactly-once check from bench/_chaos.run_chaos with
no kills (each job's own marker lines, the events audit, the final states).

Every configuration gets a fresh store; the Prefect server is shared (started here,
127.0.0.1). Every process started here is stopped by PID.

Usage: python bench/bench_scaling.py [--jobs 1000] [--agents 1,2,4] [--max-jobs 16]
       [--repeat 1] [--quick]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _chaos  # noqa: E402
import _common  # noqa: E402


def drain(tmp: Path, api_url: str, agents: int, jobs: int, max_jobs: int,
          timeout: float) -> _chaos.ChaosResult:
    from launch_core.store import QueueStore

    work = tmp / f"agents-{agents}-{time.monotonic_ns()}"
    out = work / "out"
    out.mkdir(parents=True)
    config = work / "launch-config.yaml"
    config.write_text(f"queues: [{_chaos.QUEUE}]\nmax_jobs: {max_jobs}\n")
    with _common.temp_pg_database() as url:
        env = _chaos.agent_env(_common.prefect_env(work / "prefect-home", api_url), url, work)
        pool = _chaos.AgentPool([str(_common.BIN / "relaunch"), "launch-agent", "-c",
                                 str(config)], env, work, n=agents)
        store = QueueStore(url)
        try:
            return _chaos.run_chaos(store, pool, out, jobs=jobs, job_seconds=0,
                                    chaos_seconds=0, kill_every=1e9, max_kills=0,
                                    timeout=timeout)
        finally:
            pool.stop_all()
            store.dispose()


def exactly_once(result: _chaos.ChaosResult) -> bool:
    return (not result.twice and not result.never and not result.problems
            and result.states == {"finished": result.jobs})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--agents", default="1,2,4")
    parser.add_argument("--max-jobs", type=int, default=16, help="per agent")
    parser.add_argument("--repeat", type=int, default=1, help="drains per configuration "
                        "(the median is reported)")
    parser.add_argument("--timeout", type=float, default=1800, help="per drain, seconds")
    parser.add_argument("--quick", action="store_true", help="150 jobs")
    parser.add_argument("--time-limit", type=int, default=7200)
    args = parser.parse_args()
    if args.quick:
        args.jobs = min(args.jobs, 150)
    counts = [int(x) for x in args.agents.split(",") if x]

    print(f"bench_scaling  ({_common.machine()}); {args.jobs} trivial jobs per drain, "
          f"max_jobs {args.max_jobs} per agent, {args.repeat} drain(s) per configuration",
          flush=True)
    rows: list[tuple[int, float, list[float], bool]] = []
    with _common.bench_run("relaunch-bench-scaling-", args.time_limit) as tmp:
        with _common.prefect_server(tmp / "prefect-server-home") as api_url:
            for n in counts:
                rates, loads, checks = [], [], True
                for _ in range(args.repeat):
                    result = drain(tmp, api_url, n, args.jobs, args.max_jobs, args.timeout)
                    rates.append(result.jobs_per_second)
                    loads.append(os.getloadavg()[0])
                    checks &= exactly_once(result)
                    print(f"  {n} agent(s): {result.jobs} jobs in {result.seconds:6.1f} s = "
                          f"{result.jobs_per_second:6.2f} jobs/s  states {result.states}, "
                          f"twice {len(result.twice)}, never {len(result.never)}, audit "
                          f"problems {len(result.problems)}  (load {loads[-1]:.1f})",
                          flush=True)
                rows.append((n, statistics.median(rates), loads, checks))
        print()
        print(f"agents sharing one PostgreSQL store and one Prefect server, "
              f"{args.jobs} jobs, cpus {os.cpu_count()}")
        base = rows[0][1] if rows else 0.0
        for n, rate, loads, checks in rows:
            speedup = rate / base if base else 0.0
            print(f"  {n} agent(s)  {rate:7.2f} jobs/s (median of {args.repeat})  "
                  f"speed-up x{speedup:.2f} vs {rows[0][0]} (linear: x{n / rows[0][0]:g})  "
                  f"exactly once {_common.verdict(checks)}  load after: "
                  + ", ".join(f"{x:.1f}" for x in loads))
    return 0 if all(row[3] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
