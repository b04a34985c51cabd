"""The CreateTrainingJob shape table (launch_core/backends/sagemaker/shapes.py) against
botocore's model it stands in for: the shipped table is what the installed botocore
gives, and random configs (keys in CamelCase, W&B's snake_case or mixed, nested,
unknown, in maps) are re-cased exactly as with botocore's shapes, refusals included."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from launch_core.backends.sagemaker.request import _recase, _request_shape
from launch_core.backends.sagemaker.shapes import TABLE, extract, request_shape
from launch_core.errors import InvalidInput

FULL = {"RoleArn": "r", "OutputDataConfig": {"S3OutputPath": "s3://b/o", "KmsKeyId": "k"},
        "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                           "VolumeSizeInGB": 10, "InstanceGroups": [
                               {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1,
                                "InstanceGroupName": "g"}]},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
        "AlgorithmSpecification": {"TrainingInputMode": "File",
                                   "MetricDefinitions": [{"Name": "loss", "Regex": "l=(.*)"}]},
        "InputDataConfig": [{"ChannelName": "train", "DataSource": {"S3DataSource": {
            "S3DataType": "S3Prefix", "S3Uri": "s3://b/t"}}}],
        "VpcConfig": {"SecurityGroupIds": ["sg"], "Subnets": ["s"]},
        "Environment": {"MY_VAR": "1", "other_var": "2"},
        "HyperParameters": {"learning_rate": "0.1"},
        "CheckpointConfig": {"S3Uri": "s3://b/c", "LocalPath": "/opt/ml/checkpoints"},
        "Tags": [{"Key": "team", "Value": "ml"}], "EnableManagedSpotTraining": True}


def _snake(key: str) -> str:
    """W&B's spelling: ``VolumeSizeInGB`` -> ``volume_size_in_gb``."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", key).lower()


@st.composite
def configs(draw: st.DrawFn, node: Any = FULL, free: bool = False) -> Any:
    """``node`` with each key kept, snake_cased, dropped or joined by an unknown one."""
    if isinstance(node, list):
        return [draw(configs(item)) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        choice = draw(st.sampled_from(["keep", "snake", "snake", "drop"]))
        if choice != "drop":
            inner = draw(configs(value, free=key in ("Environment", "HyperParameters")))
            out[_snake(key) if choice == "snake" and not free else key] = inner
    if draw(st.booleans()):
        out[draw(st.sampled_from(["instance_typo", "RoleArn", "role_arn", "extra_key"]))] = {
            "nested_key": 1}
    return out


def _recased(config: Any, shape: Any) -> Any:
    try:
        return _recase(config, shape, "")
    except InvalidInput as exc:
        return f"refused: {exc}"


def test_the_shipped_table_is_the_installed_botocores() -> None:
    assert json.loads(TABLE.read_text()) == extract()


@settings(max_examples=300, deadline=None)
@given(config=configs())
def test_the_table_recases_as_botocores_shapes_do(config: Any) -> None:
    assert _recased(config, request_shape()) == _recased(config, _request_shape())
