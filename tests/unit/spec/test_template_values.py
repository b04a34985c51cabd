"""Submitted template values: typed, bounded, validated against the declared schema."""

from __future__ import annotations

import math

import pytest

from launch_core.errors import TemplateError
from launch_core.spec.models import MAX_STRING_VALUE, TemplateVariable
from launch_core.spec.templating import resolve_values


def var(**schema: object) -> TemplateVariable:
    return TemplateVariable.model_validate(schema)


@pytest.mark.parametrize(
    ("schema", "raw", "expected"),
    [
        ({"type": "integer"}, "3", 3),
        ({"type": "integer"}, " -7 ", -7),
        ({"type": "integer"}, 3.0, 3),
        ({"type": "integer"}, 2**63 - 1, 2**63 - 1),
        ({"type": "integer"}, str(-(2**63)), -(2**63)),
        ({"type": "number"}, "2.5", 2.5),
        ({"type": "number"}, "1e3", 1000.0),
        ({"type": "number"}, "4", 4),
        ({"type": "boolean"}, "true", True),
        ({"type": "boolean"}, "OFF", False),
        ({"type": "boolean"}, False, False),
        ({"type": "string"}, "", ""),
        ({"type": "string"}, "x" * MAX_STRING_VALUE, "x" * MAX_STRING_VALUE),
    ],
)
def test_values_are_parsed_to_the_declared_type(
    schema: dict, raw: object, expected: object
) -> None:
    resolved = resolve_values({"v": var(**schema)}, {"v": raw})
    assert resolved == {"v": expected}
    assert type(resolved["v"]) is type(expected)


@pytest.mark.parametrize(
    ("kind", "raw", "fragment"),
    [
        ("integer", True, "boolean"),
        ("integer", False, "boolean"),
        ("integer", "3.5", "expected an integer"),
        ("integer", 3.5, "expected an integer"),
        ("integer", "abc", "expected an integer"),
        ("integer", "", "expected an integer"),
        ("integer", float("nan"), "expected an integer"),
        ("integer", float("inf"), "expected an integer"),
        ("integer", 2**63, "64 bits"),
        ("integer", -(2**63) - 1, "64 bits"),
        ("integer", str(2**64), "64 bits"),
        ("integer", "9" * 400, "expected an integer"),
        ("integer", None, "expected an integer"),
        ("integer", [1], "expected an integer"),
        ("number", True, "boolean"),
        ("number", "abc", "expected a number"),
        ("number", "nan", "expected a number"),
        ("number", "inf", "expected a number"),
        ("number", float("nan"), "finite"),
        ("number", float("-inf"), "finite"),
        ("number", "1e999", "finite"),
        ("number", 10**400, "too large"),
        ("number", "1" * 100, "expected a number"),
        ("number", {"a": 1}, "expected a number"),
        ("boolean", "maybe", "expected a boolean"),
        ("boolean", 2, "expected a boolean"),
        ("boolean", None, "expected a boolean"),
        ("string", 3, "expected a string"),
        ("string", None, "expected a string"),
        ("string", ["a"], "expected a string"),
        ("string", "x" * (MAX_STRING_VALUE + 1), "longer than"),
    ],
)
def test_wrong_types_are_rejected_naming_the_variable(
    kind: str, raw: object, fragment: str
) -> None:
    with pytest.raises(TemplateError, match=rf"'gpus'.*{fragment}"):
        resolve_values({"gpus": var(type=kind)}, {"gpus": raw})


@pytest.mark.parametrize("kind", ["integer", "number"])
@pytest.mark.parametrize(
    "raw",
    [
        pytest.param("\u0661\u0662", id="arabic-indic-12"),
        pytest.param("\uff11\uff12", id="fullwidth-12"),
        pytest.param("1_000", id="underscore"),
    ],
)
def test_non_ascii_or_underscored_digits_are_not_numbers(kind: str, raw: str) -> None:
    with pytest.raises(TemplateError, match="'n'"):
        resolve_values({"n": var(type=kind)}, {"n": raw})


@pytest.mark.parametrize(
    ("schema", "raw", "fragment"),
    [
        ({"type": "integer", "minimum": 1}, 0, "below minimum 1"),
        ({"type": "integer", "maximum": 8}, "9", "above maximum 8"),
        ({"type": "number", "minimum": 0.5}, 0.25, "below minimum 0.5"),
        ({"type": "number", "maximum": 1.5}, "1.75", "above maximum 1.5"),
        ({"type": "string", "enum": ["a", "b"]}, "c", r"not one of \['a', 'b'\]"),
        ({"type": "integer", "enum": [1, 2]}, 3, r"not one of \[1, 2\]"),
        (
            {"type": "string", "pattern": "^[a-z]+$"},
            "ABC",
            r"does not match pattern '\^\[a-z\]\+\$'",
        ),
    ],
)
def test_out_of_bounds_values_name_the_variable_and_the_bound(
    schema: dict, raw: object, fragment: str
) -> None:
    with pytest.raises(TemplateError, match=rf"template variable 'v': .*{fragment}"):
        resolve_values({"v": var(**schema)}, {"v": raw})


@pytest.mark.parametrize(("raw", "expected"), [(1, 1), (8, 8), ("4", 4)])
def test_values_on_or_inside_the_bounds_pass(raw: object, expected: int) -> None:
    variables = {"v": var(type="integer", minimum=1, maximum=8)}
    assert resolve_values(variables, {"v": raw}) == {"v": expected}


def test_enum_given_as_string_matches_the_typed_enum() -> None:
    assert resolve_values({"v": var(type="integer", enum=[1, 2])}, {"v": "2"}) == {"v": 2}


def test_undeclared_value_is_rejected_listing_the_declared_ones() -> None:
    with pytest.raises(TemplateError, match=r"unknown template variable 'gpu' \(declared: gpus\)"):
        resolve_values({"gpus": var(type="integer")}, {"gpu": 1})


def test_value_for_a_queue_without_variables_is_rejected() -> None:
    with pytest.raises(TemplateError, match=r"'x' \(declared: none\)"):
        resolve_values({}, {"x": 1})


def test_missing_value_without_default_is_rejected() -> None:
    with pytest.raises(TemplateError, match="'gpus' needs a value"):
        resolve_values({"gpus": var(type="integer")}, {})


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "integer", "default": 2}, 2),
        ({"type": "integer", "default": 0}, 0),
        ({"type": "boolean", "default": False}, False),
        ({"type": "string", "default": ""}, ""),
    ],
)
def test_falsy_defaults_are_used(schema: dict, expected: object) -> None:
    assert resolve_values({"v": var(**schema)}, {}) == {"v": expected}


def test_given_value_overrides_default() -> None:
    assert resolve_values({"v": var(type="integer", default=2)}, {"v": 5}) == {"v": 5}


@pytest.mark.parametrize("value", ["{{ x }}", "${HOME}", "日本語", "a\nb"])
def test_string_values_are_kept_verbatim(value: str) -> None:
    assert resolve_values({"v": var(type="string")}, {"v": value}) == {"v": value}


def test_number_result_is_finite() -> None:
    assert math.isfinite(resolve_values({"v": var(type="number")}, {"v": "1e300"})["v"])
