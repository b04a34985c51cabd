"""Orchestration overhead per job, two source trees back to back (before/after a change).

Against one Prefect server this script starts on 127.0.0.1 (database on a throwaway
PostgreSQL database), it runs bench_agent_latency's relaunch measurement (an idle
`relaunch launch-agent -q bench --max-jobs 4`, warmed up, one trivial local-process
job at a time) for each variant and queue store, alternating the variants round after
round so both see the same machine load. A variant is a source tree put first on
the agent's PYTHONPATH (``--before DIR``: e.g. ``git archive c0aa746 | tar -x -C DIR``);
``after`` is this checkout, or ``--after DIR``.

Prints per variant and store: overhead (store finished_at - enqueue - the job's own
time) p50/p99 of each round, their medians, the load average during each round, and
where the time goes (events table and the launch-job flow run's task start times),
the Prefect REST calls per job are not counted here (see tests/support/fault_proxy.py).

Usage: python bench/bench_job_overhead.py --before DIR [--after DIR] [--rounds 3] [--samples 15]
       [--stores sqlite,postgresql]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import bench_agent_latency as latency  # noqa: E402

TIME_LIMIT = 1500  # seconds, whole script (SIGALRM)
MAKE_DB = {"sqlite": _common.temp_sqlite, "postgresql": _common.temp_pg_database}


def one_round(variant: str, tree: Path | None, store: str, n: int, tmp: Path, api: str,
              samples: int) -> tuple[list[latency.Sample], float]:
    """The samples of one agent run of ``variant`` on ``store``, and the 1-min load."""
    saved = os.environ.get("PYTHONPATH")
    if tree is not None:
        os.environ["PYTHONPATH"] = str(tree)
    else:
        os.environ.pop("PYTHONPATH", None)
    try:
        with MAKE_DB[store]() as url:
            result, _ = latency.bench_relaunch(f"{variant}-{store}-{n}", url, tmp, api,
                                               samples, time_bound=120)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return result, os.getloadavg()[0]


def report(runs: dict[tuple[str, str], list[tuple[list[latency.Sample], float]]]) -> None:
    p = latency.p
    print("overhead per job = store finished_at - enqueue - job's own run time "
          "(p50 / p99 per round, s; load = 1-min load average after the round)")
    for (variant, store), rounds in runs.items():
        cells = "  ".join(f"{p([s.overhead for s in r], 50):.3f}/"
                          f"{p([s.overhead for s in r], 99):.3f} (load {load:.1f})"
                          for r, load in rounds)
        p50 = statistics.median(p([s.overhead for s in r], 50) for r, _ in rounds)
        p99 = statistics.median(p([s.overhead for s in r], 99) for r, _ in rounds)
        start = statistics.median(p([s.latency for s in r], 50) for r, _ in rounds)
        print(f"  {variant:<7}{store:<11} median p50 {p50:.3f} s  p99 {p99:.3f} s  "
              f"(enqueue->start p50 {start:.3f} s)   rounds: {cells}")
    print("where the time goes (all rounds pooled):")
    for (variant, store), rounds in runs.items():
        pooled = [s for r, _ in rounds for s in r]
        detailed = [s for s in pooled if len({name for name, _ in s.steps}) >= 13]
        names = latency.RELAUNCH_DETAIL if detailed == pooled else latency.RELAUNCH_STEPS
        for line in latency.breakdown(f"{variant}, {store}", pooled, names):
            print(line)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, help="source tree of the 'before' variant")
    parser.add_argument("--after", type=Path, help="source tree of the 'after' variant "
                        "(default: this checkout)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--samples", type=int, default=15, help="per round")
    parser.add_argument("--stores", default="sqlite,postgresql")
    args = parser.parse_args()
    variants: list[tuple[str, Path | None]] = [
        ("after", args.after.resolve() if args.after else None)]
    if args.before:
        variants.insert(0, ("before", args.before.resolve()))
    stores = args.stores.split(",")
    print(f"bench_job_overhead  ({_common.machine()})", flush=True)
    with (_common.bench_run("relaunch-bench-overhead-", TIME_LIMIT) as tmp,
          _common.prefect_server(tmp / "prefect-server-home") as api):
        _common.become_prefect_client(tmp / "prefect-client-home", api)
        runs: dict[tuple[str, str], list[tuple[list[latency.Sample], float]]] = {}
        began = time.monotonic()
        for n in range(args.rounds):
            for variant, tree in variants:
                for store in stores:
                    runs.setdefault((variant, store), []).append(
                        one_round(variant, tree, store, n, tmp, api, args.samples))
                    print(f"[round {n + 1}] {variant} {store} done at "
                          f"{time.monotonic() - began:.0f} s", flush=True)
        for rounds in runs.values():
            for samples, _ in rounds:
                latency.add_flow_run_steps(samples)
        print()
        report(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
