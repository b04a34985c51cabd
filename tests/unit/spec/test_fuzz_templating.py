"""Property-based tests (hypothesis) of templating, merge and macros.

Any queue config, variable schema and value either renders or raises relaunch's own
InvalidInput (exit 2 through the CLI), never another exception; a substituted value
never adds keys, changes the structure or escapes its string; bounds and the
resource-args rule always hold; a value filled by a macro is never rendered again.
Each test prints the number of examples it tried (``pytest -s``) and asserts that a
meaningful share of them got past validation. Sized to run in well under 20 s;
RELAUNCH_FUZZ_EXAMPLES sets the examples per property for a longer search.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launch_core.api import check_launch
from launch_core.backends.checks import check_queue_config
from launch_core.errors import InvalidInput
from launch_core.spec.inputs import parse_model
from launch_core.spec.macros import fill_macros
from launch_core.spec.merge import deep_merge
from launch_core.spec.models import LaunchSpec, QueueDefinition, TemplateVariable
from launch_core.spec.resolve import resolve_resource_config
from launch_core.spec.templating import render_template, resolve_values
from tests.support.fuzz_strategies import (
    EXAMPLES,
    NAMES,
    as_template,
    bounded_variable,
    hostile_text,
    json_like,
    keys,
    render_expected,
    scalars,
    template_tree,
    used_names,
    values,
    variable_schema,
    variables,
)

# RELAUNCH_FUZZ_EXAMPLES=5000 for a longer search (the suite's default stays < 20 s).
FUZZ = settings(max_examples=int(os.environ.get("RELAUNCH_FUZZ_EXAMPLES", "200")),
                deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
MACROS = {"run_id": "r1", "run_name": "${SECRET}", "item_id": "7", "queue_name": "q",
          "entity_name": "team", "project_name": "{{ a }}", "author": "${SECRET}{{ b }}",
          "image_uri": "img:1"}
ENV = {"SECRET": "topsecret-value", "HOME": "/home/agent"}


def _report(name: str, minimum: int) -> None:
    print(f"{name}: {EXAMPLES[name]} examples tried, {EXAMPLES[name + ':ok']} got through")
    assert EXAMPLES[name + ":ok"] >= minimum


def _queue(config: Any, variables: Any, allow: bool = False) -> QueueDefinition:
    return parse_model(QueueDefinition, {
        "entity": "team", "name": "q", "resource": "local-process", "config": config,
        "template_variables": variables, "allow_resource_args": allow}, "queue")


@FUZZ
@given(data=st.data(), matching=st.booleans(), given_values=values,
       resource_args=json_like, allow=st.booleans())
def _any_input_renders_or_is_invalid(data: st.DataObject, matching: bool, given_values: Any,
                                     resource_args: Any, allow: bool) -> None:
    EXAMPLES["any-input"] += 1
    if matching:  # a template whose variables are declared, with random schemas
        tree = data.draw(st.dictionaries(keys, template_tree, max_size=3))
        config: Any = as_template(tree)
        schema: Any = {name: data.draw(variable_schema | bounded_variable().map(lambda c: c[0]))
                       for name in used_names(tree)}
        given_values = {name: data.draw(bounded_variable().map(lambda c: c[1]) | scalars)
                        for name in schema if data.draw(st.booleans())}
    else:
        config = data.draw(json_like | st.dictionaries(hostile_text, json_like, max_size=3))
        schema = data.draw(variables)
    try:
        queue = _queue(config, schema, allow)
        check_queue_config(queue)
        spec = parse_model(LaunchSpec, {"image": "img", "template_values": given_values,
                                        "resource_args": resource_args}, "launch")
        resolve_resource_config(queue, spec, MACROS, ENV)
        EXAMPLES["any-input:ok"] += 1
        check_launch(queue, spec)
    except InvalidInput as exc:
        assert exc.exit_code == 2 and str(exc) and "\n" not in str(exc)


def test_any_config_schema_and_value_renders_or_raises_invalid_input() -> None:
    _any_input_renders_or_is_invalid()
    _report("any-input", 5)


@FUZZ
@given(tree=st.dictionaries(keys, template_tree, max_size=4),
       data=st.data())
def _substitution_keeps_structure(tree: dict[str, Any], data: st.DataObject) -> None:
    EXAMPLES["structure"] += 1
    names = sorted(used_names(tree))
    kinds = {name: data.draw(st.sampled_from(["string", "integer", "number", "boolean"]))
             for name in names}
    typed = {name: data.draw({"string": hostile_text.filter(lambda t: "\x00" not in t
                                                            and "\udcff" not in t),
                              "integer": st.integers(-(2**63), 2**63 - 1),
                              "number": st.floats(-1e300, 1e300),
                              "boolean": st.booleans()}[kind])
             for name, kind in kinds.items()}
    queue = _queue(as_template(tree), {name: {"type": kind} for name, kind in kinds.items()})
    spec = LaunchSpec(image="img", template_values=typed)
    rendered = resolve_resource_config(queue, spec)
    assert rendered == render_expected(tree, typed)
    assert json.loads(json.dumps(rendered)) == rendered  # still plain data, same shape
    EXAMPLES["structure:ok"] += 1


def test_a_substituted_value_never_adds_keys_changes_structure_or_escapes() -> None:
    _substitution_keeps_structure()
    _report("structure", 100)


@FUZZ
@given(case=bounded_variable())
def _bounds_hold(case: tuple[dict[str, Any], Any]) -> None:
    EXAMPLES["bounds"] += 1
    try:
        var = TemplateVariable.model_validate(case[0])
    except ValueError:  # pydantic's ValidationError: a contradictory schema
        return
    try:
        value = resolve_values({"v": var}, {"v": case[1]})["v"]
    except InvalidInput:
        return
    EXAMPLES["bounds:ok"] += 1
    kind = {"integer": int, "number": (int, float), "string": str, "boolean": bool}
    assert isinstance(value, kind[var.type])
    assert var.type == "boolean" or not isinstance(value, bool)
    if var.type in ("integer", "number"):
        assert math.isfinite(value)
        assert var.minimum is None or value >= var.minimum
        assert var.maximum is None or value <= var.maximum
    assert var.enum is None or value in var.enum
    # JSON Schema's (ECMAScript's) reading: '$' ends the value, \d is ASCII
    assert var.pattern is None or re.search(var.pattern.replace("$", r"\Z"), value, re.ASCII)


def test_no_value_bypasses_a_bound_enum_pattern_or_type() -> None:
    _bounds_hold()
    _report("bounds", 10)


@FUZZ
@given(tree=st.dictionaries(st.sampled_from(["x", "y"]), template_tree, min_size=1),
       resource_args=st.dictionaries(st.text(min_size=1, max_size=5), json_like,
                                     min_size=1, max_size=3))
def _resource_args_rule(tree: dict[str, Any], resource_args: dict[str, Any]) -> None:
    EXAMPLES["resource-args"] += 1
    names = used_names(tree)
    queue = _queue(as_template(tree), {name: {"type": "string", "default": "d"}
                                       for name in names})
    spec = LaunchSpec(image="img", resource_args=resource_args)
    if names:  # variables declared, resource args not allowed: always refused
        with pytest.raises(InvalidInput, match="^resource_args: "):
            resolve_resource_config(queue, spec)
        EXAMPLES["resource-args:ok"] += 1
    else:
        assert resolve_resource_config(queue, spec) == deep_merge(as_template(tree),
                                                                  resource_args)


def test_resource_args_never_pass_a_queue_with_variables_that_does_not_allow_them() -> None:
    _resource_args_rule()
    _report("resource-args", 25)


@FUZZ
@given(text=hostile_text, name=st.sampled_from(NAMES))
def _macros_filled_once(text: str, name: str) -> None:
    EXAMPLES["macros"] += 1
    queue = _queue({"env": {"V": "pre-{{ " + name + " }}", "W": "${SECRET}"}},
                   {name: {"type": "string"}})
    spec = LaunchSpec(image="img", template_values={name: text})
    rendered = resolve_resource_config(queue, spec, MACROS, ENV)
    # the admin's own ${SECRET} is filled; nothing the submitter gave reaches ENV,
    # and no filled-in text (a macro value, a substituted value) is expanded again
    assert rendered["env"]["W"] == ENV["SECRET"]
    assert rendered["env"]["V"] == "pre-" + fill_macros(text, MACROS)
    assert ENV["SECRET"] not in rendered["env"]["V"] and "/home/agent" not in rendered["env"]["V"]
    EXAMPLES["macros:ok"] += 1


def test_macros_filled_in_a_submitted_value_are_never_rendered_again() -> None:
    _macros_filled_once()
    _report("macros", 100)


@FUZZ
@given(base=st.dictionaries(st.text(max_size=3), json_like, max_size=4),
       override=st.dictionaries(st.text(max_size=3), json_like, max_size=4))
def _merge_properties(base: dict[str, Any], override: dict[str, Any]) -> None:
    EXAMPLES["merge"] += 1
    before = (copy.deepcopy(base), copy.deepcopy(override))
    merged = deep_merge(base, override)
    assert (base, override) == before  # inputs untouched (NaN compares by identity)
    assert set(merged) == set(base) | set(override)
    for key, value in merged.items():
        if key not in override:
            assert value == base[key] or (value != value and base[key] != base[key])  # NaN
        elif isinstance(base.get(key), dict) and isinstance(override[key], dict):
            assert value == deep_merge(base[key], override[key])
        else:
            assert json.dumps(value) == json.dumps(override[key])
    EXAMPLES["merge:ok"] += 1


def test_merge_keeps_every_key_override_wins_inputs_untouched() -> None:
    _merge_properties()
    _report("merge", 100)


@FUZZ
@given(tree=json_like)
def _render_without_placeholders_is_identity(tree: Any) -> None:
    EXAMPLES["identity"] += 1
    try:
        resolve_values({}, {})
        rendered = render_template(tree, {})
    except InvalidInput:
        return  # text that looks like a placeholder with no value
    assert json.dumps(rendered) == json.dumps(tree)
    EXAMPLES["identity:ok"] += 1


def test_rendering_text_without_placeholders_changes_nothing() -> None:
    _render_without_placeholders_is_identity()
    _report("identity", 50)
