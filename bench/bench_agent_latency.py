"""Enqueue -> job started, with an idle relaunch agent vs. a Prefect process worker.

Prints, against one Prefect server this script starts on 127.0.0.1 (database on a
throwaway PostgreSQL database, PREFECT_HOME in a temp dir, telemetry off):

(a) enqueue -> job process started, p50/p99, with an idle, warmed-up agent
    (`relaunch launch-agent -q Q --max-jobs 4` as a subprocess), on a SQLite and on a
    PostgreSQL queue store. Each sample: time.time() just before launch_core.api.launch
    (image source, entry point `python3 -c JOB OUTDIR`); the job writes time.time() at
    its start (and at its end) to OUTDIR/<RELAUNCH_ITEM_ID>.json. One job at a time,
    each awaited until it is finished.
(b) the same trivial job through a Prefect process worker (`prefect worker start`,
    Prefect's default polling), deployed from a flow file on local disk: time.time()
    before run_deployment(..., timeout=0), the flow body writes time.time() first thing.
(c) relaunch's orchestration overhead per job: item.finished_at (store) - enqueue time
    - the job's own run time (measured inside the job).

Before each sample the script waits a random fraction of the agent's (worker's) poll
interval, so enqueues are not phase-locked to the poll loop. Every process it starts
runs in its own process group and is stopped (by pid) on exit, failure or timeout.

Usage: python bench/bench_agent_latency.py [--samples 30] [--prefect-samples 20]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

BIN = _common.BIN
ENTITY, QUEUE, POOL = "bench", "bench", "bench-process-pool"
TIME_LIMIT = 570  # seconds, whole script (SIGALRM), cleanup included in the margin
WARMUP_JOBS = 3
AGENT_POLL = 1.0  # relaunch's default poll_interval (docs/architecture.md, "Wake-up")
# Issue 11's targets, on both stores: enqueue -> job started, and overhead per job.
TARGET_START, TARGET_OVERHEAD = (0.25, 0.5), (0.2, 0.4)  # (p50, p99) seconds

# The job: record its start, do nothing, record its end (atomically, one file per item).
JOB = ("import json,os,sys,time\n"
       "t=time.time()\n"
       "p=os.path.join(sys.argv[1],os.environ['RELAUNCH_ITEM_ID'])\n"
       "d=json.dumps({'start':t,'end':time.time()})\n"
       "open(p+'.tmp','w').write(d)\n"
       "os.replace(p+'.tmp',p+'.json')\n")

# The job's interpreter: this venv's python (the real binary, ~0.02 s to start). A bare
# `python3` on PATH may be a version-manager shim (pyenv's costs ~0.15 s per start).
JOB_PYTHON = sys.executable

FLOW_FILE = '''\
import json
import os
import time

from prefect import flow


@flow(name="bench-trivial")
def bench_trivial(out: str) -> None:
    start = time.time()
    data = json.dumps({"start": start, "end": time.time()})
    with open(out + ".tmp", "w") as handle:
        handle.write(data)
    os.replace(out + ".tmp", out)
'''


@dataclass
class Sample:
    t0: float            # time.time() just before enqueue
    start: float         # job: time.time() at its start
    end: float           # job: time.time() at its end
    finished: float      # store finished_at / Prefect flow run end_time
    # Recorded steps in the order they happen, (name, time): store events / run states.
    steps: list[tuple[str, float]] = field(default_factory=list)
    item_id: int = 0

    @property
    def latency(self) -> float:
        return self.start - self.t0

    @property
    def overhead(self) -> float:
        return self.finished - self.t0 - (self.end - self.start)

    def timeline(self, before_job: list[str], after_job: list[str]) -> list[tuple[str, float]]:
        """enqueue, the named steps, job start/end, then the steps after the job."""
        found = dict(reversed(self.steps))  # first occurrence wins
        return ([("enqueue", self.t0)] + [(n, found[n]) for n in before_job]
                + [("job start", self.start), ("job end", self.end)]
                + [(n, found[n]) for n in after_job])


def p(values: list[float], q: float) -> float:
    return _common.percentile(values, q)


# --- relaunch ------------------------------------------------------------------------

def bench_relaunch(label: str, url: str, tmp: Path, api_url: str, samples: int,
                   time_bound: float) -> tuple[list[Sample], str]:
    from launch_core.api import create_queue, launch, open_store
    from launch_core.store.states import TERMINAL

    work = tmp / f"relaunch-{label}"
    out = work / "out"
    out.mkdir(parents=True)
    store = open_store(url)
    create_queue(store, QUEUE, "local-process", entity=ENTITY)
    env = _common.prefect_env(work / "prefect-home", api_url)
    env.update(RELAUNCH_DATABASE_URL=url, RELAUNCH_DATA_DIR=str(work / "data"),
               RELAUNCH_ENTITY=ENTITY, HOME=str(work / "home"))
    log_path = work / "agent.log"
    fields = {"image": "bench/none:latest", "entry_point": [JOB_PYTHON, "-c", JOB],
              "args": [str(out)], "author": "bench"}
    result: list[Sample] = []
    try:
        with _common.started([str(BIN / "relaunch"), "launch-agent", "-q", QUEUE,
                              "--max-jobs", "4"], env, log_path) as agent:
            def alive() -> None:
                _common.check_alive(agent, "agent", log_path)

            def run_one(timeout: float) -> Sample:
                t0 = time.time()
                item = launch(store, QUEUE, fields, entity=ENTITY)
                done = _common.wait_for(
                    lambda: (i := store.get_item(item.id)).state in TERMINAL and i,
                    timeout, f"[{label}] job {item.id}", alive=alive)
                if done.state != "finished":
                    raise RuntimeError(f"[{label}] job {item.id} {done.state}: {done.reason}")
                rec = json.loads((out / f"{item.id}.json").read_text())
                steps = [(ev.to_state, ev.at) for ev in store.events_for(item.id)]
                return Sample(t0, rec["start"], rec["end"], float(done.finished_at), steps,
                              item.id)

            for n in range(WARMUP_JOBS):  # agent start-up (imports, flow run) included
                run_one(timeout=120 if n == 0 else 30)
            deadline = time.monotonic() + time_bound
            while len(result) < samples and time.monotonic() < deadline:
                time.sleep(random.uniform(0.1, 0.1 + AGENT_POLL))
                result.append(run_one(timeout=30))
        add_flow_run_steps(result)
    finally:
        store.dispose()
    return result, str(log_path)


def add_flow_run_steps(samples: list[Sample]) -> None:
    """Add each job's launch-job flow run start and its tasks' start times (Prefect API)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import (
        FlowRunFilter,
        FlowRunFilterName,
        TaskRunFilter,
        TaskRunFilterFlowRunId,
    )

    time.sleep(2)  # task run states reach the server through its events pipeline
    with get_client(sync_client=True) as client:
        for sample in samples:
            runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
                name=FlowRunFilterName(any_=[f"{QUEUE}-{sample.item_id}"])))
            # Item ids repeat across the two stores: take this sample's run.
            runs = sorted((r for r in runs if r.start_time is not None
                           and r.start_time.timestamp() >= sample.t0),
                          key=lambda r: r.start_time)
            if not runs:
                continue
            sample.steps.append(("flow run start", runs[0].start_time.timestamp()))
            tasks = client.read_task_runs(task_run_filter=TaskRunFilter(
                flow_run_id=TaskRunFilterFlowRunId(any_=[runs[0].id])))
            for task_run in tasks:
                if task_run.start_time is not None:  # task run names: "<task name>-<n>"
                    task_name = task_run.name.rsplit("-", 1)[0]
                    sample.steps.append((f"{task_name} start",
                                         task_run.start_time.timestamp()))


# --- Prefect process worker baseline ---------------------------------------------------

def bench_prefect(tmp: Path, api_url: str, samples: int, time_bound: float,
                  query_seconds: float) -> list[Sample]:
    from prefect import flow
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    work = tmp / "prefect-worker"
    src, out = work / "flow-src", work / "out"
    src.mkdir(parents=True)
    out.mkdir()
    (src / "bench_flow.py").write_text(FLOW_FILE)
    env = _common.prefect_env(Path(os.environ["PREFECT_HOME"]), api_url)
    subprocess.run([str(BIN / "prefect"), "work-pool", "create", "--type", "process", POOL],
                   env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                   timeout=120)
    deployable = flow.from_source(source=str(src), entrypoint="bench_flow.py:bench_trivial")
    with contextlib.redirect_stdout(io.StringIO()):  # the deploy table, not our output
        deployable.deploy(name="bench", work_pool_name=POOL, print_next_steps=False,
                          ignore_warnings=True)
    log_path = work / "worker.log"
    client = get_client(sync_client=True)
    result: list[Sample] = []
    with _common.started([str(BIN / "prefect"), "worker", "start", "--pool", POOL], env,
                         log_path) as worker:
        def alive() -> None:
            _common.check_alive(worker, "worker", log_path)

        def run_one(n: int, timeout: float) -> Sample:
            target = out / f"run-{n}.json"
            t0 = time.time()
            run = run_deployment("bench-trivial/bench", parameters={"out": str(target)},
                                 timeout=0)
            done = _common.wait_for(lambda: (r := client.read_flow_run(run.id)).state
                                    and r.state.is_final() and r, timeout,
                                    f"flow run {run.id}", interval=0.1, alive=alive)
            if not done.state.is_completed():
                raise RuntimeError(f"flow run {run.id} ended {done.state.type}: "
                                   f"{_common.log_tail(log_path)}")
            rec = json.loads(target.read_text())
            steps = sorted(((st.type.value, st.timestamp.timestamp())
                            for st in client.read_flow_run_states(run.id)),
                           key=lambda step: step[1])
            return Sample(t0, rec["start"], rec["end"], done.end_time.timestamp(), steps)

        run_one(-1, timeout=120)  # warm-up: worker start-up and first poll
        deadline = time.monotonic() + time_bound
        while len(result) < samples and time.monotonic() < deadline:
            time.sleep(random.uniform(0.1, 0.1 + query_seconds))
            result.append(run_one(len(result), timeout=60))
    return result


# --- report --------------------------------------------------------------------------

def pct_line(values: list[float]) -> str:
    return f"p50 {p(values, 50):6.3f} s  p99 {p(values, 99):6.3f} s"


RELAUNCH_STEPS = (["queued", "claimed", "building", "submitted", "running"], ["finished"])
RELAUNCH_DETAIL = (["queued", "claimed", "flow run start", "fetch-config start",
                    "merge-overrides start", "build-image start", "building",
                    "push-to-registry start", "submit-to-resource start", "submitted",
                    "running"], ["finished"])
PREFECT_STEPS = (["SCHEDULED", "PENDING", "RUNNING"], ["COMPLETED"])


def breakdown(label: str, samples: list[Sample], names: tuple[list[str], list[str]]
              ) -> list[str]:
    """p50/p99 of each step to the next, in the order they happen."""
    lines = [f"  [{label}]"]
    timelines = [s.timeline(*names) for s in samples]
    for k in range(1, len(timelines[0])):
        vals = [t[k][1] - t[k - 1][1] for t in timelines]
        name = f"{timelines[0][k - 1][0]} -> {timelines[0][k][0]}"
        lines.append(f"    {name:<50} p50 {p(vals, 50) * 1e3:8.1f} ms  "
                     f"p99 {p(vals, 99) * 1e3:8.1f} ms")
    return lines


def report(results: dict[str, list[Sample]], prefect: list[Sample], query: float,
           prefetch: float, prefect_version: str) -> None:
    print("(a) enqueue -> job process started, idle relaunch agent "
          "(`relaunch launch-agent -q bench --max-jobs 4`, warmed up with "
          f"{WARMUP_JOBS} jobs; job: {JOB_PYTHON} -c <write time.time()>)")
    for label, samples in results.items():
        lat = [s.latency for s in samples]
        print(f"  relaunch, {label:<11} n={len(lat):<3} {pct_line(lat)}   "
              f"({against(lat, TARGET_START)})")
    lat = [s.latency for s in prefect]
    print(f"(b) same job through a Prefect {prefect_version} process worker "
          "(run_deployment(timeout=0) -> flow body start)")
    print(f"  prefect worker         n={len(lat):<3} {pct_line(lat)}   "
          f"(defaults: PREFECT_WORKER_QUERY_SECONDS={query:g} s poll, "
          f"PREFECT_WORKER_PREFETCH_SECONDS={prefetch:g} s)")
    print("  side by side (p50 / p99, s):  "
          + "   ".join(f"relaunch-{label} {p([s.latency for s in v], 50):.3f} / "
                       f"{p([s.latency for s in v], 99):.3f}" for label, v in results.items())
          + f"   prefect-worker {p(lat, 50):.3f} / {p(lat, 99):.3f}")
    print("(c) orchestration overhead per job: finished_at (store) - enqueue time "
          "- job's own run time")
    for label, samples in results.items():
        ov = [s.overhead for s in samples]
        print(f"  relaunch, {label:<11} n={len(ov):<3} {pct_line(ov)}   "
              f"({against(ov, TARGET_OVERHEAD)})")
    ov = [s.overhead for s in prefect]
    print(f"  (reference) prefect worker, flow run end_time - enqueue - body time: "
          f"{pct_line(ov)}")
    print("where the time goes (relaunch: events table; Prefect: flow run state times; "
          "job start/end: the job's own clock):")
    for label, samples in results.items():
        detailed = [s for s in samples if len({n for n, _ in s.steps}) >= 13]
        if len(detailed) == len(samples):
            lines = breakdown(f"relaunch, {label} (+ launch-job flow run and task start "
                              "times, Prefect API)", samples, RELAUNCH_DETAIL)
        else:
            lines = breakdown(f"relaunch, {label}", samples, RELAUNCH_STEPS)
        for text in lines:
            print(text)
    for text in breakdown("prefect worker", prefect, PREFECT_STEPS) if prefect else ():
        print(text)


def against(values: list[float], target: tuple[float, float]) -> str:
    """The sample's p50 and p99 against a (p50, p99) target."""
    ok = _common.verdict
    return (f"target p50 <= {target[0]} s {ok(p(values, 50) <= target[0])}, "
            f"p99 <= {target[1]} s {ok(p(values, 99) <= target[1])}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=30, help="per relaunch backend")
    parser.add_argument("--prefect-samples", type=int, default=15)
    args = parser.parse_args()

    began = time.monotonic()
    print(f"bench_agent_latency  ({_common.machine()})", flush=True)
    with (_common.bench_run("relaunch-bench-agent-", TIME_LIMIT) as tmp,
          _common.prefect_server(tmp / "prefect-server-home") as api_url):
        # This process is a Prefect client too (run_deployment): same server, own home.
        _common.become_prefect_client(tmp / "prefect-client-home", api_url)
        import prefect
        from prefect.settings import (
            PREFECT_WORKER_PREFETCH_SECONDS,
            PREFECT_WORKER_QUERY_SECONDS,
        )

        query = float(PREFECT_WORKER_QUERY_SECONDS.value())
        prefetch = float(PREFECT_WORKER_PREFETCH_SECONDS.value())
        print(f"Prefect server {prefect.__version__} at {api_url} (database: PostgreSQL); "
              f"server up after {time.monotonic() - began:.0f} s", flush=True)
        results: dict[str, list[Sample]] = {}
        for label, make_db in (("sqlite", _common.temp_sqlite),
                               ("postgresql", _common.temp_pg_database)):
            with make_db() as url:
                results[label], _ = bench_relaunch(label, url, tmp, api_url,
                                                   args.samples, time_bound=90)
            print(f"[{label}] {len(results[label])} samples done at "
                  f"{time.monotonic() - began:.0f} s", flush=True)
        prefect_samples = bench_prefect(tmp, api_url, args.prefect_samples,
                                        time_bound=250, query_seconds=query)
        print(f"[prefect-worker] {len(prefect_samples)} samples done at "
              f"{time.monotonic() - began:.0f} s", flush=True)
        print()
        report(results, prefect_samples, query, prefetch, prefect.__version__)
    return 0


if __name__ == "__main__":
    sys.exit(main())
