"""Agent memory: resident set size (VmRSS, /proc/<pid>/status) of a relaunch agent
(`relaunch launch-agent -q bench --max-jobs 16`, PostgreSQL queue store, a Prefect
server on PostgreSQL, both started here on 127.0.0.1), summed over the agent process
and any descendants still in its session (Prefect-side children; the jobs run in
their own sessions and are not counted):

(a) with 16 running jobs (jobs that wait for a stop file), target <= 250 MB;
(b) after 100 and after 1,000 trivial jobs (bench_agent_latency's job), target: the
    later within 10% of the earlier.

Each reading is the median of 5 samples over ~2 s, taken while the agent is idle (or,
for (a), while its 16 jobs run). Every process started here is stopped by PID.

Usage: python bench/bench_agent_memory.py [--early 100] [--late 1000] [--quick]
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
import _drain  # noqa: E402

SLOTS, RSS_BUDGET_MB, GROWTH_BUDGET = 16, 250.0, 0.10
# Waits for OUTDIR/stop (at most 600 s), so the 16 jobs run while RSS is read.
WAIT_JOB = ("import os,sys,time\n"
            "t=time.time()\n"
            "while not os.path.exists(os.path.join(sys.argv[1],'stop')) "
            "and time.time()-t<600: time.sleep(0.1)\n")


def session_of(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[3])


def rss_kb(pid: int) -> int:
    try:
        for text in Path(f"/proc/{pid}/status").read_text().splitlines():
            if text.startswith("VmRSS:"):
                return int(text.split()[1])
    except OSError:
        pass
    return 0


def agent_rss_mb(pid: int) -> tuple[float, int]:
    """(MB, processes counted): the agent and its descendants in its own session."""
    session = session_of(pid)
    pids = [pid] + [child for child, _ in _common.descendants(pid)
                    if session_of(child) == session]
    return sum(rss_kb(p) for p in pids) / 1024, len(pids)


def reading(pid: int) -> tuple[float, int]:
    samples = []
    for _ in range(5):
        samples.append(agent_rss_mb(pid))
        time.sleep(0.4)
    return statistics.median(s[0] for s in samples), max(s[1] for s in samples)


def run(tmp: Path, api_url: str, url: str, early: int, late: int, timeout: float
        ) -> dict[str, tuple[float, int, float]]:
    from launch_core.api import create_queue, open_store
    from launch_core.store.states import TERMINAL

    work, out = tmp / "agent", tmp / "out"
    out.mkdir(parents=True)
    store = open_store(url)
    create_queue(store, _drain.QUEUE, "local-process", entity=_drain.ENTITY)
    trivial = _drain.job_fields(out)
    waiting = {**trivial, "entry_point": [trivial["entry_point"][0], "-c", WAIT_JOB]}
    found: dict[str, tuple[float, int, float]] = {}
    try:
        with _drain.agent(work, url, api_url, SLOTS) as (proc, log_path):
            def alive() -> None:
                _common.check_alive(proc, "agent", log_path)

            def drain(n: int, fields: dict) -> list[int]:  # type: ignore[type-arg]
                ids = _drain.enqueue(store, fields, n)
                if not _drain.wait_ended(store, ids, timeout, alive):
                    raise TimeoutError(f"{n} jobs not ended after {timeout:.0f} s")
                return ids

            def note(label: str) -> None:
                mb, procs = reading(proc.pid)
                found[label] = (mb, procs, os.getloadavg()[0])
                print(f"  {label:<34} RSS {mb:7.1f} MB ({procs} process(es); "
                      f"load {found[label][2]:.1f})", flush=True)

            drain(1, trivial)  # warm-up
            note("idle, after 1 job")
            held = _drain.enqueue(store, waiting, SLOTS)
            _common.wait_for(lambda: all(store.get_item(i).state == "running" for i in held),
                             timeout, f"{SLOTS} jobs running", interval=0.2, alive=alive)
            note(f"{SLOTS} jobs running")
            (out / "stop").write_text("")
            _common.wait_for(lambda: all(store.get_item(i).state in TERMINAL for i in held),
                             timeout, f"{SLOTS} jobs ended", interval=0.2, alive=alive)
            drain(early - 1, trivial)
            time.sleep(2)
            note(f"idle, after {early} trivial jobs")
            done = early
            while done < late:  # in chunks, so a slow machine shows progress
                n = min(late - done, 200)
                drain(n, trivial)
                done += n
                print(f"    {done}/{late} trivial jobs done", flush=True)
            time.sleep(2)
            note(f"idle, after {late} trivial jobs")
    finally:
        store.dispose()
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--early", type=int, default=100)
    parser.add_argument("--late", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=900, help="per batch, seconds")
    parser.add_argument("--quick", action="store_true", help="100 vs 300 trivial jobs")
    parser.add_argument("--time-limit", type=int, default=5400)
    args = parser.parse_args()
    if args.quick:
        args.late = min(args.late, 300)

    print(f"bench_agent_memory  ({_common.machine()})", flush=True)
    with _common.bench_run("relaunch-bench-memory-", args.time_limit) as tmp:
        with _common.prefect_server(tmp / "prefect-server-home") as api_url, \
                _common.temp_pg_database() as url:
            found = run(tmp, api_url, url, args.early, args.late, args.timeout)
        running = found[f"{SLOTS} jobs running"][0]
        early = found[f"idle, after {args.early} trivial jobs"][0]
        late = found[f"idle, after {args.late} trivial jobs"][0]
        growth = late / early - 1
        print()
        print(f"agent RSS (agent + Prefect-side children in its session; jobs excluded), "
              f"max_jobs {SLOTS}, PostgreSQL store, Prefect server on PostgreSQL")
        print(f"  with {SLOTS} running jobs: {running:.1f} MB  (target <= {RSS_BUDGET_MB:g} "
              f"MB: {_common.verdict(running <= RSS_BUDGET_MB)})")
        print(f"  after {args.early} jobs {early:.1f} MB, after {args.late} jobs {late:.1f} "
              f"MB: ratio {late / early:.3f}  (target within {GROWTH_BUDGET:.0%}: "
              f"{_common.verdict(abs(growth) <= GROWTH_BUDGET)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
