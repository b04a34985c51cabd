"""A template variable's ``pattern`` is matched by RE2, in time linear in the value:
a pattern that backtracks catastrophically elsewhere (``^(a+)+$``) is checked at once,
and what RE2 cannot do in linear time (backreferences, lookaround, atomic groups,
possessive quantifiers, conditionals) is refused when the queue is created, naming the
variable and the feature. JSON Schema's reading stays: ``$`` ends the value, ``\\d``
and ``\\w`` are ASCII."""

from __future__ import annotations

import pytest

from launch_core import api
from launch_core.errors import InvalidInput, TemplateError
from launch_core.spec.models import MAX_STRING_VALUE, TemplateVariable
from launch_core.spec.schema_pattern import matches
from launch_core.spec.templating import resolve_values
from launch_core.store import QueueStore

BACKTRACKING = ["^(a+)+$", "^(a|a)+$", "^(a|aa)+$", "^(a*)*b$", "^(\\w+\\s?)+$",
                "^([a-z0-9]+-?)+[a-z0-9]$"]


def var(**schema: object) -> TemplateVariable:
    return TemplateVariable.model_validate({"type": "string", **schema})


# --- linear time: the answer on inputs a backtracking matcher never finishes ----------

@pytest.mark.parametrize("pattern", BACKTRACKING)
def test_a_backtracking_pattern_is_answered_on_a_long_value(pattern: str) -> None:
    almost = "a" * 100_000 + "!"  # a backtracking matcher tries ~2**100000 ways
    assert not matches(pattern, almost)


def test_a_backtracking_pattern_still_matches_what_it_should() -> None:
    assert matches("^(a+)+$", "a" * 100_000)
    assert matches("^(a*)*b$", "a" * 100_000 + "b")
    assert matches("^([a-z0-9]+-?)+[a-z0-9]$", "ab-" * 30_000 + "c")


def test_a_backtracking_pattern_is_checked_on_a_submitted_value() -> None:
    variables = {"v": var(pattern="^(a+)+$")}
    longest = "a" * (MAX_STRING_VALUE - 1)
    with pytest.raises(TemplateError, match=r"'v'.*does not match pattern '\^\(a\+\)\+\$'"):
        resolve_values(variables, {"v": longest + "b"})
    assert resolve_values(variables, {"v": longest + "a"}) == {"v": longest + "a"}


# --- what RE2 does not do is refused at queue create ---------------------------------

@pytest.mark.parametrize(
    ("pattern", "feature"),
    [
        ("^(a)\\1$", "a backreference"),
        ("^(?P<x>a)(?P=x)$", "a backreference"),
        ("^(?=a)a$", "lookahead"),
        ("^(?!a)b$", "lookahead"),
        ("(?<=a)b", "lookbehind"),
        ("(?<!a)b", "lookbehind"),
        ("^(?>a+)b$", "an atomic group"),
        ("^a++b$", "a possessive quantifier"),
        ("^a{2}+$", "a possessive quantifier"),
        ("^(a)?(?(1)b|c)$", "a conditional"),
    ],
)
def test_a_feature_re2_lacks_is_refused_naming_it(pattern: str, feature: str) -> None:
    with pytest.raises(ValueError, match=rf"pattern uses {feature} .*, which RE2 .*"
                                         r"does not support"):
        var(pattern=pattern)


def test_a_refused_pattern_names_the_variable_at_queue_create() -> None:
    store = QueueStore("sqlite://")
    with pytest.raises(InvalidInput, match=r"^vars\.json: template_variables\.tag: pattern "
                                           r"uses a backreference '\\1', which RE2"):
        api.create_queue(store, "q", "local-process", entity="team", source="vars.json",
                         config={"t": "{{ tag }}"},
                         template_variables={"tag": {"type": "string",
                                                     "pattern": "^(a)\\1$"}})
    assert store.list_queues("team") == []


@pytest.mark.parametrize("pattern", ["(unclosed", "[", "a{2,1}", "*a", "(?P<1>a)"])
def test_an_invalid_pattern_is_still_called_invalid(pattern: str) -> None:
    with pytest.raises(ValueError, match="pattern is not a valid regular expression"):
        var(pattern=pattern)


def test_a_pattern_too_large_for_re2_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"pattern is not supported by RE2: .*repetition"):
        var(pattern="^a{1001}$")


def test_a_pattern_that_is_not_unicode_text_is_refused() -> None:
    with pytest.raises(ValueError, match="pattern is not valid Unicode"):
        var(pattern="^\udcff$")


# --- JSON Schema's reading is kept -------------------------------------------------------

@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("^[a-z]+$", "abc", True),
        ("^[a-z]+$", "abc\n", False),  # '$' is the end of the value, not before a '\n'
        ("^small$", "small\n\n", False),
        ("[a-z]$", "a\nb", True),
        ("^a$|^b$", "a\n", False),
        ("[$]", "$", True),  # '$' in a class, or escaped, is a dollar sign
        ("^\\$\\d$", "$1", True),
        ("^[^$]+$", "ab$", False),
        ("[]$]", "$", True),
        ("[^]$]x", "$x", False),
        ("^\\d+$", "123", True),
        ("^\\d+$", "\u0661\u0662", False),  # \d is ASCII
        ("^\\w+$", "caf\u00e9", False),  # \w is ASCII
        ("^caf\u00e9$", "caf\u00e9", True),  # other characters are themselves
        ("^.$", "\u65e5", True),  # one character, however many bytes
        ("^.{3}$", "\U0001f680ab", True),
        ("x", "a x b", True),  # a pattern matches anywhere unless anchored
        ("", "anything", True),
        ("^\\u0041+\\Z", "AA", True),  # \uXXXX and \Z as Python read them
        ("^(small|large)$", "large", True),
        ("^[a-z0-9-]{1,20}$", "a" * 21, False),
    ],
)
def test_patterns_keep_json_schema_semantics(pattern: str, value: str, expected: bool) -> None:
    assert matches(pattern, value) is expected


def test_a_value_with_a_lone_surrogate_is_checked_not_crashed() -> None:
    assert matches("^[^/]+$", "a\udcffb")
    assert not matches("^[^/]+$", "a\udcff/")
    with pytest.raises(TemplateError, match="'v'.*does not match"):
        resolve_values({"v": var(pattern="^[a-z]+$")}, {"v": "a\udcff"})
