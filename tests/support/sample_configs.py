"""Small valid queue configs of the cloud resources (as a W&B user writes them), for
tests and benches that go through queue create and enqueue without reaching a cloud."""

from __future__ import annotations

import re
from typing import Any

ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/train:1"
SAGEMAKER = {"RoleArn": "SageMakerRole",
             "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
             "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                "VolumeSizeInGB": 10},
             "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
KUBERNETES = {"namespace": "ml", "metadata": {"labels": {"team": "ml"}},
              "spec": {"backoffLimit": 0, "template": {"spec": {
                  "containers": [{"resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}],
                  "restartPolicy": "Never"}}}}
VERTEX = {"spec": {"staging_bucket": "gs://bucket", "worker_pool_specs": [
    {"machine_spec": {"machine_type": "n1-standard-4"}, "replica_count": 1}]}}


def snake_case(node: Any) -> Any:
    """``node`` with its keys in W&B's spelling: VolumeSizeInGB -> volume_size_in_gb."""
    if not isinstance(node, dict):
        return node
    return {re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", key).lower():
            snake_case(value) for key, value in node.items()}
