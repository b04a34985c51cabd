"""sagemaker end to end: console scripts -> agent flow (the session's Prefect server)
-> the AWS test double (moto in this process over HTTP, patched as moto_double.py
says: jobs stay InProgress until a test's plan moves them, StopTrainingJob exists).
The code job is built by the real Docker daemon and pushed to the open OCI registry
(Debian's docker-registry) standing in for ECR: the agent's ``registry.type: ecr``
gets its token from the double, and RELAUNCH_SAGEMAKER_EXTRA_ECR_HOSTS names the
registry's host as ECR for the resource's image check."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from launch_core.backends.sagemaker.request import training_job_name
from tests.support.docker import registry_tags, run_agent, start_agent, wait_for, write_code
from tests.support.moto_double import client

# The agents here run flows on the session's Prefect server (its console-script env).

QUEUE_CONFIG = {
    "RoleArn": "SageMakerRole",
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
    "ResourceConfig": {"InstanceType": "{{ instance_type }}", "InstanceCount": 1,
                       "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
}
PAUSED_AGENT = Path(__file__).resolve().parents[3] / "support" / "sagemaker_paused_agent.py"
VARS = {"instance_type": {"type": "string", "enum": ["ml.m5.xlarge", "ml.g5.2xlarge"],
                          "default": "ml.m5.xlarge"}}


@pytest.fixture
def queue(relaunch) -> str:
    name = f"sm-{uuid.uuid4().hex[:12]}"  # flow runs are named <queue>-<item id>
    result = relaunch("queue", "create", name, "-r", "sagemaker", "--config",
                      json.dumps(QUEUE_CONFIG), "--template-variables", json.dumps(VARS))
    assert result.code == 0, result.err
    return name


def _agent_config(tmp_path, queue: str, **extra) -> str:
    path = tmp_path / "launch-config.yaml"
    path.write_text(json.dumps({"queues": [queue], **extra}))
    return str(path)


def _enqueue(relaunch, queue: str, *args: str) -> tuple[int, str]:
    """Enqueue; the job's id and its training job's name."""
    result = relaunch("launch", "-q", queue, "--json", *args)
    assert result.code == 0, result.err
    job = result.json()
    return int(job["id"]), training_job_name(f"relaunch-{job['run_id']}")


def _image(registry: str = "127.0.0.1:5000") -> str:
    return os.environ.get("RELAUNCH_TEST_REGISTRY", registry) + "/relaunch-test/sm:given"


def test_code_job_built_pushed_and_run_with_templated_instance_type_and_logs(
        relaunch, api, cli_store, docker_env, names, queue, aws, sagemaker_moto, tmp_path):
    code = write_code(tmp_path / "job")
    job, name = _enqueue(relaunch, queue, "--code", str(code), "-E", "python3 main.py",
                         "-v", "instance_type=ml.g5.2xlarge", "--run-config", '{"lr": 0.5}')
    sagemaker_moto.plan(name, "InProgress", "InProgress", "Completed")
    sagemaker_moto.write_logs(f"{name}/algo-1-1700000000", f"hello from {job}", "epoch 1 done")
    config = _agent_config(tmp_path, queue, builder={"type": "docker",
                                                     "base-image": docker_env.base_image},
                           registry={"type": "ecr",
                                     "uri": names.destination(docker_env.registry)})
    agent = run_agent(relaunch, config, env=aws)
    assert agent.code == 0, agent.err[-3000:]

    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    image = item.handle["image"]
    assert image.rpartition(":")[2] in registry_tags(docker_env.registry, names.repository)
    [body] = sagemaker_moto.creates_of(name)  # exactly one CreateTrainingJob
    assert body["AlgorithmSpecification"]["TrainingImage"] == image
    assert body["AlgorithmSpecification"]["ContainerEntrypoint"] == ["python3", "main.py"]
    assert body["Environment"]["RELAUNCH_RUN_CONFIG"] == '{"lr": 0.5}'
    described = client("sagemaker", sagemaker_moto.url).describe_training_job(
        TrainingJobName=name)
    assert described["ResourceConfig"]["InstanceType"] == "ml.g5.2xlarge"
    assert described["RoleArn"] == "arn:aws:iam::123456789012:role/SageMakerRole"

    logs = relaunch("job", "logs", str(job), env=aws)
    assert logs.code == 0, logs.err
    assert logs.out == f"hello from {job}\nepoch 1 done\n"
    [run] = api.flow_runs(f"{queue}-{job}")
    assert run["state_type"] == "COMPLETED"
    assert any(f"hello from {job}" in line for line in api.logs(run["id"]))
    [artifact] = api.artifacts(run["id"])
    assert f"console.aws.amazon.com/sagemaker/home?region=us-east-1#/jobs/{name}" in \
        artifact["data"]


def _save_aws_block(cli_env, name: str, secret: str) -> None:
    """Save a prefect-aws AwsCredentials block (keys for the double) in the session's
    Prefect server."""
    script = ("import os\n"
              "from prefect_aws import AwsCredentials\n"
              "AwsCredentials(aws_access_key_id='block-key', aws_secret_access_key="
              "os.environ['S'], region_name='us-east-1').save(os.environ['N'])\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**cli_env, "S": secret, "N": name})
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_failed_job_reason_and_non_ecr_refusal_with_credentials_from_a_block(
        relaunch, cli_env, cli_store, api, queue, aws, sagemaker_moto, tmp_path):
    """The agent and `job logs` have no AWS keys or region of their own: only the
    AwsCredentials block RELAUNCH_AWS_CREDENTIALS_BLOCK names (then the handle)."""
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    block = f"aws-{uuid.uuid4().hex[:8]}"
    _save_aws_block(cli_env, block, secret)
    own = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
           "AWS_REGION", "AWS_DEFAULT_REGION")  # empty: not set, for boto3 and relaunch
    no_keys = {**{k: v for k, v in aws.items() if k not in own}, **dict.fromkeys(own, ""),
               "AWS_EC2_METADATA_DISABLED": "true"}
    failing, name = _enqueue(relaunch, queue, "-d", _image())
    sagemaker_moto.plan(name, "InProgress", ("Failed", "AlgorithmError: loss is NaN"))
    sagemaker_moto.write_logs(f"{name}/algo-1-1700000000", "loss: nan")
    outside, outside_name = _enqueue(relaunch, queue, "-d", "docker.io/library/python:3.11")
    agent = run_agent(relaunch, _agent_config(tmp_path, queue, max_jobs=2),
                      env={**no_keys, "RELAUNCH_AWS_CREDENTIALS_BLOCK": block})
    assert agent.code == 0, agent.err[-3000:]

    status = relaunch("job", "status", str(failing), "--json")
    assert status.code == 0, status.err
    shown = status.json()
    assert (shown["state"], shown["stage"]) == ("failed", "run"), shown["reason"]
    assert shown["reason"] == "AlgorithmError: loss is NaN"
    assert shown["handle"]["credentials_block"] == block and secret not in status.out
    assert len(sagemaker_moto.creates_of(name)) == 1
    described = client("sagemaker", sagemaker_moto.url).describe_training_job(
        TrainingJobName=name)
    assert described["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"  # the default
    logs = relaunch("job", "logs", str(failing), env=no_keys)
    assert (logs.code, logs.out) == (0, "loss: nan\n"), logs.err
    [run] = api.flow_runs(f"{queue}-{failing}")
    artifacts = "".join(str(artifact["data"]) for artifact in api.artifacts(run["id"]))
    assert f"#/jobs/{name}" in artifacts  # the console link
    assert secret not in artifacts and secret not in agent.out + agent.err

    item = cli_store.get_item(outside)
    assert (item.state, item.stage) == ("failed", "run")
    assert "is not in ECR" in item.reason
    assert sagemaker_moto.creates_of(outside_name) == []
    assert outside_name not in sagemaker_moto.jobs()


def test_cancel_stops_the_training_job(
        relaunch, cli_store, cli_env, queue, aws, sagemaker_moto, agents, tmp_path):
    job, name = _enqueue(relaunch, queue, "-d", _image())
    sagemaker_moto.plan(name, "InProgress")
    agent = start_agent({**cli_env, **aws}, tmp_path / "agent.log", "-c",
                        _agent_config(tmp_path, queue), "--until-idle")
    agents.append(agent)
    wait_for(lambda: cli_store.get_item(job).state == "running", "the job to run", 120)
    assert relaunch("job", "cancel", str(job)).code == 0
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]
    assert cli_store.get_item(job).state == "cancelled"
    assert sagemaker_moto.stops.count(name) == 1
    assert sagemaker_moto.status_of(name) == "Stopping"


def test_kill_9_after_create_then_a_new_agent_readopts_by_training_job_name(
        relaunch, cli_store, cli_env, queue, aws, sagemaker_moto, agents, tmp_path):
    """The first agent is killed after CreateTrainingJob, before it could record the
    job submitted (paused_agent.py): the next agent finds the job by its name."""
    job, name = _enqueue(relaunch, queue, "-d", _image())
    sagemaker_moto.plan(name, "InProgress")
    config = _agent_config(tmp_path, queue, lease_seconds=5)
    paused = tmp_path / "paused"
    with open(tmp_path / "agent-0.log", "w") as log:
        first = subprocess.Popen([sys.executable, str(PAUSED_AGENT), str(paused),
                                  "launch-agent", "-c", config], env={**cli_env, **aws},
                                 cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    agents.append(first)
    wait_for(paused.exists, "the training job to be created under the paused agent", 120)
    assert paused.read_text() == name
    assert cli_store.get_item(job).state == "building"  # created, not recorded
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    sagemaker_moto.plan(name, "InProgress", "Completed")  # it ends under the new agent

    second = run_agent(relaunch, config, env=aws)
    assert second.code == 0, second.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert item.handle["training_job_name"] == name
    assert len(sagemaker_moto.creates_of(name)) == 1  # one CreateTrainingJob, ever
    events = cli_store.events_for(job)
    [submitted] = [e for e in events if e.to_state == "submitted"]
    assert "re-attached" in (submitted.message or "")
    assert [e.to_state for e in events].count("finished") == 1
