"""resolve_resource_config: ${ENV} only in queue-config strings, never submitter values."""

from __future__ import annotations

import copy

import pytest

from launch_core.errors import InvalidInput
from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.spec.resolve import resolve_resource_config

ENV = {"SECRET": "hunter2", "HOME": "/root"}


def queue(config: dict, variables: dict | None = None, **fields: object) -> QueueDefinition:
    return QueueDefinition.model_validate(
        {"entity": "team", "name": "q", "resource": "local-container", "config": config,
         "template_variables": variables or {}, **fields}
    )


def spec(**fields: object) -> LaunchSpec:
    return LaunchSpec.model_validate({"image": "img:1", **fields})


def test_env_is_filled_in_queue_config_strings() -> None:
    q = queue({"env": ["TOKEN=${SECRET}"], "home": "${HOME}"})
    assert resolve_resource_config(q, spec(), env=ENV) == {
        "env": ["TOKEN=hunter2"], "home": "/root"}


def test_env_is_not_filled_without_env() -> None:
    q = queue({"home": "${HOME}"})
    assert resolve_resource_config(q, spec()) == {"home": "${HOME}"}


@pytest.mark.parametrize("config", [{"a": "{{ v }}"}, {"a": "prefix-{{ v }}-suffix"}])
def test_env_is_not_filled_in_template_values(config: dict) -> None:
    q = queue(config, {"v": {"type": "string"}})
    rendered = resolve_resource_config(q, spec(template_values={"v": "${SECRET}"}), env=ENV)
    assert "hunter2" not in str(rendered)
    assert "${SECRET}" in rendered["a"]


def test_env_is_not_filled_in_resource_args() -> None:
    q = queue({"a": "${HOME}"})
    rendered = resolve_resource_config(
        q, spec(resource_args={"b": "${SECRET}", "c": ["${SECRET}"]}), env=ENV)
    assert rendered == {"a": "/root", "b": "${SECRET}", "c": ["${SECRET}"]}


def test_known_macros_are_filled_in_values_and_resource_args() -> None:
    q = queue({"a": "{{ v }}", "b": "${run_id}"}, {"v": {"type": "string"}},
              allow_resource_args=True)
    rendered = resolve_resource_config(
        q, spec(template_values={"v": "job-${run_id}"}, resource_args={"c": "${run_id}"}),
        macros={"run_id": "r-7"}, env=ENV)
    assert rendered == {"a": "job-r-7", "b": "r-7", "c": "r-7"}


def test_submitter_controlled_macro_is_not_rendered_as_a_template() -> None:
    # The run name comes from the submitter; filled into the admin config it must
    # stay literal, not be rendered as a placeholder (single pass, macros after render).
    q = queue({"name": "${run_name}", "gpus": "{{ gpus }}"}, {"gpus": {"type": "integer"}})
    rendered = resolve_resource_config(
        q, spec(template_values={"gpus": 4}), macros={"run_name": "{{ gpus }}"})
    assert rendered == {"name": "{{ gpus }}", "gpus": 4}


def test_submitter_resource_args_win_and_merge_deeply() -> None:
    q = queue({"spec": {"cpu": 1, "labels": {"team": "ml"}, "args": ["a"]}})
    rendered = resolve_resource_config(
        q, spec(resource_args={"spec": {"cpu": 2, "labels": {"x": "y"}, "args": ["b"]}}))
    assert rendered == {"spec": {"cpu": 2, "labels": {"team": "ml", "x": "y"}, "args": ["b"]}}


def test_resource_args_refused_on_templated_queue() -> None:
    q = queue({"gpus": "{{ gpus }}"}, {"gpus": {"type": "integer", "default": 1}})
    with pytest.raises(InvalidInput, match="resource_args"):
        resolve_resource_config(q, spec(resource_args={"gpus": 8}))


def test_queue_config_is_not_mutated() -> None:
    q = queue({"a": ["${HOME}", "{{ v }}"]}, {"v": {"type": "integer"}})
    before = copy.deepcopy(q.config)
    resolve_resource_config(q, spec(template_values={"v": 1}), macros={"run_id": "r"}, env=ENV)
    assert q.config == before
