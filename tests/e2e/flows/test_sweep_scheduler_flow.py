"""End to end: sweeps on Launch. ``relaunch launch-sweep`` stores a sweep and queues its
scheduler; a real agent (``launch-agent`` on the session's Prefect server) runs the
scheduler, which launches each trial (a code job on a local-process queue, printing
``{"loss": ...}``) into the same queue and reads its metric from its output. Each
trial appends a line to a marker file, which counts the trials that really ran."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flows.sweep_scheduler import artifact_key
from launch_core.store import QueueStore
from tests.support import RELAUNCH
from tests.support.queue_page import latest_page

TRAIN = """import json, os, pathlib, sys, time
config = json.loads(os.environ["RELAUNCH_RUN_CONFIG"])
time.sleep(config.get("sleep", 0))
with open(config["marker"], "a") as out:
    out.write(json.dumps({"x": config["x"], "sweep": os.environ.get("WANDB_SWEEP_ID"),
                          "run": os.environ["RELAUNCH_RUN_ID"]}) + "\\n")
print("training", flush=True)
print(json.dumps({"loss": (config["x"] - 3) ** 2}), flush=True)
"""


def sweep_yaml(path: Path, marker: Path, body: str) -> Path:
    path.write_text(f"job: trainer\nmetric:\n  name: loss\n  goal: minimize\n{body}"
                    f"  marker:\n    value: {json.dumps(str(marker))}\n")
    return path


def ran(marker: Path) -> list[dict[str, Any]]:
    if not marker.exists():
        return []
    return [json.loads(line) for line in marker.read_text().splitlines()]


@pytest.fixture
def sweep_setup(relaunch: Callable[..., Any], tmp_path: Path
                ) -> Callable[[dict[str, str]], None]:
    def setup(env: dict[str, str]) -> None:
        code = tmp_path / "code"
        code.mkdir(exist_ok=True)
        (code / "train.py").write_text(TRAIN)
        assert relaunch("queue", "create", "sw", "-r", "local-process", env=env).code == 0
        made = relaunch("job", "create", "code", str(code), "-n", "trainer", "-E",
                        "python3 train.py", env=env)
        assert made.code == 0, made.err
    return setup


def test_a_grid_sweep_runs_each_point_once_and_finds_the_minimum(
        relaunch: Callable[..., Any], sweep_setup: Callable[[dict[str, str]], None],
        store_url: str, prefect_api: str, tmp_path: Path) -> None:
    env = {"RELAUNCH_DATABASE_URL": store_url}
    sweep_setup(env)
    marker = tmp_path / "ran.jsonl"
    config = sweep_yaml(tmp_path / "sweep.yaml", marker, "method: grid\nscheduler:\n  "
                        "num_workers: 2\nparameters:\n  x:\n    values: [1, 5, 3, 2]\n")
    started = relaunch("launch-sweep", str(config), "-q", "sw", "--json", env=env)
    assert started.code == 0, started.err
    sweep = started.json()["id"]

    agent = relaunch("launch-agent", "-q", "sw", "-j", "2", "--until-idle", timeout=300,
                     env=env)
    assert agent.code == 0, agent.err[-3000:]

    runs = ran(marker)
    assert sorted(run["x"] for run in runs) == [1, 2, 3, 5]  # each point once
    assert {run["sweep"] for run in runs} == {sweep}  # WANDB_SWEEP_ID
    shown = relaunch("sweep", "show", sweep, "--json", env=env)
    assert shown.code == 0, shown.err
    data = shown.json()
    assert data["state"] == "finished"
    shown_trials = [(t["params"]["x"], t["metric"], t["state"]) for t in data["trials"]]
    assert shown_trials[:2] == [(3, 0.0, "finished"), (2, 1.0, "finished")]  # best first
    assert sorted(shown_trials[2:]) == [(1, 4.0, "finished"), (5, 4.0, "finished")]
    assert data["best"]["params"] == {"x": 3, "marker": str(marker)}
    assert relaunch("job", "status", str(data["scheduler_job"]), "--json",
                    env=env).json()["state"] == "finished"
    group = relaunch("job", "list", "--group", sweep, "--json", env=env).json()
    assert sorted(j["id"] for j in group) == sorted(t["job"] for t in data["trials"])
    page = latest_page(prefect_api, artifact_key(sweep))  # the flow's trial table
    assert page is not None and page["description"].startswith(f"sweep {sweep} (finished)")
    assert [(row["x"], row["loss"]) for row in page["rows"]][:2] == [(3, 0.0), (2, 1.0)]
    text = relaunch("sweep", "show", sweep, env=env).out
    assert "best: trial" in text and "loss 0" in text, text
    assert text.index('"x":3') < text.index('"x":5'), text


def test_stop_then_resume_and_run_cap(relaunch: Callable[..., Any],
                                      sweep_setup: Callable[[dict[str, str]], None],
                                      tmp_path: Path) -> None:
    env: dict[str, str] = {}
    sweep_setup(env)
    marker = tmp_path / "ran.jsonl"
    config = sweep_yaml(tmp_path / "sweep.yaml", marker, "method: random\nrun_cap: 3\n"
                        "parameters:\n  x:\n    min: 0.0\n    max: 6.0\n")
    sweep = relaunch("launch-sweep", str(config), "-q", "sw", "--json", env=env).json()
    stopped = relaunch("sweep", "stop", sweep["id"], env=env)
    assert stopped.code == 0, stopped.err
    assert relaunch("job", "status", str(sweep["scheduler_job"]), "--json",
                    env=env).json()["state"] == "cancelled"  # it had not started
    again = relaunch("sweep", "stop", sweep["id"], env=env)
    assert again.code == 2 and "stopped, not running" in again.err
    listed = relaunch("sweep", "list", "--json", env=env).json()
    assert [(s["id"], s["state"], s["trials"]) for s in listed] == [(sweep["id"], "stopped", 0)]

    resumed = relaunch("sweep", "resume", sweep["id"], "--json", env=env)
    assert resumed.code == 0, resumed.err
    assert resumed.json()["scheduler_job"] != sweep["scheduler_job"]
    agent = relaunch("launch-agent", "-q", "sw", "-j", "4", "--until-idle", timeout=300,
                     env=env)
    assert agent.code == 0, agent.err[-3000:]
    data = relaunch("sweep", "show", sweep["id"], "--json", env=env).json()
    assert data["state"] == "finished"
    assert len(data["trials"]) == 3 and len(ran(marker)) == 3  # run_cap
    assert all(t["state"] == "finished" and 0 <= t["params"]["x"] <= 6 for t in data["trials"])
    bad = relaunch("launch-sweep", str(config), env=env)
    assert bad.code == 2 and "-q/--queue" in bad.err


def test_a_new_agent_resumes_a_sweep_whose_agent_was_killed(
        relaunch: Callable[..., Any], sweep_setup: Callable[[dict[str, str]], None],
        cli_env: dict[str, str], tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    env = {"RELAUNCH_DATABASE_URL": url}
    sweep_setup(env)
    marker = tmp_path / "ran.jsonl"
    config = sweep_yaml(tmp_path / "sweep.yaml", marker, "method: grid\nscheduler:\n  "
                        "num_workers: 1\nparameters:\n  sleep:\n    value: 1\n"
                        "  x:\n    values: [4, 3, 1, 5, 2]\n")
    sweep = relaunch("launch-sweep", str(config), "-q", "sw", "--json", env=env).json()
    agent_config = tmp_path / "agent.yaml"
    agent_config.write_text("queues: [sw]\nlease_seconds: 5\nmax_jobs: 2\n")
    log = (tmp_path / "agent1.log").open("w")
    first = subprocess.Popen([RELAUNCH, "launch-agent", "-c", str(agent_config)],
                             env={**cli_env, **env}, cwd=tmp_path, stdout=log, stderr=log,
                             start_new_session=True)
    store = QueueStore(url)
    try:
        deadline = time.monotonic() + 180
        while sum(t.state == "finished" for t in store.sweep_trials(sweep["id"])) < 2:
            assert time.monotonic() < deadline, (tmp_path / "agent1.log").read_text()[-3000:]
            assert first.poll() is None, (tmp_path / "agent1.log").read_text()[-3000:]
            time.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)  # mid-sweep: trials left to launch
        first.wait(30)
        second: Any = relaunch("launch-agent", "-c", str(agent_config), "--until-idle",
                          timeout=300, env=env)
        assert second.code == 0, second.err[-3000:]
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        log.close()
        store.dispose()
    runs = ran(marker)
    assert sorted(run["x"] for run in runs) == [1, 2, 3, 4, 5]  # none twice, none lost
    data = relaunch("sweep", "show", sweep["id"], "--json", env=env).json()
    assert data["state"] == "finished"
    assert data["best"]["params"]["x"] == 3
    assert sorted(t["number"] for t in data["trials"]) == [0, 1, 2, 3, 4]
    assert "resuming from" in second.err + second.out  # the killed agent's scheduler
