"""Model validation: QueueDefinition, TemplateVariable, LaunchSpec."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from launch_core.backends.table import names
from launch_core.spec.models import LaunchSpec, QueueDefinition, TemplateVariable

SHA = "sha256:" + "a" * 64


def queue(**fields: object) -> QueueDefinition:
    return QueueDefinition.model_validate(
        {"entity": "team", "name": "q", "resource": "local-process", **fields})


# --- QueueDefinition -------------------------------------------------------------

@pytest.mark.parametrize("name", ["q", "gpu-queue", "a.b_c-1", "Q9", "x" * 64])
def test_valid_queue_names(name: str) -> None:
    assert queue(name=name).name == name


@pytest.mark.parametrize(
    "name",
    ["", "-q", ".q", "_q", "q q", "q/x", "q\n", "\nq", "x" * 65, "café", "队列", "q\u200b",
     "ｑ", "q;rm"],
)
@pytest.mark.parametrize("field", ["name", "entity"])
def test_invalid_queue_and_entity_names_are_rejected(field: str, name: str) -> None:
    with pytest.raises(ValidationError) as info:
        queue(**{field: name})
    assert info.value.errors()[0]["loc"] == (field,)


@pytest.mark.parametrize("resource", names("resource"))
def test_resources_of_the_backend_table_are_accepted(resource: str) -> None:
    assert queue(resource=resource).resource == resource


@pytest.mark.parametrize("resource", ["docker", "", "Kubernetes", None, "no-such-backend"])
def test_unknown_resource_is_rejected(resource: object) -> None:
    with pytest.raises(ValidationError):
        queue(resource=resource)


def test_a_resource_outside_the_backend_table_is_rejected_naming_the_available_ones(
        ) -> None:
    with pytest.raises(ValidationError, match=r"'slurm' is not available.*local-process"):
        queue(resource="slurm")


def test_unknown_queue_field_is_rejected() -> None:
    with pytest.raises(ValidationError, match="extra"):
        queue(priority=True)


@pytest.mark.parametrize("name", ["gpus", "_x", "A1_b", "x" * 64])
def test_valid_variable_names(name: str) -> None:
    q = queue(config={"v": f"{{{{ {name} }}}}"}, template_variables={name: {"type": "integer"}})
    assert list(q.template_variables) == [name]


@pytest.mark.parametrize(
    "name", ["1x", "a-b", "a.b", "a b", "", "café", "变量", "gpus\n", "x" * 65, "ｇｐｕｓ"])
def test_invalid_variable_names_are_rejected(name: str) -> None:
    with pytest.raises(ValidationError, match="template"):
        queue(config={"v": "{{ x }}"}, template_variables={name: {"type": "integer"}})


def test_undeclared_variable_rejected_at_queue_creation() -> None:
    with pytest.raises(ValidationError, match="undeclared template variable 'gpus'"):
        queue(config={"gpus": "{{ gpus }}"})


def test_unused_variable_rejected_at_queue_creation() -> None:
    with pytest.raises(ValidationError, match="'mem' is declared but not used"):
        queue(config={"gpus": "{{ gpus }}"},
              template_variables={"gpus": {"type": "integer"}, "mem": {"type": "integer"}})


@pytest.mark.parametrize("config", [{"{{ gpus }}": 1}, {"a": {"k-{{gpus}}": 1}}])
def test_placeholder_in_key_rejected_at_queue_creation(config: dict) -> None:
    with pytest.raises(ValidationError, match="key"):
        queue(config=config, template_variables={"gpus": {"type": "integer"}})


@pytest.mark.parametrize("text", ["{{ gpus", "{{ }}", "{{ gpus x }}", "{{ {{ gpus }} }}"])
def test_malformed_placeholder_rejected_at_queue_creation(text: str) -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        queue(config={"a": text}, template_variables={"gpus": {"type": "integer"}})


# --- TemplateVariable ----------------------------------------------------------

@pytest.mark.parametrize(
    ("schema", "fragment"),
    [
        ({"type": "string", "minimum": 1}, "only apply to numbers"),
        ({"type": "boolean", "maximum": 1}, "only apply to numbers"),
        ({"type": "integer", "minimum": 5, "maximum": 1}, "minimum 5 is above maximum 1"),
        ({"type": "integer", "pattern": "^a"}, "pattern only applies to strings"),
        ({"type": "string", "pattern": "(unclosed"}, "not a valid regular expression"),
        ({"type": "string", "enum": []}, "at least one"),
        ({"type": "integer", "enum": [1, "x"]}, "expected an integer"),
        ({"type": "integer", "enum": [True]}, "boolean"),
        ({"type": "integer", "default": "x"}, "expected an integer"),
        ({"type": "integer", "minimum": 2, "default": 1}, "below minimum 2"),
        ({"type": "string", "enum": ["a"], "default": "b"}, "not one of"),
        ({"type": "string", "pattern": "^a", "default": "b"}, "does not match"),
        ({"type": "integer", "default": 2**64}, "64 bits"),
        ({"type": "array"}, "type"),
        ({"type": "integer", "format": "int32"}, "format"),
        ({"type": "string", "description": "x" * 2001}, "description"),
    ],
)
def test_invalid_variable_schemas_are_rejected(schema: dict, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        TemplateVariable.model_validate(schema)


@pytest.mark.parametrize("bound", ["minimum", "maximum"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_bounds_are_rejected(bound: str, value: float) -> None:
    with pytest.raises(ValidationError, match=bound):
        TemplateVariable.model_validate({"type": "number", bound: value})


@pytest.mark.parametrize("bound", ["minimum", "maximum"])
def test_boolean_bounds_are_rejected(bound: str) -> None:
    with pytest.raises(ValidationError, match=bound):
        TemplateVariable.model_validate({"type": "integer", bound: True})


def test_enum_and_default_are_parsed_to_the_type() -> None:
    var = TemplateVariable.model_validate(
        {"type": "integer", "enum": ["1", 2.0], "default": "2"})
    assert var.enum == [1, 2]
    assert var.default == 2 and isinstance(var.default, int)


# --- LaunchSpec ---------------------------------------------------------------

@pytest.mark.parametrize(
    "fields",
    [
        {"image": "repo/img:tag"},
        {"uri": "https://github.com/o/r.git", "ref": "main"},
        {"uri": "git@github.com:o/r.git"},
        {"code": SHA},
    ],
)
def test_exactly_one_source_is_accepted(fields: dict) -> None:
    LaunchSpec.model_validate(fields)


@pytest.mark.parametrize(
    ("fields", "fragment"),
    [
        ({}, "exactly one source"),
        ({"image": "i", "uri": "https://x/r.git"}, "exactly one source"),
        ({"image": "i", "code": SHA}, "exactly one source"),
        ({"image": "i", "ref": "main"}, "ref only applies"),
        ({"image": "-rm"}, "must not start with '-'"),
        ({"image": " img"}, "surrounding spaces"),
        ({"uri": "--upload-pack=x"}, "must not start with '-'"),
        ({"uri": "https://x/r.git", "ref": "-x"}, "must not start with '-'"),
        ({"image": ""}, "image"),
        ({"image": "i" * 513}, "image"),
        ({"code": "sha256:xyz"}, "code"),
        ({"code": "sha256:" + "A" * 64}, "code"),
        ({"image": "i", "entry_point": []}, "entry_point"),
        ({"image": "i", "entry_point": [""]}, "entry_point"),
        ({"image": "i", "args": [1]}, "args"),
        ({"image": "i", "priority": "urgent"}, "priority"),
        ({"image": "i", "priority": 0}, "priority"),
        ({"image": "i", "resource_args": ["x"]}, "resource_args"),
        ({"image": "i", "template_values": "gpus=1"}, "template_values"),
        ({"image": "i", "name": "n" * 129}, "name"),
        ({"image": "i", "unknown": 1}, "unknown"),
    ],
)
def test_invalid_launch_specs_are_rejected(fields: dict, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        LaunchSpec.model_validate(fields)


def test_launch_spec_defaults() -> None:
    spec = LaunchSpec.model_validate({"image": "i"})
    assert spec.priority == "medium"
    assert spec.resource_args == {} and spec.template_values == {} and spec.args == []
