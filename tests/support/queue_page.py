"""A real agent with running and queued jobs, for the queue page tests
(flows/queue_artifact.py): two local-process queues whose jobs run until a signal
file exists, one agent (``relaunch launch-agent``) polling both, and the pages read
back through the Prefect REST API."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from launch_core import api
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueItem, QueueStore
from tests.support import RELAUNCH, wait_for

CAPPED, PLAIN = "q", "Night_Runs.v2"  # the second one's key is mapped (capitals, _ and .)
# Runs until the file named by its argument exists (at most 10 minutes).
WAIT_SCRIPT = ("import os, sys, time\n"
               "deadline = time.monotonic() + 600\n"
               "while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:\n"
               "    time.sleep(0.05)\n")


@dataclass
class QueueScene:
    """The store, the jobs by queue name (in enqueue order), the signal file and the
    agent's process."""

    store: QueueStore
    jobs: dict[str, list[QueueItem]]
    signal: Path
    agent: subprocess.Popen[bytes]
    log: Path

    def item(self, item: QueueItem) -> QueueItem:
        return self.store.get_item(item.id)


def _enqueue(store: QueueStore, queue_name: str, signal: Path) -> QueueItem:
    queue = store.get_queue("team", queue_name)
    spec = LaunchSpec.model_validate({"image": "local", "project": "vision", "entry_point": [
        sys.executable, "-c", WAIT_SCRIPT, str(signal)]})
    return store.enqueue(queue, spec)


@contextmanager
def queue_scene(tmp_path: Path, prefect_api: str) -> Iterator[QueueScene]:
    """Queue ``q`` (max-running 1) with three jobs and ``Night_Runs.v2`` with two, and
    an agent with two job slots: one job of each queue runs (until ``signal`` exists),
    the other three wait. At the end the signal is given and the agent, started with
    ``--until-idle``, drains both queues and exits."""
    url = f"sqlite:///{tmp_path / 'store.db'}"
    store = QueueStore(url)
    api.create_queue(store, CAPPED, "local-process", entity="team", policy={"max_running": 1})
    api.create_queue(store, PLAIN, "local-process", entity="team")
    signal = tmp_path / "go"
    jobs = {name: [_enqueue(store, name, signal) for _ in range(count)]
            for name, count in ((CAPPED, 3), (PLAIN, 2))}
    config = tmp_path / "launch-config.yaml"
    config.write_text(f"queues: [{CAPPED}, {PLAIN}]\nmax_jobs: 2\nentity: team\n"
                      "queue_page_interval: 1\n")
    env = {"PATH": str(Path(sys.executable).parent) + ":/usr/bin:/bin",
           "HOME": str(tmp_path / "home"), "RELAUNCH_DATABASE_URL": url,
           "RELAUNCH_DATA_DIR": str(tmp_path / "data"), "PREFECT_API_URL": prefect_api,
           "PREFECT_HOME": str(tmp_path / "prefect-home"), "DO_NOT_TRACK": "1"}
    log = tmp_path / "agent.log"
    with open(log, "wb") as out:
        agent = subprocess.Popen([RELAUNCH, "launch-agent", "-c", str(config), "--until-idle"],
                                 env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT)
    scene = QueueScene(store, jobs, signal, agent, log)
    try:
        wait_for(lambda: [scene.item(j).state for j in (jobs[CAPPED][0], jobs[PLAIN][0])]
                 == ["running", "running"],
                 lambda: f"a job of each queue to run; agent log:\n{log.read_text()[-3000:]}",
                 timeout=180)
        yield scene
    finally:
        signal.touch()
        try:
            agent.wait(timeout=180)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(timeout=30)
        store.dispose()


def latest_page(prefect_api: str, key: str) -> dict[str, Any] | None:
    """The latest version of the artifact ``key`` ({'id', 'rows', 'description'}), or
    None while there is none."""
    found = httpx.post(f"{prefect_api}/artifacts/latest/filter", timeout=30,
                       json={"artifacts": {"key": {"any_": [key]}}}).json()
    if not found:
        return None
    data = found[0]["data"]
    return {"id": found[0]["latest_id"], "description": found[0]["description"],
            "rows": json.loads(data) if isinstance(data, str) else data}


def expected_rows(scene: QueueScene, queue_name: str, slots: str) -> list[tuple[Any, ...]]:
    """What the page of ``queue_name`` should hold now, from the store: (job, run id,
    state, position, reason) of the active jobs, then the queued ones in claim order
    with their waiting reasons as ``job status`` gives them (``slots`` when none)."""
    items = [scene.item(job) for job in scene.jobs[queue_name]]
    active = [(i.id, i.run_id, i.state, "", "") for i in items if i.state != "queued"]
    queued = sorted((i for i in items if i.state == "queued"),
                    key=lambda i: scene.store.position(i) or 0)
    return active + [(i.id, i.run_id, i.state, scene.store.position(i),
                      "; ".join(scene.store.waiting_reasons(i)) or slots) for i in queued]


def page_rows(page: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(r["job"], r["run id"], r["state"], r["position"], r["reason"])
            for r in page["rows"]]
