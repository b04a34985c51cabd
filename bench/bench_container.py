"""local-container jobs with the docker builder: cold build vs cache hit, and overhead.

Prints, against one Prefect server this script starts on 127.0.0.1 (database on a
throwaway PostgreSQL database, PREFECT_HOME in a temp dir, telemetry off) and a queue
store on SQLite in a temp dir, with one long-running agent
(`relaunch launch-agent -q Q -c CONFIG`, builder.type docker, builder.destination
127.0.0.1:5000/relaunch-bench/<uuid>, builder.base-image relaunch/python:bookworm),
started once and warmed up with prebuilt-image jobs:

(a) the same code job (main.py prints one line) launched twice: cold (build + push +
    run) vs cache hit (the tag is already in the registry: build skipped), each
    enqueue -> finished (store finished_at - time.time() just before enqueue), with the
    item's event timestamps (claimed -> building -> built/pushed -> submitted ...) so
    the build-image and push-to-registry durations show.
(b) orchestration overhead of local-container vs a bare
    `docker run --rm --network none IMAGE` of the image built in (a): relaunch
    enqueue -> finished (cache hit, image local) p50/p99 against the bare `docker run`
    wall time p50/p99, interleaved, and their difference.

Talks only to 127.0.0.1. Every process it starts runs in its own session and is stopped
by pid on exit, failure or timeout; the image it built is removed from the local daemon
(and its manifest deleted from the registry) at the end.

Usage: python bench/bench_container.py [--samples 10]
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

ENTITY, QUEUE = "bench", "bench-container"
REGISTRY = "127.0.0.1:5000"
BASE_IMAGE = "relaunch/python:bookworm"
TIME_LIMIT = 470  # seconds, whole script (SIGALRM); cleanup runs inside the margin
WARMUP_JOBS = 2
AGENT_POLL = 1.0  # the agent's default poll_interval (SQLite store: no LISTEN/NOTIFY)
BUDGET_OVERHEAD = 0.3  # docs/contributing.md: overhead per job (local-process)
JOB_LINE = "hello from relaunch bench"
# Descendants of a stopped process that left its group: SIGKILL at once, no SIGTERM.
STRAY_GRACE = 0.0


# --- one job through the agent ---------------------------------------------------------

def step_name(ev: Any) -> str:
    """An event's name: the state it entered, or for a note the action it records."""
    if ev.from_state == ev.to_state and ev.message:
        for prefix in ("built image", "pushed", "build skipped"):
            if ev.message.startswith(prefix):
                return prefix
        return f"note: {ev.message[:30]}"
    return ev.to_state


class Sample:
    def __init__(self, t0: float, item: Any, events: list[Any]) -> None:
        self.t0, self.item = t0, item
        self.finished = float(item.finished_at)
        self.steps = [("enqueue", t0)] + [(step_name(ev), float(ev.at)) for ev in events]

    @property
    def total(self) -> float:
        return self.finished - self.t0

    def at(self, name: str) -> float | None:
        return next((t for n, t in self.steps if n == name), None)

    def between(self, a: str, b: str) -> float:
        ta, tb = self.at(a), self.at(b)
        return math.nan if ta is None or tb is None else tb - ta


class Agent:
    """The long-running agent and the store it serves."""

    def __init__(self, store: Any, proc: subprocess.Popen[bytes], log_path: Path) -> None:
        self.store, self.proc, self.log_path = store, proc, log_path
        self.run_ids: list[str] = []

    def alive(self) -> None:
        _common.check_alive(self.proc, "agent", self.log_path)

    def run(self, fields: dict[str, Any], timeout: float,
            code_dir: Path | None = None) -> Sample:
        from launch_core.api import launch
        from launch_core.store.states import TERMINAL

        t0 = time.time()
        item = launch(self.store, QUEUE, fields, entity=ENTITY, code_dir=code_dir)
        self.run_ids.append(item.run_id)
        done = _common.wait_for(
            lambda: (i := self.store.get_item(item.id)).state in TERMINAL and i,
            timeout, f"job {item.id}", alive=self.alive)
        if done.state != "finished":
            raise RuntimeError(f"job {item.id} ended {done.state}: stage {done.stage}, "
                               f"{done.reason}\n{_common.log_tail(self.log_path)}")
        return Sample(t0, done, self.store.events_for(item.id))


# --- docker (CLI, local daemon) ----------------------------------------------------------

def docker(*args: str, timeout: float = 60, check: bool = True
           ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True,
                          timeout=timeout, check=check)


def bare_run(image: str) -> float:
    t = time.perf_counter()
    out = docker("run", "--rm", "--network", "none", image, timeout=60)
    elapsed = time.perf_counter() - t
    if JOB_LINE not in out.stdout:
        raise RuntimeError(f"bare docker run printed {out.stdout!r} {out.stderr!r}")
    return elapsed


def cleanup_docker(destination: str | None, run_ids: list[str]) -> list[str]:
    """Remove the containers of our runs, the images we built (every tag of our
    uuid-named destination repository), and their registry manifests."""
    notes = []
    for run_id in run_ids:
        ids = docker("ps", "-aq", "--filter", f"label=relaunch.run={run_id}",
                     check=False).stdout.split()
        if ids:
            docker("rm", "-f", *ids, check=False)
            notes.append(f"removed {len(ids)} leftover container(s) of run {run_id}")
    images = [] if not destination else docker(
        "images", "--filter", f"reference={destination}:*", "--format",
        "{{.Repository}}:{{.Tag}}", check=False).stdout.split()
    for image in images:
        result = docker("rmi", image, check=False)
        notes.append(f"removed image {image} from the local daemon" if result.returncode
                     == 0 else f"could not remove {image}: {result.stderr.strip()}")
        notes.append(delete_manifest(image))
    if destination and not images:
        notes.append(f"no local image of {destination} to remove")
    return notes


def delete_manifest(image: str) -> str:
    import httpx

    ref, _, tag = image.rpartition(":")
    host, _, repo = ref.partition("/")
    if host != REGISTRY:
        return f"not deleting {image}: not on {REGISTRY}"
    url = f"http://{host}/v2/{repo}/manifests"
    accept = "application/vnd.docker.distribution.manifest.v2+json"
    try:
        head = httpx.head(f"{url}/{tag}", headers={"Accept": accept}, timeout=10)
        digest = head.headers.get("docker-content-digest")
        if head.status_code != 200 or not digest:
            return f"registry manifest {tag}: HTTP {head.status_code}, nothing deleted"
        gone = httpx.delete(f"{url}/{digest}", timeout=10)
        return f"deleted registry manifest {repo}:{tag} (HTTP {gone.status_code})"
    except httpx.HTTPError as exc:
        return f"registry manifest delete failed: {type(exc).__name__}"


# --- the bench -----------------------------------------------------------------------------

def bench(tmp: Path, api_url: str, samples: int, began: float, state: dict[str, Any]
          ) -> dict[str, Any]:
    from launch_core.api import create_queue, open_store

    db_url = f"sqlite:///{tmp / 'store' / 'relaunch.db'}"
    (tmp / "store").mkdir()
    store = open_store(db_url)
    create_queue(store, QUEUE, "local-container", entity=ENTITY)
    destination = f"{REGISTRY}/relaunch-bench/{uuid.uuid4().hex[:12]}"
    config = tmp / "launch-config.yaml"
    config.write_text(f"builder:\n  type: docker\n  destination: {destination}\n"
                      f"  base-image: {BASE_IMAGE}\ndatabase: {db_url}\n")
    code = tmp / "code" / "job"
    code.mkdir(parents=True)
    # A unique comment: no Docker layer from an earlier run can match the COPY layer.
    (code / "main.py").write_text(f"# {uuid.uuid4().hex}\nprint({JOB_LINE!r})\n")
    env = _common.prefect_env(tmp / "agent-prefect-home", api_url)
    env.update(RELAUNCH_ENTITY=ENTITY, RELAUNCH_DATA_DIR=str(tmp / "data"),
               HOME=str(tmp / "home"))
    log_path = tmp / "agent.log"
    state["destination"] = destination
    out: dict[str, Any] = {"destination": destination}
    try:
        with _common.started([str(_common.BIN / "relaunch"), "launch-agent", "-q", QUEUE,
                              "-c", str(config)], env, log_path,
                             stray_grace=STRAY_GRACE) as proc:
            agent = Agent(store, proc, log_path)
            state["run_ids"] = agent.run_ids
            warm = {"image": BASE_IMAGE, "entry_point": ["python3", "-c", "print('warm')"],
                    "author": "bench"}
            t = time.monotonic()
            for n in range(WARMUP_JOBS):  # agent start-up, first flow run, imports
                agent.run(warm, timeout=150 if n == 0 else 60)
            print(f"agent warmed up ({WARMUP_JOBS} prebuilt-image jobs) in "
                  f"{time.monotonic() - t:.0f} s, at {time.monotonic() - began:.0f} s",
                  flush=True)
            job = {"entry_point": ["python3", "main.py"], "author": "bench"}
            cold = agent.run(job, timeout=240, code_dir=code)
            image = str((cold.item.handle or {}).get("image") or "")
            if not image.startswith(destination + ":"):
                raise RuntimeError(f"cold job ran image {image!r}, not one of {destination}")
            hit = agent.run(job, timeout=60, code_dir=code)
            if cold.at("built image") is None or hit.at("build skipped") is None:
                raise RuntimeError(f"expected a build then a cache hit; events: "
                                   f"{cold.steps} / {hit.steps}")
            print(f"(a) done at {time.monotonic() - began:.0f} s (image {image})", flush=True)
            out.update(cold=cold, hit=hit, image=image)
            bare_run(image)  # one untimed: page cache, first use of the image's layers
            hits: list[Sample] = []
            bares: list[float] = []
            for _ in range(samples):  # interleaved so drift hits both alike
                time.sleep(random.uniform(0.1, 0.1 + AGENT_POLL))  # not phase-locked to polls
                hits.append(agent.run(job, timeout=60, code_dir=code))
                bares.append(bare_run(image))
            print(f"(b) done at {time.monotonic() - began:.0f} s", flush=True)
            out.update(hits=hits, bares=bares)
    finally:
        store.dispose()
    return out


# --- report --------------------------------------------------------------------------------

STEP_ROWS = [("enqueue", "queued"), ("queued", "claimed"), ("claimed", "building"),
             ("building", "built image"), ("built image", "pushed"), ("pushed", "submitted"),
             ("building", "build skipped"), ("build skipped", "submitted"),
             ("submitted", "running"), ("running", "finished")]
HIT_STEPS = ["enqueue", "queued", "claimed", "building", "build skipped", "submitted",
             "running", "finished"]
STEP_NOTE = {
    ("enqueue", "queued"): "launch(): validate, pack code, insert",
    ("queued", "claimed"): "wait for the agent's poll (SQLite: every 1 s)",
    ("claimed", "building"): "flow run start, fetch-config, merge-overrides",
    ("building", "built image"): "build-image: fetch code, registry HEAD, docker build",
    ("building", "build skipped"): "build-image: fetch code, registry HEAD (tag exists)",
    ("built image", "pushed"): "push-to-registry: docker push",
    ("pushed", "submitted"): "submit-to-resource: docker run -d",
    ("build skipped", "submitted"): "submit-to-resource: image local, docker run -d",
    ("submitted", "running"): "state write",
    ("running", "finished"): "container runs + exits, status poll (0.1 s), cleanup",
}


def ms(v: float) -> str:
    return "      -" if math.isnan(v) else f"{v * 1e3:7.0f}"


def report(res: dict[str, Any], samples: int) -> None:
    cold, hit = res["cold"], res["hit"]
    print()
    print(f"local-container queue, docker builder, destination {res['destination']}, "
          f"base {BASE_IMAGE}; agent poll_interval {AGENT_POLL:g} s, SQLite store")
    print("(a) the same code job twice, enqueue -> finished (store finished_at - enqueue):")
    print(f"    cold (build + push + run)   {cold.total:7.2f} s   build-image "
          f"{cold.between('building', 'built image'):5.2f} s, push-to-registry "
          f"{cold.between('built image', 'pushed'):5.2f} s")
    print(f"    cache hit (build skipped)   {hit.total:7.2f} s   build-image "
          f"{hit.between('building', 'build skipped'):5.2f} s (registry HEAD), push "
          f"skipped")
    print(f"    saved by the cache          {cold.total - hit.total:7.2f} s")
    print("    step by step (ms)                              cold   cache-hit")
    for a, b in STEP_ROWS:
        label = f"{a} -> {b}"
        print(f"      {label:<38} {ms(cold.between(a, b))}   {ms(hit.between(a, b))}    "
              f"{STEP_NOTE.get((a, b), '')}")

    hits, bares = res["hits"], res["bares"]
    rel = [s.total for s in hits]
    post = [s.finished - s.at("claimed") for s in hits]
    p = _common.percentile
    print()
    print(f"(b) orchestration overhead: cache-hit job (image local, job prints one line) "
          f"vs bare `docker run --rm --network none IMAGE`, interleaved, n={len(rel)}"
          f"/{len(bares)} (asked {samples})")
    print(f"    relaunch enqueue -> finished       p50 {p(rel, 50):6.3f} s   "
          f"p99 {p(rel, 99):6.3f} s")
    print(f"    bare docker run (wall)             p50 {p(bares, 50):6.3f} s   "
          f"p99 {p(bares, 99):6.3f} s")
    print(f"    relaunch overhead per job          p50 {p(rel, 50) - p(bares, 50):6.3f} s   "
          f"p99 {p(rel, 99) - p(bares, 99):6.3f} s   (difference of the percentiles)")
    print(f"      of which waiting for the poll    p50 "
          f"{p([s.between('enqueue', 'claimed') for s in hits], 50):6.3f} s   (enqueue -> "
          f"claimed; random 0.1-{0.1 + AGENT_POLL:.1f} s pause before each enqueue)")
    print(f"      claimed -> finished - bare run   p50 {p(post, 50) - p(bares, 50):6.3f} s   "
          f"p99 {p(post, 99) - p(bares, 99):6.3f} s")
    print(f"    budget reference (docs/contributing.md, local-process): orchestration overhead <= "
          f"{BUDGET_OVERHEAD} s per job")
    print("    where the time goes, cache-hit runs (ms):     p50      p99")
    for a, b in itertools.pairwise(HIT_STEPS):
        vals = [s.between(a, b) for s in hits]
        label = f"{a} -> {b}"
        print(f"      {label:<38} {ms(p(vals, 50))}  {ms(p(vals, 99))}    "
              f"{STEP_NOTE.get((a, b), '')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()

    if docker("info", "--format", "{{.ServerVersion}}", check=False).returncode != 0:
        raise SystemExit("no Docker daemon: run `bash scripts/start-docker.sh`")
    if docker("image", "inspect", BASE_IMAGE, check=False).returncode != 0:
        raise SystemExit(f"no {BASE_IMAGE} image: run `bash scripts/start-docker.sh`")
    _common.set_time_limit(TIME_LIMIT)
    began = time.monotonic()
    print(f"bench_container  ({_common.machine()})", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="relaunch-bench-container-"))
    state: dict[str, Any] = {"destination": None, "run_ids": []}
    ok = False
    try:
        with _common.prefect_server(tmp / "prefect-server-home",
                                    stray_grace=STRAY_GRACE) as api_url:
            import prefect

            print(f"Prefect server {prefect.__version__} at {api_url} (database: PostgreSQL); "
                  f"up after {time.monotonic() - began:.0f} s", flush=True)
            res = bench(tmp, api_url, args.samples, began, state)
        report(res, args.samples)
        ok = True
    finally:
        signal.alarm(0)
        notes = cleanup_docker(state["destination"], state["run_ids"])
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"failed: logs kept in {tmp}", file=sys.stderr)
        print()
        for note in notes:
            print(f"cleanup: {note}")
        print(f"total wall time {time.monotonic() - began:.0f} s (limit {TIME_LIMIT} s); "
              "all started processes stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
