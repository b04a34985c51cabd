"""A launch job's inputs: the run config keys the job takes, each typed and bounded
with the queues' template-variable model (``TemplateVariable``: type, minimum,
maximum, enum, pattern, default, description), written in that form or in W&B's
JSON-schema form (``{"type": "object", "properties": {...}}``, the input schema of
a W&B job's ``wandb.config``). A launch's run config is checked against them by the
same checker as template values (``coerce_value``)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from launch_core.errors import InvalidInput
from launch_core.spec.inputs import parse_model
from launch_core.spec.models import TemplateVariable, coerce_value
from launch_core.spec.wandb_forms import from_wandb_variables

INPUT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]{0,127}$")
MAX_INPUTS = 1000
# JSON Schema's keys relaunch reads: the object's, and each property's (W&B's UI
# annotations title, label and placeholder are read and set aside).
SCHEMA_KEYS = frozenset({"$schema", "type", "properties", "required", "title",
                         "description", "additionalProperties"})
PROPERTY_KEYS = frozenset(TemplateVariable.model_fields) | {"title", "label", "placeholder"}
ANNOTATIONS = frozenset({"title", "label", "placeholder"})
PROPERTY_TYPES = ("integer", "number", "string", "boolean")


def read_inputs(doc: Mapping[str, Any], source: str) -> dict[str, TemplateVariable]:
    """A job's inputs from ``doc``: either form (see the module). Raises InvalidInput
    naming ``source`` and the key: an unsupported JSON Schema feature (nested
    objects, arrays, ``exclusiveMinimum``, ``anyOf``...), a property that is optional
    without a default, or a variable the template-variable model refuses."""
    if is_json_schema(doc):
        doc = from_json_schema(doc, source)
    try:
        variables = from_wandb_variables(dict(doc))
    except ValueError as exc:  # a W&B schema string that is not JSON
        raise InvalidInput(f"{source}: {exc}") from None
    if not isinstance(variables, dict):
        raise InvalidInput(f"{source}: expected a mapping of input names")
    if len(variables) > MAX_INPUTS:
        raise InvalidInput(f"{source}: more than {MAX_INPUTS} inputs")
    inputs: dict[str, TemplateVariable] = {}
    for name, var in variables.items():
        if not INPUT_NAME.match(str(name)):
            raise InvalidInput(f"{source}: input name {str(name)[:80]!r} must match "
                               f"{INPUT_NAME.pattern}")
        inputs[name] = parse_model(TemplateVariable, var, f"{source}: {name}")
    return inputs


def is_json_schema(doc: Mapping[str, Any]) -> bool:
    """Whether ``doc`` is W&B's JSON-schema form (an object schema), not a mapping of
    variables (where ``type`` would name a variable, with a mapping as its value)."""
    return doc.get("type") == "object" or "$schema" in doc


def from_json_schema(schema: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The template-variable form of an object schema: one variable per property.
    Raises InvalidInput naming the key relaunch does not support."""
    for key in schema:
        if key not in SCHEMA_KEYS:
            raise InvalidInput(f"{source}: key {key!r} is not supported (a job's input "
                               f"schema may use {', '.join(sorted(SCHEMA_KEYS))})")
    if schema.get("type") != "object":
        raise InvalidInput(f"{source}: key 'type' must be 'object' (the run config)")
    if schema.get("additionalProperties", False) is not False:
        raise InvalidInput(f"{source}: key 'additionalProperties' must be false: a run "
                           "config key that is not an input is refused")
    properties = schema.get("properties") or {}
    if not isinstance(properties, Mapping):
        raise InvalidInput(f"{source}: key 'properties' must be a mapping")
    required = schema.get("required") or []
    if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
        raise InvalidInput(f"{source}: key 'required' must be a list of property names")
    for name in required:
        if name not in properties:
            raise InvalidInput(f"{source}: required.{name}: not one of the properties")
    return {name: _variable(name, prop, name in required, f"{source}: properties.{name}")
            for name, prop in properties.items()}


def _variable(name: str, prop: Any, required: bool, where: str) -> dict[str, Any]:
    if not isinstance(prop, Mapping):
        raise InvalidInput(f"{where} must be a mapping")
    for key in prop:
        if key not in PROPERTY_KEYS:
            raise InvalidInput(f"{where}: key {key!r} is not supported (a property may "
                               f"use {', '.join(sorted(PROPERTY_KEYS))})")
    if prop.get("type") not in PROPERTY_TYPES:
        raise InvalidInput(f"{where}: key 'type' must be one of {', '.join(PROPERTY_TYPES)}"
                           f", not {prop.get('type')!r} (nested objects and arrays are not "
                           "supported)")
    if not required and prop.get("default") is None:
        raise InvalidInput(f"{where}: optional (not in 'required') without a 'default': "
                           "an input without a default is required, so list it in "
                           "'required' or give it a default")
    return {key: value for key, value in prop.items() if key not in ANNOTATIONS}


def check_run_config(inputs: Mapping[str, TemplateVariable], run_config: Mapping[str, Any],
                     job: str) -> dict[str, Any]:
    """``run_config`` checked against a job's inputs, with their defaults filled in.

    A job without inputs takes any run config, unchanged. Otherwise every key must be
    an input, every input without a default must be given, and each value must keep
    its input's rules (type, bounds, enum, pattern). Raises InvalidInput naming the
    key and ``job``."""
    if not inputs:
        return dict(run_config)
    for key in run_config:
        if key not in inputs:
            raise InvalidInput(f"run config: key {key!r} is not an input of job {job} "
                               f"(inputs: {', '.join(sorted(inputs))})")
    checked: dict[str, Any] = {}
    for key, var in inputs.items():
        if key in run_config:
            value = run_config[key]
        elif var.default is not None:
            value = var.default
        else:
            raise InvalidInput(f"run config: key {key!r} needs a value: job {job} gives "
                               "it no default")
        try:
            checked[key] = coerce_value(var, value)
        except ValueError as exc:
            raise InvalidInput(f"run config: key {key!r} of job {job}: {exc}") from None
    return checked
