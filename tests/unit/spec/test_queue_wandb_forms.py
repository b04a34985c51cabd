"""Queue definitions in W&B Launch's forms load unchanged: W&B's resource names
(``gcp-vertex``), its template variables (``{name: {"schema": {...}}}`` as
``Api.create_run_queue`` takes them, ``[{"name", "schema": "<JSON>"}]`` as
``RunQueue.template_variables`` returns them), its stored queue config
(``{"resource_args": {resource: {...}}}``) and its local-container options. Each
golden case gives the config W&B resolves for the same input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from launch_core.backends.local_container import LocalContainerResource
from launch_core.backends.table import names
from launch_core.errors import InvalidInput, TemplateError
from launch_core.spec.inputs import parse_model
from launch_core.spec.models import LaunchSpec, QueueDefinition, TemplateVariable
from launch_core.spec.resolve import resolve_resource_config
from launch_core.spec.wandb_forms import canonical_resource


def queue(**fields: Any) -> QueueDefinition:
    return parse_model(QueueDefinition, {"entity": "team", "name": "q",
                                         "resource": "local-container", **fields}, "queue")


def resolved(definition: QueueDefinition, **values: Any) -> dict[str, Any]:
    return resolve_resource_config(definition, LaunchSpec(image="img", template_values=values))


# --- resource names -------------------------------------------------------------------


def test_gcp_vertex_is_wandbs_name_for_vertex() -> None:
    assert canonical_resource("gcp-vertex") == "vertex"
    assert canonical_resource("local-container") == "local-container"


@pytest.mark.parametrize("name", ["gcp-vertex", "vertex"])
def test_gcp_vertex_is_read_as_vertex(name: str) -> None:
    assert "vertex" in names("resource") and "gcp-vertex" not in names("resource")
    assert queue(resource=name).resource == "vertex"


# --- template variables -------------------------------------------------------------

# W&B's own examples (its system tests of the public API and of launch_add).
CPU_CREATE_FORM = {"cpu": {"schema": {"type": "integer", "minimum": 1, "maximum": 4}}}
CPU_STORED_FORM = [{"name": "cpu", "schema": json.dumps(
    {"type": "integer", "minimum": 1, "maximum": 4}, separators=(",", ":"))}]


@pytest.mark.parametrize("variables", [CPU_CREATE_FORM, CPU_STORED_FORM],
                         ids=["create_run_queue", "RunQueue.template_variables"])
def test_wandb_template_variable_forms_load_as_relaunch_variables(variables: Any) -> None:
    definition = queue(resource="local-process", config={"env": {"CPUS": "{{cpu}}"}},
                       template_variables=variables)
    assert definition.template_variables == {
        "cpu": TemplateVariable(type="integer", minimum=1, maximum=4)}
    assert resolved(definition, cpu=3) == {"env": {"CPUS": 3}}
    with pytest.raises(TemplateError, match="'cpu': 5 is above maximum 4"):
        resolved(definition, cpu=5)


def test_relaunch_form_still_loads_next_to_wandbs() -> None:
    definition = queue(resource="local-process", config={"env": {"A": "{{a}}", "B": "{{b}}"}},
                       template_variables={"a": {"type": "string"},
                                           "b": {"schema": {"type": "boolean"}}})
    assert definition.template_variables["a"].type == "string"
    assert definition.template_variables["b"].type == "boolean"


def test_wandb_launch_add_example_resolves_as_in_wandb() -> None:
    # W&B: queue config {"e": ["{{var1}}"]}, var1 a string enum [a, b]; value "a".
    definition = queue(config={"e": ["{{var1}}"]}, template_variables={
        "var1": {"schema": {"type": "string", "enum": ["a", "b"]}}})
    assert resolved(definition, var1="a") == {"e": ["a"]}
    with pytest.raises(TemplateError, match="'var1': 'c' is not one of"):
        resolved(definition, var1="c")
    # A bare name would pass the agent's own variable on (docker run -e a): refused.
    with pytest.raises(InvalidInput, match="'a' is not KEY=VALUE"):
        LocalContainerResource().validate({"e": ["a"]})
    LocalContainerResource().validate({"e": ["MODE=a"]})


def test_stored_schema_that_is_not_json_names_the_variable() -> None:
    with pytest.raises(InvalidInput) as info:
        queue(template_variables=[{"name": "cpu", "schema": "{type: integer"}])
    assert "template_variables.cpu: schema '{type: integer' is not valid JSON" in str(
        info.value)


def test_wandb_schema_with_an_unknown_key_is_refused_naming_it() -> None:
    with pytest.raises(ValidationError) as info:
        QueueDefinition.model_validate({
            "entity": "t", "name": "q", "resource": "local-process",
            "config": {"env": {"X": "{{x}}"}},
            "template_variables": {"x": {"schema": {"type": "string", "format": "email"}}}})
    assert info.value.errors()[0]["loc"] == ("template_variables", "x", "format")


# --- W&B's stored queue config --------------------------------------------------------


def test_wandb_stored_queue_config_is_unwrapped() -> None:
    # What W&B's RunQueue.default_resource_config returns for a local-container queue.
    definition = queue(config={"resource_args": {"local-container": {"cpu": "{{cpu}}"}}},
                       template_variables=CPU_STORED_FORM)
    assert definition.config == {"cpu": "{{cpu}}"}
    assert resolved(definition, cpu=2) == {"cpu": 2}


def test_stored_queue_config_for_another_resource_names_both() -> None:
    with pytest.raises(InvalidInput) as info:
        queue(config={"resource_args": {"kubernetes": {"spec": {}}}})
    message = str(info.value)
    assert "'kubernetes'" in message and "'local-container'" in message


# --- local-container options in W&B's form -------------------------------------------


@pytest.mark.parametrize("config", [
    {"env": ["WANDB_MODE=offline", "EMPTY=", "EQ=a=b"]},
    {"e": ["A=1"]},
    {"ulimit": "nofile=1024:2048"},
    {"ulimit": ["nofile=1024:2048", "nproc=512"]},
    {"pids-limit": 256},
    {"pids_limit": -1},
    {"--memory": "2g", "m": "1g"},
    {"w": "/app", "cpu-shares": 512, "cpuset-cpus": "0-1", "memory-reservation": "512m",
     "memory-swap": "4g", "cpu-period": 100000, "cpu-quota": 50000, "cpuset-mems": "0"},
    {"network": "bridge"},
    {"network": "host"},
])
def test_wandb_local_container_options_are_accepted(config: dict[str, Any]) -> None:
    LocalContainerResource().validate(config)


@pytest.mark.parametrize(("config", "message"), [
    ({"env": ["JUST_A_NAME"]}, "option 'env': 'JUST_A_NAME' is not KEY=VALUE"),
    ({"ulimit": "nofile"}, "option 'ulimit': 'nofile' is not name=soft[:hard]"),
    ({"ulimit": ["nofile=a:b"]}, "is not name=soft[:hard]"),
    ({"pids-limit": -5}, "option 'pids_limit'"),
    ({"network": "my-overlay"}, "option 'network': 'my-overlay' is not allowed"),
    ({"name": "mine"}, "option 'name' is not allowed"),
    ({"privileged": True}, "option 'privileged' is not allowed"),
])
def test_bad_local_container_options_name_the_option(config: dict[str, Any],
                                                     message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        LocalContainerResource().validate(config)
    assert message in str(info.value)
    assert str(info.value).startswith("local-container: ")
