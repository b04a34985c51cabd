"""check_launch: priority, template values, the resource_args guardrail and the
resource's own option check (a local-container queue: ``labels`` takes any mapping)."""

from __future__ import annotations

import copy

import pytest

from launch_core.api import check_launch
from launch_core.errors import InvalidInput, TemplateError
from launch_core.spec.models import LaunchSpec, QueueDefinition

GPUS = {"gpus": {"type": "integer", "minimum": 1, "maximum": 8, "default": 1}}


def queue(config: dict | None = None, variables: dict | None = None,
          **fields: object) -> QueueDefinition:
    return QueueDefinition.model_validate(
        {"entity": "team", "name": "gpu-q", "resource": "local-container",
         "config": config or {}, "template_variables": variables or {}, **fields})


def spec(**fields: object) -> LaunchSpec:
    return LaunchSpec.model_validate({"image": "img:1", **fields})


@pytest.mark.parametrize("priority", ["critical", "high", "low"])
def test_priority_refused_on_queue_without_prioritization(priority: str) -> None:
    with pytest.raises(InvalidInput, match=r"-P/--priority: queue 'gpu-q' has no prioritization"):
        check_launch(queue(), spec(priority=priority))


@pytest.mark.parametrize("priority", ["critical", "high", "medium", "low"])
def test_any_priority_on_prioritized_queue(priority: str) -> None:
    assert check_launch(queue(prioritization=True), spec(priority=priority)) == {}


def test_default_priority_on_queue_without_prioritization() -> None:
    assert check_launch(queue({"cpus": 1}), spec(priority="medium")) == {"cpus": 1}


def test_resource_args_refused_on_templated_queue() -> None:
    with pytest.raises(InvalidInput, match=r"^resource_args: queue 'gpu-q' declares template"):
        check_launch(queue({"gpus": "{{ gpus }}"}, GPUS), spec(resource_args={"gpus": 64}))


def test_resource_args_allowed_on_templated_queue_when_opted_in() -> None:
    q = queue({"labels": {"gpus": "{{ gpus }}", "cpu": 1}}, GPUS, allow_resource_args=True)
    rendered = check_launch(q, spec(template_values={"gpus": 2},
                                    resource_args={"labels": {"cpu": 4}}))
    assert rendered == {"labels": {"gpus": 2, "cpu": 4}}


def test_resource_args_merged_on_queue_without_variables() -> None:
    q = queue({"labels": {"cpu": 1, "args": ["a", "b"], "labels": {"t": "x"}}})
    rendered = check_launch(q, spec(resource_args={"labels": {"args": ["c"], "labels": {"u": 1}}}))
    assert rendered == {"labels": {"cpu": 1, "args": ["c"], "labels": {"t": "x", "u": 1}}}


def test_empty_resource_args_are_fine_on_templated_queue() -> None:
    assert check_launch(queue({"gpus": "{{ gpus }}"}, GPUS), spec(resource_args={})) == {
        "gpus": 1}


@pytest.mark.parametrize(
    ("values", "fragment"),
    [
        ({"gpus": 0}, "'gpus': 0 is below minimum 1"),
        ({"gpus": "9"}, "'gpus': 9 is above maximum 8"),
        ({"gpus": True}, "'gpus': expected an integer, got a boolean"),
        ({"gpus": "3.5"}, "'gpus': expected an integer"),
        ({"gpus": 2**64}, "'gpus': integer does not fit in 64 bits"),
        ({"gpu": 2}, "unknown template variable 'gpu'"),
    ],
)
def test_bad_template_values_are_rejected(values: dict, fragment: str) -> None:
    with pytest.raises(TemplateError, match=fragment):
        check_launch(queue({"gpus": "{{ gpus }}"}, GPUS), spec(template_values=values))


def test_missing_value_without_default_is_rejected() -> None:
    q = queue({"image": "{{ tag }}"}, {"tag": {"type": "string"}})
    with pytest.raises(TemplateError, match="'tag' needs a value"):
        check_launch(q, spec())


def test_values_render_typed_and_as_text() -> None:
    q = queue({"gpus": "{{ gpus }}", "workdir": "gpus-{{ gpus }}"}, GPUS)
    assert check_launch(q, spec(template_values={"gpus": "4"})) == {"gpus": 4,
                                                                    "workdir": "gpus-4"}


def test_macros_stay_unfilled() -> None:
    q = queue({"labels": {"run": "${run_id}"}, "workdir": "${HOME}"})
    assert check_launch(q, spec()) == {"labels": {"run": "${run_id}"}, "workdir": "${HOME}"}


@pytest.mark.parametrize("value", ["{{ gpus }}", "${HOME}", "名前", "x" * 65536])
def test_submitted_strings_stay_literal(value: str) -> None:
    q = queue({"workdir": "{{ name }}", "gpus": "{{ gpus }}"},
              {"name": {"type": "string"}, **GPUS})
    rendered = check_launch(q, spec(template_values={"name": value}))
    assert rendered == {"workdir": value, "gpus": 1}


def test_queue_is_not_mutated() -> None:
    q = queue({"labels": {"gpus": "{{ gpus }}"}}, GPUS, allow_resource_args=True)
    before = copy.deepcopy(q.config)
    check_launch(q, spec(template_values={"gpus": 3}, resource_args={"labels": {"x": 1}}))
    assert q.config == before


def test_the_resource_refuses_an_option_it_does_not_have() -> None:
    q = queue({"cpus": "{{ gpus }}"}, GPUS, allow_resource_args=True)
    with pytest.raises(InvalidInput, match=r"local-container: option 'privileged' is not allowed"):
        check_launch(q, spec(resource_args={"privileged": True}))


def test_the_resource_checks_the_rendered_value() -> None:
    q = queue({"cpus": "{{ gpus }}"}, {"gpus": {"type": "integer", "minimum": -4}})
    with pytest.raises(InvalidInput, match=r"local-container: option 'cpus'"):
        check_launch(q, spec(template_values={"gpus": -1}))
