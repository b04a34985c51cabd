"""``launch --dry-run`` prints the request the resource would send with the queue
config's ``${ENV}`` macros filled from this process's environment: those values are
secrets there too and show as ***. Real console script, private SQLite store; no AWS
call is made (the request is only built)."""

from __future__ import annotations

import json

QUEUE_CONFIG = {
    "RoleArn": "arn:aws:iam::123456789012:role/SageMakerRole",
    "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                       "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
    "Environment": {"DATASET_URL": "https://reader:${DATASET_KEY}@data.example/set"},
}
SECRET = "dk-dry-run-7731"
ENV = {"DATASET_KEY": SECRET, "AWS_REGION": "us-east-1",
       "RELAUNCH_SAGEMAKER_EXTRA_ECR_HOSTS": "127.0.0.1:5000"}


def test_dry_run_request_masks_values_filled_from_the_environment(relaunch):
    assert relaunch("queue", "create", "sm", "-r", "sagemaker", "--config",
                    json.dumps(QUEUE_CONFIG), env=ENV).code == 0
    shown = relaunch("launch", "-q", "sm", "-d", "127.0.0.1:5000/team/app:1", "--dry-run",
                     "--json", env=ENV)
    assert shown.code == 0, shown.err
    environment = shown.json()["request"]["Environment"]
    assert environment["DATASET_URL"] == "https://reader:***@data.example/set"
    assert SECRET not in shown.out + shown.err
