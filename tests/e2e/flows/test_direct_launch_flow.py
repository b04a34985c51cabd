"""W&B's launch flags end to end, against the session's Prefect server (PostgreSQL) and a
SQLite store: direct launch (no -q) on local-process with --async and on local-container
(a real Docker daemon), and launch-agent's -j/-l."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import wait_for
from tests.support.fixtures.prefect import JOBS, read_records

ACTIVE = ("queued", "claimed", "building", "submitted", "running")


def _status(relaunch, job: int) -> dict:
    return relaunch("job", "status", str(job), "--json").json()


def test_async_direct_launch_returns_at_once_and_runs_in_the_background(relaunch, out_dir):
    result = relaunch("launch", "--code", str(JOBS), "-E", "python3 record.py", "--async",
                      "--run-config", json.dumps({"out": str(out_dir), "sleep": 3}), "--json")
    assert result.code == 0, result.err
    job = result.json()
    assert job["queue"] == "relaunch-direct-local-process"
    assert _status(relaunch, job["id"])["state"] in ACTIVE  # not waited for

    done = wait_for(lambda: (s := _status(relaunch, job["id"]))["state"] not in ACTIVE and s,
                    "the background job to end", timeout=180)
    assert (done["state"], done["exit_code"]) == ("finished", 0)
    [record] = read_records(out_dir, job["id"])
    assert record["env"]["RELAUNCH_RUN_ID"] == job["run_id"]


def test_direct_launch_of_a_local_directory_uri_runs_it_as_code(relaunch, out_dir, tmp_path):
    code = tmp_path / "repo" / "jobs"
    code.mkdir(parents=True)
    (code / "record.py").write_text((JOBS / "record.py").read_text())
    result = relaunch("launch", "-u", str(tmp_path / "repo"), "--build-context", "jobs",
                      "-E", "python3 record.py", "-c",
                      json.dumps({"overrides": {"run_config": {"out": str(out_dir)},
                                                "args": ["--lr", 0.5]}}),
                      "--json", timeout=180)
    assert result.code == 0, result.err[-2000:]
    job = result.json()
    assert job["state"] == "finished"
    [record] = read_records(out_dir, job["id"])
    assert record["argv"] == ["--lr", "0.5"]


def test_direct_launch_on_local_container_waits_for_the_container(relaunch, docker_env, names):
    # The direct queue, made beforehand with this test's label, so the fixture cleans up.
    queue = relaunch("queue", "create", "relaunch-direct-local-container", "-r",
                     "local-container", "--config",
                     json.dumps({"labels": {"relaunch.test": names.token}}))
    assert queue.code == 0, queue.err
    result = relaunch("launch", "-r", "local-container", "-d", docker_env.base_image,
                      "-E", "python3 -c \"print('hello from a container')\"", timeout=300)
    assert result.code == 0, result.err[-3000:]
    assert result.out.strip().endswith("finished")
    job = int(result.out.split()[1])
    status = _status(relaunch, job)
    assert (status["state"], status["exit_code"]) == ("finished", 0)
    assert "container_id" in status["handle"]
    assert "hello from a container" in relaunch("job", "logs", str(job)).out


def test_agent_short_max_jobs_flag_and_log_file(relaunch, out_dir, tmp_path: Path):
    assert relaunch("queue", "create", "logged", "-r", "local-process").code == 0
    launched = relaunch("launch", "-q", "logged", "--code", str(JOBS), "-E", "python3 record.py",
                        "--run-config", json.dumps({"out": str(out_dir)}), "--json").json()
    log = tmp_path / "agent.log"
    agent = relaunch("launch-agent", "-q", "logged", "-j", "2", "-l", str(log), "--until-idle",
                     timeout=180)
    assert agent.code == 0, agent.err[-3000:]
    text = log.read_text()
    assert "polling team/logged (max_jobs 2)" in text  # the agent's own lines, with -j
    assert f"hello from run {launched['run_id']}" in text  # the job's output, via its flow
    assert _status(relaunch, launched["id"])["state"] == "finished"
