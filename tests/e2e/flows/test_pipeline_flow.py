"""End to end: console scripts -> queue store -> agent flow -> launch-job flow ->
local process, against a real Prefect server (PostgreSQL) and a SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.store import QueueStore
from tests.support.fixtures.prefect import JOBS, read_records

TASKS = {"fetch-config", "merge-overrides", "build-image", "push-to-registry",
         "submit-to-resource", "wait-for-completion"}
CONFIG = json.dumps({"env": {"OMP_NUM_THREADS": "{{ threads }}"}})
VARS = json.dumps({"threads": {"type": "integer", "minimum": 1, "maximum": 4, "default": 1}})


def _queue(relaunch, name: str = "q", config: str = CONFIG, variables: str = VARS) -> None:
    result = relaunch("queue", "create", name, "-r", "local-process", "--config", config,
                      "--template-variables", variables)
    assert result.code == 0, result.err


def _launch(relaunch, out_dir: Path, *extra: str, queue: str = "q", **run_config) -> int:
    result = relaunch("launch", "-q", queue, "--code", str(JOBS), "-E", "python3 record.py",
                      "--run-config", json.dumps({"out": str(out_dir), **run_config}),
                      "--json", *extra)
    assert result.code == 0, result.err
    return int(result.json()["id"])


def _agent(relaunch, *extra: str, queue: str = "q"):
    return relaunch("launch-agent", "-q", queue, "--until-idle", *extra, timeout=180)


def test_job_runs_as_flow_with_six_tasks_logs_env_and_artifact(relaunch, api, out_dir):
    # Queue names are unique per test: flow runs are named <queue>-<job> on the shared server.
    _queue(relaunch, "six-tasks")
    job = _launch(relaunch, out_dir, "-v", "threads=3", "-a", "--lr 0.5", "--name", "first",
                  queue="six-tasks")
    agent = _agent(relaunch, queue="six-tasks")
    assert agent.code == 0, agent.err[-3000:]

    status = relaunch("job", "status", str(job), "--json").json()
    assert status["state"] == "finished" and status["exit_code"] == 0
    [record] = read_records(out_dir, job)
    assert record["argv"] == ["--lr", "0.5"]
    env = record["env"]
    assert env["OMP_NUM_THREADS"] == "3"
    assert json.loads(env["RELAUNCH_RUN_CONFIG"])["out"] == str(out_dir)
    assert env["RELAUNCH_ITEM_ID"] == str(job) and env["RELAUNCH_QUEUE"] == "six-tasks"
    assert env["RELAUNCH_RUN_ID"] == status["run_id"] and env["RELAUNCH_RUN_NAME"] == "first"
    assert env["RELAUNCH_ENTITY"] == "team"

    [run] = api.flow_runs(f"six-tasks-{job}")
    assert run["state_type"] == "COMPLETED"
    names = {t["name"].rsplit("-", 1)[0] for t in api.task_runs(run["id"])}
    assert names == TASKS
    assert any(f"hello from run {status['run_id']}" in line for line in api.logs(run["id"]))
    [artifact] = api.artifacts(run["id"])
    assert artifact["key"] == f"relaunch-run-{status['run_id']}"
    assert "Resolved resource config" in artifact["data"]
    assert relaunch("job", "logs", str(job)).out.startswith(f"hello from run {status['run_id']}")


def test_bad_queue_config_fails_item_at_stage_agent(relaunch, api, cli_env, out_dir):
    # Queue create and launch refuse this config now; a queue and job stored before
    # those checks (written here straight to the store) still meet the agent's check.
    store = QueueStore(f"sqlite:///{Path(cli_env['RELAUNCH_DATA_DIR']) / 'relaunch.db'}")
    queue = store.create_queue(QueueDefinition.model_validate({
        "entity": "team", "name": "bad-config", "resource": "local-process",
        "config": {"cpus": "{{ n }}"},
        "template_variables": {"n": {"type": "integer", "default": 1}}}))
    job = store.enqueue(queue, LaunchSpec(image="img:1", entry_point=["true"])).id
    store.dispose()
    assert _agent(relaunch, queue="bad-config").code == 0
    status = relaunch("job", "status", str(job), "--json").json()
    assert (status["state"], status["stage"]) == ("failed", "agent")
    assert status["reason"] == ("local-process: option 'cpus' is not allowed "
                                "(allowed: env, gpus)")
    [run] = api.flow_runs(f"bad-config-{job}")
    assert run["state_type"] == "FAILED"


def test_missing_entry_point_fails_item_at_stage_run(relaunch, out_dir):
    _queue(relaunch)
    result = relaunch("launch", "-q", "q", "--code", str(JOBS), "-E", "no-such-program-xyz")
    job = int(result.out.split()[2])
    assert _agent(relaunch).code == 0
    status = relaunch("job", "status", str(job), "--json").json()
    assert (status["state"], status["stage"], status["exit_code"]) == ("failed", "run", 127)
    assert "cannot start 'no-such-program-xyz'" in relaunch("job", "logs", str(job)).out


def test_failing_job_records_its_exit_code(relaunch, out_dir):
    _queue(relaunch)
    job = _launch(relaunch, out_dir, exit=3)
    assert _agent(relaunch).code == 0
    status = relaunch("job", "status", str(job), "--json").json()
    assert (status["state"], status["stage"], status["exit_code"]) == ("failed", "run", 3)
    assert status["reason"] == "exit code 3"


def test_launch_without_queue_runs_here_and_fails_nonzero(relaunch, out_dir):
    ok = relaunch("launch", "--code", str(JOBS), "-E", "python3 record.py",
                  "--run-config", json.dumps({"out": str(out_dir)}), timeout=180)
    assert ok.code == 0, ok.err[-2000:]
    assert ok.out.strip().endswith("finished")
    bad = relaunch("launch", "--code", str(JOBS), "-E", "python3 record.py",
                   "--run-config", json.dumps({"out": str(out_dir), "exit": 2}), timeout=180)
    assert bad.code == 1
    assert "run: exit code 2" in bad.err
