"""The parameter schema of a job's ``enqueue`` deployment: its launch form in the
Prefect UI, from the job's inputs and its entity's queues."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest

from launch_core.spec.job_form import job_form_schema
from launch_core.spec.job_inputs import read_inputs
from launch_core.spec.models import TemplateVariable

INPUTS = read_inputs({
    "lr": {"type": "number", "minimum": 0.0001, "maximum": 1, "default": 0.01,
           "description": "learning rate"},
    "epochs": {"type": "integer", "minimum": 1, "maximum": 100},
    "optimizer": {"type": "string", "enum": ["adam", "sgd"], "default": "adam"},
    "tag": {"type": "string", "pattern": "^[a-z]+$", "default": "x"}}, "test")
GPU = TemplateVariable(type="integer", minimum=0, maximum=8, default=1, description="GPUs")
QUEUES = {"gpu": {"gpus": GPU}, "cpu": {}}


def test_the_run_config_carries_each_input_with_its_rules() -> None:
    schema = job_form_schema("train", INPUTS, QUEUES)
    run_config = schema["properties"]["run_config"]
    assert run_config["properties"] == {
        "lr": {"title": "lr", "position": 0, "type": "number", "minimum": 0.0001,
               "maximum": 1, "default": 0.01, "description": "learning rate"},
        "epochs": {"title": "epochs", "position": 1, "type": "integer", "minimum": 1,
                   "maximum": 100},
        "optimizer": {"title": "optimizer", "position": 2, "type": "string",
                      "enum": ["adam", "sgd"], "default": "adam"},
        "tag": {"title": "tag", "position": 3, "type": "string", "pattern": "^[a-z]+$",
                "default": "x"}}
    assert run_config["required"] == ["epochs"]
    assert run_config["additionalProperties"] is False
    assert schema["required"] == ["job", "queue", "run_config"]


def test_queue_priority_and_job_fields() -> None:
    props = job_form_schema("train", INPUTS, QUEUES)["properties"]
    assert props["queue"]["enum"] == ["cpu", "gpu"] and "default" not in props["queue"]
    assert props["priority"]["enum"] == ["critical", "high", "medium", "low"]
    assert props["priority"]["default"] == "medium"
    assert props["job"]["default"] == "train"
    assert job_form_schema("train", {}, {"only": {}})["properties"]["queue"]["default"] == "only"


def test_template_variables_keep_bounds_and_name_their_queues() -> None:
    values = job_form_schema("train", INPUTS, QUEUES)["properties"]["template_values"]
    gpus = values["properties"]["gpus"]
    assert (gpus["type"], gpus["minimum"], gpus["maximum"]) == ("integer", 0, 8)
    assert "default" not in gpus  # the chosen queue's default applies
    assert gpus["description"] == "GPUs (queues: gpu; default 1)"
    assert values["additionalProperties"] is False


def test_differing_queues_show_the_first_queues_definition() -> None:
    other = TemplateVariable(type="integer", minimum=0, maximum=2)
    values = job_form_schema("train", {}, {"b": {"gpus": GPU}, "a": {"gpus": other}})
    gpus = values["properties"]["template_values"]["properties"]["gpus"]
    assert gpus["maximum"] == 2 and gpus["description"] == "(queues: a, b)"


def test_a_job_without_inputs_takes_any_run_config() -> None:
    schema = job_form_schema("free", {}, QUEUES)
    jsonschema.validate({"job": "free", "queue": "cpu", "run_config": {"any": [1]}}, schema)
    assert schema["required"] == ["job", "queue"]


@pytest.mark.parametrize(("run_config", "bad"), [
    ({"epochs": 0}, "minimum"), ({"epochs": 101}, "maximum"),
    ({"epochs": 2, "optimizer": "rmsprop"}, "enum"), ({"epochs": 2, "tag": "A1"}, "pattern"),
    ({"epochs": 2, "other": 1}, "additionalProperties"), ({}, "required")])
def test_the_schema_refuses_what_the_inputs_refuse(run_config: dict[str, Any],
                                                   bad: str) -> None:
    schema = job_form_schema("train", INPUTS, QUEUES)
    with pytest.raises(jsonschema.ValidationError) as caught:
        jsonschema.validate({"job": "train", "queue": "gpu", "run_config": run_config}, schema)
    assert caught.value.validator == bad
    jsonschema.validate({"job": "train", "queue": "gpu", "run_config": {"epochs": 100},
                         "template_values": {"gpus": 8}}, schema)
