"""The sagemaker resource against the AWS test double (moto in this process over
HTTP on 127.0.0.1, with the patches named in moto_double.py): the request body
that reaches SageMaker, status mapping, cancel, CloudWatch logs, find."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from launch_core.backends.resource import JobContext, RunRef
from launch_core.backends.sagemaker.request import (
    sagemaker_environment,
    training_job_name,
)
from launch_core.backends.sagemaker.resource import SageMakerResource
from launch_core.errors import InvalidInput
from tests.support.moto_double import client

IMAGE = "127.0.0.1:5000/relaunch-test/sm:abc"
CONFIG = {
    "role_arn": "SageMakerRole",  # a bare name: an ARN through STS at submit
    "output_data_config": {"s3_output_path": "s3://bucket/out"},
    "resource_config": {"instance_type": "ml.m5.xlarge", "instance_count": 1,
                        "volume_size_in_gb": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 600},
    "Environment": {"FROM_QUEUE": "yes"},
    "hyper_parameters": {"learning_rate": "0.1"},
    "Tags": [{"Key": "team", "Value": "ml"}],
}


@pytest.fixture
def resource(aws, monkeypatch) -> SageMakerResource:
    for key, value in aws.items():
        monkeypatch.setenv(key, value)
    return SageMakerResource()


def _job(config=None, image=IMAGE, **env) -> JobContext:
    run_id = uuid.uuid4().hex[:12]
    return JobContext(run_id=run_id, item_id=7, entry_point=["python", "train.py"],
                      args=["--lr", "0.1"], env={"RELAUNCH_RUN_ID": run_id, **env},
                      config=dict(config or CONFIG), run_dir=Path("."), workdir=None,
                      image=image, queue="q1", entity="team", agent="agent-1")


def test_submit_sends_the_request_once_and_describe_reads_it_back(resource, sagemaker_moto):
    job = _job(RELAUNCH_RUN_CONFIG="x" * 1100)
    name = training_job_name(job.ref.name)
    assert resource.find(job.ref) is None
    handle = resource.submit(job)
    assert resource.submit(job) == handle  # a second submit finds the job
    [body] = sagemaker_moto.creates_of(name)
    assert body["RoleArn"] == "arn:aws:iam::123456789012:role/SageMakerRole"
    assert body["ResourceConfig"] == {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                      "VolumeSizeInGB": 10}
    assert body["HyperParameters"] == {"learning_rate": "0.1"}  # the user's keys kept
    assert body["AlgorithmSpecification"] == {
        "TrainingImage": IMAGE, "TrainingInputMode": "File",
        "ContainerEntrypoint": ["python", "train.py"], "ContainerArguments": ["--lr", "0.1"]}
    env = body["Environment"]
    assert env["RELAUNCH_RUN_ID"] == job.run_id
    assert "RELAUNCH_RUN_CONFIG" not in env
    assert [len(env[f"RELAUNCH_RUN_CONFIG_{n}"]) for n in range(3)] == [512, 512, 76]
    assert {"Key": "relaunch-run-id", "Value": job.run_id} in body["Tags"]
    assert {"Key": "relaunch-queue", "Value": "q1"} in body["Tags"]
    assert {"Key": "team", "Value": "ml"} in body["Tags"]
    described = client("sagemaker", sagemaker_moto.url).describe_training_job(
        TrainingJobName=name)
    assert described["ResourceConfig"]["InstanceType"] == "ml.m5.xlarge"
    assert handle["console_url"].endswith(f"#/jobs/{name}")
    assert handle["region"] == "us-east-1" and handle["image"] == IMAGE
    assert resource.find(job.ref) == handle


def test_request_is_the_body_submit_sends(resource, sagemaker_moto):
    config = {**CONFIG, "role_arn": "arn:aws:iam::123456789012:role/Given"}
    job = _job(config)
    preview = resource.request(job)
    resource.submit(job)
    [body] = sagemaker_moto.creates_of(training_job_name(job.ref.name))
    assert preview == body


def test_status_follows_the_training_job(resource, sagemaker_moto):
    handle = resource.submit(_job())
    name = handle["training_job_name"]
    assert resource.status(handle).state == "running"
    sagemaker_moto.set_status(name, "Stopping")
    assert resource.status(handle).state == "running"
    sagemaker_moto.set_status(name, "Stopped")
    assert (resource.status(handle).state, resource.status(handle).message) == (
        "failed", "stopped")
    sagemaker_moto.set_status(name, "Failed", "AlgorithmError: exit code 3\nTraceback")
    status = resource.status(handle)
    assert (status.state, status.message) == ("failed", "AlgorithmError: exit code 3 Traceback")
    sagemaker_moto.set_status(name, "Completed")
    assert (resource.status(handle).state, resource.status(handle).exit_code) == ("finished", 0)


def test_cancel_stops_the_training_job_and_a_second_cancel_is_harmless(
        resource, sagemaker_moto):
    handle = resource.submit(_job())
    resource.cancel(handle, 5)
    assert sagemaker_moto.status_of(handle["training_job_name"]) == "Stopping"
    resource.cancel(handle, 5)  # not InProgress any more: SageMaker refuses, it is done
    assert sagemaker_moto.stops.count(handle["training_job_name"]) == 1


def test_logs_come_from_the_jobs_streams_from_the_offset_on(resource, sagemaker_moto):
    handle = resource.submit(_job())
    name = handle["training_job_name"]
    assert resource.read_logs(handle, 0) == ("", 0)
    sagemaker_moto.write_logs(f"{name}/algo-1-1700000000", "epoch 1", "epoch 2")
    sagemaker_moto.write_logs(f"{name}-r1/algo-1-1700000000", "another run's line")
    text, offset = resource.read_logs(handle, 0)
    assert (text, offset) == ("epoch 1\nepoch 2\n", 2)
    sagemaker_moto.write_logs(f"{name}/algo-1-1700000000", "done")
    assert resource.read_logs(handle, offset) == ("done\n", 3)
    assert resource.read_logs(handle, 3) == ("", 3)
    # Another reader (`relaunch job logs`) starting at an offset of its own:
    assert SageMakerResource().read_logs(handle, 1) == ("epoch 2\ndone\n", 3)


def test_image_outside_ecr_is_refused_before_anything_is_created(resource, sagemaker_moto):
    job = _job(image="docker.io/library/python:3.11")
    with pytest.raises(InvalidInput, match="is not in ECR"):
        resource.submit(job)
    with pytest.raises(InvalidInput, match="is not in ECR"):
        resource.request(job)
    assert sagemaker_moto.creates_of(training_job_name(job.ref.name)) == []


def test_a_request_botocore_refuses_fails_before_anything_is_created(resource, sagemaker_moto):
    job = _job({**CONFIG, "resource_config": {"instance_type": "ml.m5.xlarge",
                                              "instance_count": 1, "volume_size": 10}})
    with pytest.raises(InvalidInput, match='Unknown parameter in ResourceConfig: "VolumeSize"'):
        resource.submit(job)
    assert sagemaker_moto.creates_of(training_job_name(job.ref.name)) == []


def test_a_key_given_twice_in_two_cases_is_refused(resource):
    with pytest.raises(InvalidInput, match="'RoleArn' is given twice"):
        resource.validate({**CONFIG, "RoleArn": "Other"})


def test_find_misses_a_run_never_started(resource):
    assert resource.find(RunRef("neverstarted", 2)) is None


@pytest.mark.parametrize(("run_name", "expected"), [
    ("relaunch-abc123", "relaunch-abc123"),
    ("relaunch-ab_c.1-r2", "relaunch-ab-c-1-r2"),
    ("--x--", "x"),
])
def test_training_job_name_follows_sagemakers_pattern(run_name, expected):
    assert training_job_name(run_name) == expected


def test_long_training_job_name_is_cut_to_63_with_a_hash():
    long_a, long_b = "relaunch-" + "a" * 80, "relaunch-" + "a" * 79 + "b"
    assert len(training_job_name(long_a)) == 63
    assert training_job_name(long_a) != training_job_name(long_b)


def test_environment_limits():
    env = sagemaker_environment({"SHORT": "x" * 512, "LONG": "y" * 513})
    assert env == {"SHORT": "x" * 512, "LONG_0": "y" * 512, "LONG_1": "y"}
    with pytest.raises(InvalidInput, match="'BAD-NAME'"):
        sagemaker_environment({"BAD-NAME": "1"})
    with pytest.raises(InvalidInput, match="101 environment variables"):
        sagemaker_environment({f"V{n}": "1" for n in range(101)})
