"""Exactly once at scale, under chaos (issue 12): 8 agent processes (``relaunch
launch-agent``, a Prefect server on PostgreSQL, a PostgreSQL queue store) drain 2,000
trivial local-process jobs while a loop kills a random agent with SIGKILL every few
seconds and restarts it (bounded: --max-kills, --chaos-seconds). Then the counts:
each job's own append-only marker (runs per job), the events audit (no item
submitted twice per run, no move out of a final state, no illegal move), the final
states; jobs/s and recovery times (a killed agent's items: kill -> the next event by
another agent). With --baseline, the same drain without kills first, for the ratio.

Usage: python bench/bench_chaos.py [--agents 8] [--jobs 2000] [--max-kills 20]
       [--chaos-seconds 120] [--kill-every 5] [--job-seconds 0.5] [--lease 10]
       [--max-jobs 16] [--baseline] [--timeout 1200]
Needs RELAUNCH_TEST_POSTGRES_URL (or the local server scripts/start-postgres.sh starts).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _chaos  # noqa: E402
import _common  # noqa: E402


def drain(args: argparse.Namespace, api_url: str, tmp: Path, label: str,
          max_kills: int) -> _chaos.ChaosResult:
    from launch_core.store import QueueStore

    work = tmp / label
    out = work / "out"
    out.mkdir(parents=True)
    config = work / "launch-config.yaml"
    config.write_text(f"queues: [{_chaos.QUEUE}]\nlease_seconds: {args.lease}\n"
                      f"max_jobs: {args.max_jobs}\n")
    with _common.temp_pg_database() as url:
        env = _chaos.agent_env(_common.prefect_env(work / "prefect-home", api_url), url, work)
        pool = _chaos.AgentPool([str(_common.BIN / "relaunch"), "launch-agent", "-c",
                                 str(config)], env, work, n=args.agents)
        store = QueueStore(url)
        last = [0.0]

        def progress(line: str) -> None:
            if time.monotonic() - last[0] > 15:
                last[0] = time.monotonic()
                print(f"  [{label}] {line}", flush=True)

        try:
            return _chaos.run_chaos(
                store, pool, out, jobs=args.jobs, job_seconds=args.job_seconds,
                chaos_seconds=args.chaos_seconds, kill_every=args.kill_every,
                max_kills=max_kills, timeout=args.timeout, progress=progress)
        finally:
            pool.stop_all()
            store.dispose()


def report(label: str, result: _chaos.ChaosResult) -> None:
    rec = sorted(result.recovery)
    recovery = (f"n={len(rec)} p50 {_common.percentile(rec, 50):.1f} s, "
                f"p95 {_common.percentile(rec, 95):.1f} s, max {rec[-1]:.1f} s"
                if rec else "none (no killed agent held a job)")
    print(f"{label}: {result.jobs} jobs in {result.seconds:.1f} s = "
          f"{result.jobs_per_second:.2f} jobs/s, {result.kills} kill(s)")
    print(f"  final states: {result.states}")
    print(f"  runs per job (markers): twice {len(result.twice)}, never {len(result.never)}"
          f"  {_common.verdict(not result.twice and not result.never)}")
    print(f"  events audit: {len(result.problems)} problem(s)"
          f"  {_common.verdict(not result.problems)}")
    for problem in result.problems[:10]:
        print(f"    {problem}")
    print(f"  recovery (kill -> next agent's event on its items): {recovery}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--max-kills", type=int, default=20)
    parser.add_argument("--chaos-seconds", type=float, default=120)
    parser.add_argument("--kill-every", type=float, default=5)
    parser.add_argument("--job-seconds", type=float, default=0.5)
    parser.add_argument("--lease", type=float, default=10)
    parser.add_argument("--max-jobs", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--baseline", action="store_true", help="also drain without kills")
    args = parser.parse_args()
    print(_common.machine())
    print(f"{args.agents} agents x max_jobs {args.max_jobs}, {args.jobs} jobs of "
          f"{args.job_seconds} s, lease {args.lease} s; kills: every ~{args.kill_every} s "
          f"for {args.chaos_seconds} s, at most {args.max_kills}")
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-chaos-") as name:
        tmp = Path(name)
        with _common.prefect_server(tmp / "prefect-server") as api_url:
            results = {}
            if args.baseline:
                results["no kills"] = drain(args, api_url, tmp, "baseline", max_kills=0)
            results["chaos"] = drain(args, api_url, tmp, "chaos", max_kills=args.max_kills)
    for label, result in results.items():
        report(label, result)
        ok &= not result.twice and not result.never and not result.problems
        ok &= result.states == {"finished": result.jobs}
    if "no kills" in results:
        ratio = results["chaos"].jobs_per_second / results["no kills"].jobs_per_second
        print(f"jobs/s under chaos vs without: x{ratio:.2f}")
    print(f"exactly once: {_common.verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
