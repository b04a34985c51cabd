"""The vertex resource end to end: console scripts -> agent process -> launch-job flow
(the session's Prefect server) -> the real google-cloud-aiplatform client (REST) -> the
Vertex FAKE (tests/support/vertex_fake.py: a test double of Vertex AI's JobService on
127.0.0.1; no Vertex emulator exists). The tests drive each CustomJob's state through
the fake's test API and read what reached it."""

from __future__ import annotations

import json
import os
import signal
import uuid
from pathlib import Path

import pytest

from tests.support import wait_for
from tests.support.docker import run_agent, start_agent, write_agent_config
from tests.support.vertex_fake import VertexFake

# The agents here run on the session's Prefect server (tests/support/fixtures/prefect.py).
IMAGE = "europe-west4-docker.pkg.dev/proj/repo/train:1"
SPEC = {"staging_bucket": "gs://relaunch-staging",
        "worker_pool_specs": [{"machine_spec": {"machine_type": "n1-standard-4",
                                                "accelerator_type": "NVIDIA_TESLA_T4",
                                                "accelerator_count": "{{gpus}}"},
                               "replica_count": 1}]}
GPUS = {"gpus": {"type": "integer", "minimum": 0, "maximum": 8, "default": 1}}


@pytest.fixture
def queue(relaunch) -> str:
    """A vertex queue (W&B's name gcp-vertex) with a templated accelerator count."""
    name = f"vq-{uuid.uuid4().hex[:12]}"
    result = relaunch("queue", "create", name, "-r", "gcp-vertex",
                      "--config", json.dumps({"spec": SPEC, "run": {"timeout": 3600}}),
                      "--template-variables", json.dumps(GPUS))
    assert result.code == 0, result.err
    return name


def _enqueue(relaunch, queue: str, *extra: str) -> int:
    result = relaunch("launch", "-q", queue, "-d", IMAGE, "-E", "python train.py",
                      "-a", "--epochs", "-a", "3", "--json", *extra)
    assert result.code == 0, result.err
    return int(result.json()["id"])


def _start(cli_env, vertex_env, tmp_path: Path, queue: str, agents: list, log: str = "agent",
           **config) -> object:
    path = write_agent_config(tmp_path / f"{log}.yaml", queue, **config)
    agent = start_agent({**cli_env, **vertex_env}, tmp_path / f"{log}.log", "-c", str(path),
                        "--until-idle")
    agents.append(agent)
    return agent


def _created(vertex_fake: VertexFake, count: int = 1) -> list[dict]:
    wait_for(lambda: len(vertex_fake.jobs) >= count, "the CustomJob to be created", 120)
    return vertex_fake.creates()


def _job_id(job: dict) -> str:
    return str(job["name"].rsplit("/", 1)[1])


def test_templated_accelerator_count_reaches_the_customjob_and_it_runs_to_succeeded(
        relaunch, api, cli_store, cli_env, vertex_env, vertex_fake, queue, agents, tmp_path):
    item_id = _enqueue(relaunch, queue, "--set-var", "gpus=4")
    agent = _start(cli_env, vertex_env, tmp_path, queue, agents)
    [job] = _created(vertex_fake)
    run_id = cli_store.get_item(item_id).run_id
    [pool] = job["jobSpec"]["workerPoolSpecs"]
    assert pool["machineSpec"] == {"machineType": "n1-standard-4",
                                   "acceleratorType": "NVIDIA_TESLA_T4", "acceleratorCount": 4}
    container = pool["containerSpec"]
    assert (container["imageUri"], container["command"], container["args"]) == (
        IMAGE, ["python", "train.py"], ["--epochs", "3"])
    env = {e["name"]: e.get("value", "") for e in container["env"]}
    assert (env["RELAUNCH_RUN_ID"], env["RELAUNCH_ITEM_ID"], env["WANDB_RUN_ID"]) == (
        run_id, str(item_id), run_id)
    assert job["displayName"] == f"relaunch-{run_id}"
    assert job["labels"]["relaunch-run"] == run_id
    assert job["labels"]["relaunch-queue"] == queue
    assert job["jobSpec"]["scheduling"] == {"timeout": "3600s"}
    assert job["jobSpec"]["baseOutputDirectory"] == {
        "outputUriPrefix": f"gs://relaunch-staging/relaunch-{run_id}"}
    assert job["name"].startswith("projects/proj/locations/europe-west4/customJobs/")

    # PENDING (as created) -> RUNNING -> SUCCEEDED, the item running until the end
    wait_for(lambda: cli_store.get_item(item_id).state == "running", "the item to run", 60)
    vertex_fake.set_state(_job_id(job), "RUNNING")
    served = len(vertex_fake.calls)
    wait_for(lambda: len(vertex_fake.calls) > served + 2, "a few status reads", 60)
    assert cli_store.get_item(item_id).state == "running"
    vertex_fake.set_state(_job_id(job), "SUCCEEDED")
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]

    item = cli_store.get_item(item_id)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert item.handle["name"] == job["name"]
    assert item.handle["console_url"].endswith(
        f"/vertex-ai/locations/europe-west4/training/{_job_id(job)}?project=proj")
    assert len(vertex_fake.calls_to("POST", "/customJobs")) == 1
    logs = relaunch("job", "logs", str(item_id))
    assert logs.code == 0 and "Cloud Logging" in logs.out, logs.out + logs.err
    assert _job_id(job) in logs.out
    [run] = api.flow_runs(f"{queue}-{item_id}")
    [artifact] = [a for a in api.artifacts(run["id"]) if a.get("type") == "markdown"]
    assert item.handle["console_url"] in artifact["data"]


def test_failed_customjob_fails_the_item_at_stage_run_with_its_error_message(
        relaunch, cli_store, cli_env, vertex_env, vertex_fake, queue, agents, tmp_path):
    item_id = _enqueue(relaunch, queue)
    agent = _start(cli_env, vertex_env, tmp_path, queue, agents)
    [job] = _created(vertex_fake)
    assert job["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]["acceleratorCount"] == 1
    vertex_fake.set_state(_job_id(job), "RUNNING")
    message = "The replica workerpool0-0 exited with a non-zero status of 3."
    vertex_fake.set_state(_job_id(job), "FAILED", error=message)
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]
    item = cli_store.get_item(item_id)
    assert (item.state, item.stage, item.reason) == ("failed", "run", message)
    status = relaunch("job", "status", str(item_id))
    assert status.code == 0 and "run" in status.out and message in status.out, status.out


def test_cancel_reaches_cancel_custom_job_and_the_item_is_cancelled(
        relaunch, cli_store, cli_env, vertex_env, vertex_fake, queue, agents, tmp_path):
    item_id = _enqueue(relaunch, queue)
    agent = _start(cli_env, vertex_env, tmp_path, queue, agents)
    [job] = _created(vertex_fake)
    vertex_fake.set_state(_job_id(job), "RUNNING")
    wait_for(lambda: cli_store.get_item(item_id).state == "running", "the item to run", 60)
    assert relaunch("job", "cancel", str(item_id)).code == 0
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]
    assert cli_store.get_item(item_id).state == "cancelled"
    assert vertex_fake.calls_to("POST", f"/customJobs/{_job_id(job)}:cancel")
    assert vertex_fake.jobs[_job_id(job)]["state"] in ("JOB_STATE_CANCELLING",
                                                        "JOB_STATE_CANCELLED")


def test_kill_9_during_create_then_a_new_agent_finds_the_customjob_and_it_ends_once(
        relaunch, cli_store, cli_env, vertex_env, vertex_fake, queue, agents, tmp_path):
    """The fake stores the CustomJob and never answers the create: the first agent dies
    before it can record the run. The next one must find it by name and label."""
    item_id = _enqueue(relaunch, queue)
    vertex_fake.hold_creates = True
    first = _start(cli_env, vertex_env, tmp_path, queue, agents, "agent-0", lease_seconds=5)
    [job] = _created(vertex_fake)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    item = cli_store.get_item(item_id)
    assert item.state not in ("submitted", "running") and item.handle is None  # not recorded
    vertex_fake.hold_creates = False
    vertex_fake.release.set()
    vertex_fake.set_state(_job_id(job), "SUCCEEDED")

    config = write_agent_config(tmp_path / "agent-1.yaml", queue, lease_seconds=5)
    second = run_agent(relaunch, config, env=vertex_env)
    assert second.code == 0, second.err[-3000:]
    item = cli_store.get_item(item_id)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert item.handle["name"] == job["name"]
    assert len(vertex_fake.calls_to("POST", "/customJobs")) == 1
    assert len(vertex_fake.jobs) == 1
    events = cli_store.events_for(item_id)
    assert [e.to_state for e in events].count("submitted") == 1
    assert any("re-attached" in (e.message or "") for e in events)
