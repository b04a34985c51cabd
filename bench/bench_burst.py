"""Burst: N trivial jobs at once, one relaunch agent with 16 slots vs. a Prefect
process worker with a limit of 16, against one Prefect server this script starts on
127.0.0.1 (database on a throwaway PostgreSQL database); then relaunch's burst on the
default configuration (SQLite store, no PREFECT_API_URL: Prefect's temporary server)
for several max_jobs, counting the errors in the agent's log.

(a) relaunch: `relaunch launch-agent -q bench --max-jobs 16` on a PostgreSQL queue
    store, warmed up with one job; N jobs enqueued in a loop (launch_core.api.launch);
    jobs/s = finished jobs / (first enqueue -> last finished_at in the store).
(b) Prefect: a process work pool (concurrency limit 16), `prefect worker start --pool P
    --limit 16` (Prefect's default polling), a deployment of a trivial flow from a local
    file, warmed up with one run; N flow runs created in a loop with
    run_deployment(..., timeout=0); jobs/s = completed runs / (first creation -> last
    flow run end_time).
(c) the default configuration: relaunch's burst as in (a) on a SQLite store with
    Prefect's temporary server (the agent's own; no PREFECT_API_URL), for max_jobs in
    --default-max-jobs; errors: jobs not finished, and agent log lines with HTTP 503,
    `database is locked`, a flow run Failed/Crashed, a traceback.

Every process started here runs in its own session and is stopped by PID.

(c) counts an agent that cannot start (its temporary server not up in time) as FAILED.

Usage: python bench/bench_burst.py [--jobs 200] [--default-jobs 200]
       [--default-max-jobs 4,8,16] [--quick] [--parts abc]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import _drain  # noqa: E402
from bench_agent_latency import FLOW_FILE  # noqa: E402

POOL, SLOTS, TARGET_RATIO = "bench-burst-pool", 16, 5.0


def relaunch_burst(tmp: Path, label: str, api_url: str | None, make_db, jobs: int,  # type: ignore[no-untyped-def]
                   max_jobs: int, timeout: float) -> _drain.Burst:
    from launch_core.api import open_store

    with make_db() as url:
        store = open_store(url)
        try:
            return _drain.burst(store, tmp / label, url, api_url, jobs=jobs,
                                max_jobs=max_jobs, timeout=timeout)
        finally:
            store.dispose()


def prefect_burst(tmp: Path, api_url: str, jobs: int, timeout: float
                  ) -> tuple[int, float, float, float, dict[str, int], float]:
    """(jobs, t0, created, last end_time, final state counts, server CPU seconds) of
    N flow runs."""
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
    from prefect.deployments import run_deployment

    work = tmp / "prefect-worker"
    src, out = work / "flow-src", work / "out"
    src.mkdir(parents=True)
    out.mkdir()
    (src / "bench_flow.py").write_text(FLOW_FILE)
    env = _common.prefect_env(Path(os.environ["PREFECT_HOME"]), api_url)
    for cmd in (["work-pool", "create", "--type", "process", POOL],
                ["work-pool", "set-concurrency-limit", POOL, str(SLOTS)]):
        subprocess.run([str(_common.BIN / "prefect"), *cmd], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, timeout=120)
    deployable = flow.from_source(source=str(src), entrypoint="bench_flow.py:bench_trivial")
    with contextlib.redirect_stdout(io.StringIO()):  # the deploy table, not our output
        deployable.deploy(name="bench", work_pool_name=POOL, print_next_steps=False,
                          ignore_warnings=True)
    log_path = work / "worker.log"
    client = get_client(sync_client=True)

    def create(n: int) -> list:  # type: ignore[type-arg]
        return [run_deployment("bench-trivial/bench", timeout=0,
                               parameters={"out": str(out / f"run-{k}.json")}).id
                for k in range(n)]

    def final_runs(ids: list, limit: float, alive) -> list:  # type: ignore[no-untyped-def,type-arg]
        deadline = time.monotonic() + limit
        while True:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                id=FlowRunFilterId(any_=ids)), limit=len(ids))
            if len(runs) == len(ids) and all(r.state and r.state.is_final() for r in runs):
                return runs
            if time.monotonic() > deadline:
                return runs
            alive()
            time.sleep(0.5)

    with _common.started([str(_common.BIN / "prefect"), "worker", "start", "--pool", POOL,
                          "--limit", str(SLOTS)], env, log_path) as worker:
        def alive() -> None:
            _common.check_alive(worker, "worker", log_path)

        final_runs(create(1), 180, alive)  # warm-up: worker start-up and first poll
        server0 = _drain.server_cpu_seconds()
        t0 = time.time()
        ids = create(jobs)
        created = time.time()
        runs = final_runs(ids, timeout, alive)
        server_cpu = _drain.server_cpu_seconds() - server0
    states: dict[str, int] = {}
    for run in runs:
        name = run.state.type.value if run.state else "NONE"
        states[name] = states.get(name, 0) + 1
    ends = [r.end_time.timestamp() for r in runs if r.end_time is not None]
    return jobs, t0, created, max(ends, default=t0), states, server_cpu


def line(label: str, b: _drain.Burst, load: float) -> str:
    return (f"  {label:<34} {b.states.get('finished', 0):>4}/{b.jobs} finished in "
            f"{b.seconds:7.1f} s = {b.jobs_per_second:6.2f} jobs/s  (enqueue "
            f"{b.enqueued - b.t0:5.1f} s; load {load:.1f})"
            + ("  TIMED OUT" if b.timed_out else "")
            + f"\n      CPU per job: agent {b.agent_cpu / b.jobs * 1e3:.0f} ms, Prefect server "
            f"{b.server_cpu / b.jobs * 1e3:.0f} ms")


def prefect_line(pf: tuple[int, float, float, float, dict[str, int], float], load: float
                 ) -> str:
    n, t0, created, last, states, server_cpu = pf
    done = states.get("COMPLETED", 0)
    rate = done / (last - t0) if last > t0 else 0.0
    return (f"  {'prefect process worker, limit ' + str(SLOTS):<34} {done:>4}/{n} "
            f"completed in {last - t0:7.1f} s = {rate:6.2f} jobs/s  (creation "
            f"{created - t0:5.1f} s; load {load:.1f}; states {states})\n      CPU per "
            f"job: Prefect server {server_cpu / n * 1e3:.0f} ms (the flow run processes "
            "not counted)")


def default_lines(slots: int, b: _drain.Burst | str, load: float) -> str:
    if isinstance(b, str):
        return f"  max_jobs {slots:<25} FAILED (load {load:.1f}): {b}"
    errs = ", ".join(f"{k} {v}" for k, v in b.log_errors.items() if v) or "none"
    return (line(f"max_jobs {slots}", b, load) + f"\n      errors: {b.not_finished} not "
            f"finished (states {b.states}); agent log: {errs}  -> "
            f"{'CLEAN' if not b.error_count else 'ERRORS'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--default-jobs", type=int, default=200)
    parser.add_argument("--default-max-jobs", default="4,8,16")
    parser.add_argument("--timeout", type=float, default=900, help="per burst, seconds")
    parser.add_argument("--quick", action="store_true", help="60 jobs, 60 on the default "
                        "configuration")
    parser.add_argument("--parts", default="abc", help="which of (a) (b) (c) to run")
    parser.add_argument("--time-limit", type=int, default=3600)
    args = parser.parse_args()
    if args.quick:
        args.jobs, args.default_jobs = min(args.jobs, 60), min(args.default_jobs, 60)
    default_slots = [int(x) for x in args.default_max_jobs.split(",") if x]
    parts = set(args.parts)

    print(f"bench_burst  ({_common.machine()})", flush=True)
    with _common.bench_run("relaunch-bench-burst-", args.time_limit) as tmp:
        server = (_common.prefect_server(tmp / "prefect-server-home") if parts & set("ab")
                  else contextlib.nullcontext(""))
        with server as api_url:
            rel = pf = None
            if not api_url:  # (c) only: no server of ours
                parts.discard("a")
                parts.discard("b")
            for key in [k for k in os.environ if k.startswith(("PREFECT_", "RELAUNCH_"))]:
                del os.environ[key]
            os.environ.update(_common.prefect_env(tmp / "prefect-client-home", api_url))
            import prefect

            if api_url:
                print(f"Prefect server {prefect.__version__} at {api_url} (PostgreSQL)",
                      flush=True)
            if "a" in parts:
                rel = relaunch_burst(tmp, "relaunch-pg", api_url, _common.temp_pg_database,
                                     args.jobs, SLOTS, args.timeout)
                rel_load = os.getloadavg()[0]
                print(line(f"relaunch, max_jobs {SLOTS}, PG store", rel, rel_load),
                      flush=True)
            if "b" in parts:
                pf = prefect_burst(tmp, api_url, args.jobs, args.timeout)
                pf_load = os.getloadavg()[0]
                print(prefect_line(pf, pf_load), flush=True)
        defaults: list[tuple[int, _drain.Burst | str, float]] = []
        for slots in default_slots if "c" in parts else []:
            try:
                b: _drain.Burst | str = relaunch_burst(
                    tmp, f"default-{slots}", None, _common.temp_sqlite, args.default_jobs,
                    slots, args.timeout)
            except (RuntimeError, TimeoutError) as exc:  # the agent exited, or no warm-up
                b = str(exc).splitlines()[0][:300]
            defaults.append((slots, b, os.getloadavg()[0]))
            print(default_lines(*defaults[-1]), flush=True)
        print()
        if rel is not None or pf is not None:
            print(f"(a)/(b) burst of {args.jobs} trivial jobs, {SLOTS} slots, one Prefect "
                  "server on PostgreSQL (first enqueue/creation -> last recorded end)")
        if rel is not None:
            print(line(f"relaunch agent, max_jobs {SLOTS}", rel, rel_load))
        if pf is not None:
            print(prefect_line(pf, pf_load))
        if rel is not None and pf is not None:
            rate = pf[4].get("COMPLETED", 0) / (pf[3] - pf[1]) if pf[3] > pf[1] else 0.0
            ratio = rel.jobs_per_second / rate if rate else float("inf")
            print(f"  relaunch / prefect: x{ratio:.1f}  (target >= x{TARGET_RATIO:g}: "
                  f"{_common.verdict(ratio >= TARGET_RATIO)})")
        if defaults:
            print(f"(c) default configuration (SQLite store, Prefect's temporary server, "
                  f"startup timeout {_drain.EPHEMERAL_STARTUP_SECONDS} s), "
                  f"{args.default_jobs} jobs each")
            for row in defaults:
                print(default_lines(*row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
