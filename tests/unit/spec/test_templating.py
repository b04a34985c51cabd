"""Queue config templates: placeholder syntax, queue-creation checks and rendering."""

from __future__ import annotations

import copy

import pytest

from launch_core.errors import TemplateError
from launch_core.spec.templating import (
    check_queue_template,
    placeholders_in,
    render_template,
    used_variables,
)

INT = {"type": "integer"}


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("{{ a }}", ["a"]),
        ("{{a}}", ["a"]),
        ("{{   gpus_2   }}", ["gpus_2"]),
        ("x-{{ a }}-{{ b }}-{{ a }}", ["a", "b", "a"]),
        ("no placeholders here", []),
        ("a }} stray closer", []),
        ("{{\n a \n}}", ["a"]),
    ],
)
def test_placeholders_are_found_in_order(text: str, names: list[str]) -> None:
    assert placeholders_in(text) == names


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{{ {{ a }} }}", "malformed"),
        ("{{ }}", "malformed"),
        ("{{}}", "malformed"),
        ("{{ a b }}", "malformed"),
        ("{{ 1a }}", "malformed"),
        ("{{ a-b }}", "malformed"),
        ("{{ a.b }}", "malformed"),
        ("{{ café }}", "malformed"),
        ("{{ ünïcode }}", "malformed"),
        ("{{ a", "unclosed"),
        ("prefix {{ a", "unclosed"),
        ("{{ a }} then {{ b", "unclosed"),
    ],
)
def test_malformed_or_unclosed_placeholders_are_rejected(text: str, fragment: str) -> None:
    with pytest.raises(TemplateError, match=fragment):
        placeholders_in(text, " at config.x")


def test_malformed_placeholder_error_names_the_config_path() -> None:
    with pytest.raises(TemplateError, match=r"config\.spec\.containers\[1\]\.image"):
        used_variables({"spec": {"containers": [{"image": "ok"}, {"image": "{{ a b }}"}]}})


def test_used_variables_map_each_name_to_its_first_path() -> None:
    config = {"a": "{{ x }}", "b": [{"c": "{{ y }}-{{ x }}"}], "n": 3, "t": True, "z": None}
    assert used_variables(config) == {"x": "a", "y": "b[0].c"}


@pytest.mark.parametrize(
    "config",
    [
        {"{{ a }}": 1},
        {"outer": {"name-{{ a }}": 1}},
        {"outer": [{"{{a}}": "v"}]},
        {"half}}": "{{ a }}"},
    ],
)
def test_placeholders_in_keys_are_rejected(config: dict) -> None:
    with pytest.raises(TemplateError, match="key"):
        check_queue_template(config, {"a": INT})


def test_non_string_keys_are_rejected() -> None:
    with pytest.raises(TemplateError, match="not a string"):
        used_variables({"spec": {1: "x"}})


def test_undeclared_variable_is_rejected_naming_it_and_the_path() -> None:
    with pytest.raises(TemplateError, match=r"config\.spec\.gpus.*undeclared.*'gpus'"):
        check_queue_template({"spec": {"gpus": "{{ gpus }}"}}, {})


def test_declared_but_unused_variable_is_rejected_naming_it() -> None:
    with pytest.raises(TemplateError, match="'memory' is declared but not used"):
        check_queue_template({"gpus": "{{ gpus }}"}, {"gpus": INT, "memory": INT})


def test_consistent_template_passes() -> None:
    check_queue_template({"gpus": "{{ gpus }}", "tag": "v-{{ tag }}"}, {"gpus": INT, "tag": {}})


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4, 4), (2.5, 2.5), (True, True), (False, False), ("text", "text"), (0, 0)],
)
def test_whole_value_placeholder_keeps_the_type(value: object, expected: object) -> None:
    rendered = render_template({"v": "{{ v }}", "w": "{{v}}"}, {"v": value})
    assert rendered == {"v": expected, "w": expected}
    assert type(rendered["v"]) is type(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(4, "gpu-4"), (2.5, "gpu-2.5"), (True, "gpu-true"), ("x", "gpu-x"), (0, "gpu-0")],
)
def test_embedded_placeholder_is_substituted_as_text(value: object, expected: str) -> None:
    assert render_template({"v": "gpu-{{ v }}"}, {"v": value}) == {"v": expected}


def test_two_placeholders_in_one_string_are_both_substituted() -> None:
    # "{{ a }}-{{ b }}" is not one whole-value placeholder, even though it starts
    # with "{{" and ends with "}}".
    assert render_template({"x": "{{ a }}-{{ b }}"}, {"a": 1, "b": 2}) == {"x": "1-2"}


def test_adjacent_placeholders_are_both_substituted() -> None:
    assert render_template("{{ a }}{{ b }}", {"a": "x", "b": "y"}) == "xy"


def test_rendering_walks_nested_lists_and_mappings() -> None:
    config = {"spec": {"containers": [{"args": ["--n", "{{ n }}"], "limits": {"gpu": "{{ n }}"}}]}}
    assert render_template(config, {"n": 2}) == {
        "spec": {"containers": [{"args": ["--n", 2], "limits": {"gpu": 2}}]}
    }


def test_non_string_leaves_are_kept() -> None:
    config = {"a": 1, "b": None, "c": 2.5, "d": False, "e": []}
    assert render_template(config, {}) == config


@pytest.mark.parametrize("text", ["{{ missing }}", "pre-{{ missing }}-post"])
def test_missing_value_is_an_error_never_an_empty_string(text: str) -> None:
    with pytest.raises(TemplateError, match="'missing' has no value"):
        render_template({"x": text}, {"other": 1})


@pytest.mark.parametrize(
    "value",
    ["{{ x }}", "${HOME}", "{{ other }}", "{{", "\\1 \\g<0>", "$(whoami)"],
)
def test_rendering_is_single_pass(value: str) -> None:
    values = {"v": value, "x": "SHOULD-NOT-APPEAR", "other": "NOR-THIS"}
    rendered = render_template({"whole": "{{ v }}", "embedded": "<{{ v }}>"}, values)
    assert rendered == {"whole": value, "embedded": f"<{value}>"}


@pytest.mark.parametrize("value", ["café", "日本語", "emoji 🚀", "ünïcödé\u200b"])
def test_unicode_values_are_substituted(value: str) -> None:
    rendered = render_template({"a": "{{ v }}", "b": "name={{ v }}"}, {"v": value})
    assert rendered == {"a": value, "b": f"name={value}"}


def test_rendering_does_not_mutate_the_config() -> None:
    config = {"a": ["{{ v }}"], "b": {"c": "{{ v }}"}}
    before = copy.deepcopy(config)
    render_template(config, {"v": 1})
    assert config == before
