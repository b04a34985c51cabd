"""sagemaker queues through the console script, before any agent: required keys at
queue create and at enqueue, and the request body ``--dry-run`` prints. No AWS call
is made on these paths (no endpoint is configured here)."""

from __future__ import annotations

import json

import pytest

BASE = {
    "RoleArn": "SageMakerRole",
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
    "ResourceConfig": {"InstanceType": "{{ instance_type }}", "InstanceCount": 1,
                       "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
}
VARS = {"instance_type": {"type": "string", "enum": ["ml.m5.xlarge", "ml.g5.2xlarge"],
                          "default": "ml.m5.xlarge"}}
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/train:1"


def _create(relaunch, name: str, config: dict, variables: dict | None = None):
    return relaunch("queue", "create", name, "-r", "sagemaker", "--config", json.dumps(config),
                    "--template-variables", json.dumps(VARS if variables is None else variables))


def _queues(relaunch) -> list[str]:
    result = relaunch("queue", "list", "--json")
    assert result.code == 0, result.err
    return [queue["name"] for queue in result.json()]


@pytest.mark.parametrize("key", ["RoleArn", "OutputDataConfig", "ResourceConfig",
                                 "StoppingCondition"])
def test_queue_create_without_a_required_key_exits_2_naming_it(relaunch, key):
    config = {k: v for k, v in BASE.items() if k != key}
    result = _create(relaunch, "sm", config, {} if key == "ResourceConfig" else VARS)
    assert result.code == 2, result.err
    assert f"'{key}'" in result.err and len(result.err.strip().splitlines()) == 1
    assert _queues(relaunch) == []


def test_snake_case_keys_are_accepted_and_an_unknown_key_is_named(relaunch):
    snake = {"role_arn": "SageMakerRole",
             "output_data_config": {"s3_output_path": "s3://bucket/out"},
             "resource_config": {"instance_type": "{{ instance_type }}", "instance_count": 1},
             "stopping_condition": {"max_runtime_in_seconds": 60}}
    assert _create(relaunch, "snake", snake).code == 0
    bad = _create(relaunch, "bad", {**BASE, "InstanceTypo": "x"})
    assert bad.code == 2 and "'InstanceTypo'" in bad.err
    named = _create(relaunch, "named", {**BASE, "TrainingJobName": "fixed"})
    assert named.code == 2 and "'TrainingJobName'" in named.err
    assert _queues(relaunch) == ["snake"]


@pytest.mark.parametrize("key", ["RoleArn", "OutputDataConfig", "ResourceConfig",
                                 "StoppingCondition"])
def test_enqueue_without_a_required_key_exits_2_naming_it_and_stores_nothing(relaunch, key):
    # The template's variable has no sample value (a pattern, no default), so queue
    # create cannot render it: the keys are checked at dry-run and at enqueue.
    variables = {"bucket": {"type": "string", "pattern": "^bkt-[a-z]+$"}}
    config = {**BASE, "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
              "CheckpointConfig": {"S3Uri": "s3://{{ bucket }}/checkpoints"}}
    del config[key]
    assert _create(relaunch, "late", config, variables).code == 0
    for extra in ([], ["--dry-run"]):
        result = relaunch("launch", "-q", "late", "-d", IMAGE, "-v", "bucket=bkt-one", *extra)
        assert result.code == 2, result.out
        assert f"'{key}'" in result.err and len(result.err.strip().splitlines()) == 1
    listed = relaunch("job", "list", "--json")
    assert listed.code == 0 and listed.json() == []


def test_dry_run_prints_the_create_training_job_body(relaunch):
    assert _create(relaunch, "sm", {**BASE, "Environment": {"FROM_QUEUE": "yes"}}).code == 0
    result = relaunch("launch", "-q", "sm", "-d", IMAGE, "-E", "python train.py",
                      "-a", "--epochs 3", "-v", "instance_type=ml.g5.2xlarge",
                      "--run-config", json.dumps({"lr": 0.1}), "--dry-run")
    assert result.code == 0, result.err
    body = result.json()["request"]
    assert body["TrainingJobName"].startswith("relaunch-")
    assert body["ResourceConfig"] == {"InstanceType": "ml.g5.2xlarge", "InstanceCount": 1,
                                      "VolumeSizeInGB": 10}
    assert body["AlgorithmSpecification"] == {
        "TrainingImage": IMAGE, "TrainingInputMode": "File",
        "ContainerEntrypoint": ["python", "train.py"], "ContainerArguments": ["--epochs", "3"]}
    assert body["RoleArn"] == "arn:aws:iam::<account id>:role/SageMakerRole"
    assert body["Environment"]["WANDB_CONFIG"] == '{"lr": 0.1}'
    assert body["Environment"]["FROM_QUEUE"] == "yes"  # the queue's, with the job's
    assert body["Environment"]["RELAUNCH_QUEUE"] == "sm"
    assert {"Key": "relaunch-queue", "Value": "sm"} in body["Tags"]
    assert relaunch("job", "list", "--json").json() == []


def test_dry_run_of_a_code_job_shows_the_image_to_build_and_an_outside_image_is_refused(
        relaunch, tmp_path):
    assert _create(relaunch, "sm", BASE).code == 0
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "main.py").write_text("print('hi')\n")
    code = relaunch("launch", "-q", "sm", "--code", str(tmp_path / "code"), "-E",
                    "python main.py", "--dry-run")
    assert code.code == 0, code.err
    assert code.json()["request"]["AlgorithmSpecification"]["TrainingImage"] == \
        "<image the agent builds>"
    outside = relaunch("launch", "-q", "sm", "-d", "python:3.11", "--dry-run")
    assert outside.code == 2 and "is not in ECR" in outside.err


def test_dry_run_names_a_key_the_api_does_not_know_and_a_mistyped_value(relaunch):
    config = {**BASE, "ResourceConfig": {"InstanceType": "ml.m5.xlarge",
                                         "InstanceCount": "one", "VolumeSizeInGb": 10}}
    assert _create(relaunch, "sm", config, {}).code == 0  # nested keys: checked per job
    result = relaunch("launch", "-q", "sm", "-d", IMAGE, "--dry-run")
    assert result.code == 2 and len(result.err.strip().splitlines()) == 1, result.err
    assert 'Unknown parameter in ResourceConfig: "VolumeSizeInGb"' in result.err
    assert "ResourceConfig.InstanceCount" in result.err
