"""${name} macros: known macros everywhere, ${ENV} only when an env is given."""

from __future__ import annotations

import copy

import pytest

from launch_core.spec.macros import KNOWN_MACROS, fill_macros

MACROS = {"run_id": "r-1", "image_uri": "reg/img:abc", "queue_name": "gpu"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${run_id}", "r-1"),
        ("img=${image_uri} q=${queue_name}", "img=reg/img:abc q=gpu"),
        ("${run_id}${run_id}", "r-1r-1"),
        ("no macros", "no macros"),
    ],
)
def test_known_macros_are_filled(text: str, expected: str) -> None:
    assert fill_macros(text, MACROS) == expected


@pytest.mark.parametrize(
    "text",
    ["${unknown}", "${run_name}", "$run_id", "${ run_id }", "${1abc}", "${}", "${run_id",
     "${ünï}", "$${x}"],
)
def test_unknown_or_malformed_macros_are_left_as_is(text: str) -> None:
    assert fill_macros(text, MACROS) == text


def test_env_is_not_consulted_without_env() -> None:
    assert fill_macros("${HOME}", {}) == "${HOME}"


def test_env_is_filled_when_given() -> None:
    assert fill_macros("home=${HOME}", {}, {"HOME": "/root"}) == "home=/root"


def test_missing_env_variable_is_left_as_is() -> None:
    assert fill_macros("${NOPE}", {}, {"HOME": "/root"}) == "${NOPE}"


@pytest.mark.parametrize("name", KNOWN_MACROS)
def test_env_cannot_supply_a_known_macro(name: str) -> None:
    assert fill_macros(f"${{{name}}}", {}, {name: "from-env"}) == f"${{{name}}}"


def test_macros_take_precedence_over_env() -> None:
    assert fill_macros("${run_id}", {"run_id": "r-1"}, {"run_id": "env"}) == "r-1"


def test_filling_is_single_pass() -> None:
    macros = {"run_id": "${image_uri}", "image_uri": "SHOULD-NOT-APPEAR"}
    assert fill_macros("${run_id}", macros, {"X": "x"}) == "${image_uri}"


def test_env_values_are_not_re_expanded() -> None:
    assert fill_macros("${A}", {}, {"A": "${B}", "B": "secret"}) == "${B}"


def test_nested_structures_are_walked_and_non_strings_kept() -> None:
    value = {"a": ["${run_id}", {"b": "${queue_name}"}], "n": 3, "t": True, "z": None}
    assert fill_macros(value, MACROS) == {"a": ["r-1", {"b": "gpu"}], "n": 3, "t": True, "z": None}


def test_keys_are_not_filled() -> None:
    assert fill_macros({"${run_id}": "x"}, MACROS) == {"${run_id}": "x"}


def test_input_is_not_mutated() -> None:
    value = {"a": ["${run_id}"]}
    before = copy.deepcopy(value)
    fill_macros(value, MACROS)
    assert value == before


def test_non_string_macro_values_are_rendered_as_text() -> None:
    assert fill_macros("id-${item_id}", {"item_id": 42}) == "id-42"  # type: ignore[dict-item]


def test_unicode_text_around_macros_is_kept() -> None:
    assert fill_macros("日本-${run_id}-é", MACROS) == "日本-r-1-é"
