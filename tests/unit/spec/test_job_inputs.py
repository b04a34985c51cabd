"""A launch job's inputs (launch_core/spec/job_inputs.py): the template-variable form
and W&B's JSON-schema form read into the same model, unsupported schema features
refused naming the key and the file, and a run config checked with defaults filled."""

from __future__ import annotations

import pytest

from launch_core.errors import InvalidInput
from launch_core.spec.job_inputs import check_run_config, read_inputs

SOURCE = "--inputs (inputs.json)"
VARIABLES = {"lr": {"type": "number", "minimum": 0.0001, "maximum": 1, "default": 0.01,
                    "description": "learning rate"},
             "epochs": {"type": "integer", "minimum": 1, "maximum": 100},
             "optimizer": {"type": "string", "enum": ["adam", "sgd"], "default": "adam"}}
# The same inputs as W&B writes a job's input schema (wandb.config's).
SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
          "title": "TrainConfig",
          "properties": {
              "lr": {"type": "number", "minimum": 0.0001, "maximum": 1, "default": 0.01,
                     "description": "learning rate", "title": "Lr"},
              "epochs": {"type": "integer", "minimum": 1, "maximum": 100, "label": "Epochs"},
              "optimizer": {"type": "string", "enum": ["adam", "sgd"], "default": "adam"}},
          "required": ["epochs"], "additionalProperties": False}


def test_both_forms_read_as_the_same_inputs() -> None:
    assert read_inputs(SCHEMA, SOURCE) == read_inputs(VARIABLES, SOURCE)
    assert read_inputs({"lr": {"schema": VARIABLES["lr"]}}, SOURCE)["lr"].default == 0.01


@pytest.mark.parametrize(("doc", "message"), [
    ({**SCHEMA, "anyOf": []}, "key 'anyOf' is not supported"),
    ({**SCHEMA, "additionalProperties": True}, "key 'additionalProperties' must be false"),
    ({**SCHEMA, "properties": {"lr": {"type": "number", "exclusiveMinimum": 0,
                                      "default": 1}}, "required": []},
     "properties.lr: key 'exclusiveMinimum' is not supported"),
    ({**SCHEMA, "properties": {"opt": {"type": "object", "properties": {}}},
      "required": ["opt"]},
     "properties.opt: key 'properties' is not supported"),
    ({**SCHEMA, "properties": {"tags": {"type": "array", "default": []}}, "required": []},
     "properties.tags: key 'type' must be one of integer, number, string, boolean, not "
     "'array'"),
    ({**SCHEMA, "properties": {"lr": {"type": "number"}}, "required": []},
     "properties.lr: optional (not in 'required') without a 'default'"),
    ({**SCHEMA, "required": ["nope"]}, "required.nope: not one of the properties"),
    ({"lr": {"type": "number", "minimum": 2, "maximum": 1}},
     "lr: minimum 2 is above maximum 1"),
    ({"lr": {"type": "decimal"}}, "lr: type:"),
    ({"lr": {"type": "string", "pattern": "^(a)\\1$"}}, "lr: pattern"),
    ({"a b": {"type": "string"}}, "input name 'a b' must match"),
])
def test_unsupported_or_bad_inputs_are_refused_naming_the_file_and_key(
        doc: dict[str, object], message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        read_inputs(doc, SOURCE)
    assert str(refused.value).startswith(f"{SOURCE}: ")
    assert message in str(refused.value) and "\n" not in str(refused.value)


def test_a_run_config_gets_the_defaults_and_typed_values() -> None:
    inputs = read_inputs(VARIABLES, SOURCE)
    assert check_run_config(inputs, {"epochs": "3"}, "train:v0") == {
        "lr": 0.01, "epochs": 3, "optimizer": "adam"}
    assert check_run_config({}, {"anything": [1, 2]}, "train:v0") == {"anything": [1, 2]}


@pytest.mark.parametrize(("config", "message"), [
    ({"epochs": 300}, "run config: key 'epochs' of job train:v0: 300 is above maximum 100"),
    ({"epochs": 3, "lr": 0}, "key 'lr' of job train:v0: 0 is below minimum 0.0001"),
    ({"epochs": 3, "optimizer": "rmsprop"}, "key 'optimizer' of job train:v0: 'rmsprop' is "
                                            "not one of ['adam', 'sgd']"),
    ({"epochs": True}, "key 'epochs' of job train:v0: expected an integer, got a boolean"),
    ({}, "run config: key 'epochs' needs a value: job train:v0 gives it no default"),
    ({"epochs": 3, "epoch": 3}, "run config: key 'epoch' is not an input of job train:v0 "
                                "(inputs: epochs, lr, optimizer)"),
])
def test_a_run_config_out_of_bounds_is_refused_naming_the_key(config: dict[str, object],
                                                              message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_run_config(read_inputs(VARIABLES, SOURCE), config, "train:v0")
    assert message in str(refused.value)
