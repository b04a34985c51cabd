"""The sagemaker resource's demand: GPUs per instance × instances, from the
``ResourceConfig`` as the resource reads it (CamelCase or W&B's snake_case)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from launch_core.backends.sagemaker.resource import SageMakerResource


def gpus(config: dict[str, Any]) -> int:
    return SageMakerResource().demand(config)["gpus"]


@pytest.mark.parametrize(("instance_type", "per_instance"), [
    ("ml.p3.2xlarge", 1), ("ml.p3.8xlarge", 4), ("ml.p3.16xlarge", 8),
    ("ml.p3dn.24xlarge", 8), ("ml.p4d.24xlarge", 8), ("ml.p4de.24xlarge", 8),
    ("ml.p5.48xlarge", 8), ("ml.g4dn.xlarge", 1), ("ml.g4dn.16xlarge", 1),
    ("ml.g4dn.12xlarge", 4), ("ml.g5.xlarge", 1), ("ml.g5.16xlarge", 1),
    ("ml.g5.12xlarge", 4), ("ml.g5.24xlarge", 4), ("ml.g5.48xlarge", 8),
    ("ml.g6.2xlarge", 1), ("ml.g6.12xlarge", 4), ("ml.g6.48xlarge", 8),
    ("ml.trn1.32xlarge", 0), ("ml.inf2.xlarge", 0), ("ml.m5.xlarge", 0),
    ("ml.c5.18xlarge", 0), ("ml.unknown.xlarge", 0),
])
def test_gpus_per_instance_times_instance_count(instance_type: str, per_instance: int) -> None:
    config = {"ResourceConfig": {"InstanceType": instance_type, "InstanceCount": 3,
                                 "VolumeSizeInGB": 10}}
    assert gpus(config) == 3 * per_instance


def test_one_instance_when_the_count_is_absent_or_not_countable() -> None:
    assert gpus({"ResourceConfig": {"InstanceType": "ml.g5.12xlarge"}}) == 4
    assert gpus({"ResourceConfig": {"InstanceType": "ml.g5.12xlarge",
                                    "InstanceCount": "${count}"}}) == 4


def test_wandb_snake_case_keys_are_read_as_the_api_spells_them() -> None:
    config = {"role_arn": "r", "resource_config": {"instance_type": "ml.p4d.24xlarge",
                                                    "instance_count": 2}}
    assert gpus(config) == 16


def test_a_heterogeneous_cluster_sums_its_instance_groups() -> None:
    config = {"ResourceConfig": {"InstanceGroups": [
        {"InstanceGroupName": "gpu", "InstanceType": "ml.g5.48xlarge", "InstanceCount": 2},
        {"InstanceGroupName": "cpu", "InstanceType": "ml.c5.xlarge", "InstanceCount": 4}]}}
    assert gpus(config) == 16


@pytest.mark.parametrize("config", [
    {}, {"ResourceConfig": None}, {"ResourceConfig": "big"},
    {"ResourceConfig": {"InstanceType": "{{ instance_type }}", "InstanceCount": 2}},
    {"ResourceConfig": {"InstanceType": ["ml.p3.2xlarge"]}},
    {"ResourceConfig": {"InstanceGroups": ["x", None]}},
])
def test_what_is_not_countable_counts_zero_and_never_raises(config: dict[str, Any]) -> None:
    assert gpus(config) == 0


def test_a_key_given_twice_is_counted_as_written_without_raising() -> None:
    config = {"ResourceConfig": {"InstanceType": "ml.p3.8xlarge"}, "resource_config": {}}
    assert gpus(config) == 4


def test_dry_run_shows_the_gpus_launch_would_record(relaunch) -> None:
    config = {"RoleArn": "SageMakerRole", "OutputDataConfig": {"S3OutputPath": "s3://b/o"},
              "ResourceConfig": {"InstanceType": "{{ instance_type }}", "InstanceCount": 2,
                                 "VolumeSizeInGB": 10},
              "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
    variables = {"instance_type": {"type": "string", "default": "ml.m5.xlarge",
                                   "enum": ["ml.m5.xlarge", "ml.g5.12xlarge"]}}
    created = relaunch("queue", "create", "sm", "-r", "sagemaker", "--config",
                       json.dumps(config), "--template-variables", json.dumps(variables))
    assert created.code == 0, created.err
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/train:1"
    for value, expected in (("ml.m5.xlarge", 0), ("ml.g5.12xlarge", 8)):
        result = relaunch("launch", "-q", "sm", "-d", image, "-v", f"instance_type={value}",
                          "--dry-run")
        assert result.code == 0, result.err
        assert result.json()["gpus"] == expected
