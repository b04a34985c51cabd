"""Hypothesis strategies for the fuzz tests of templating, merge and macros: queue
configs, variable schemas and values, random and hostile, and a counter of the
examples each property tried (printed by the tests, asserted to be non-trivial)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hypothesis import strategies as st

EXAMPLES: Counter[str] = Counter()

NAMES = ("a", "b", "gpus", "x_1")
# Pieces that are syntax somewhere: placeholders, macros, JSON/YAML punctuation.
HOSTILE = ["{{ a }}", "{{b}}", "{{", "}}", "{{ }}", "{{ a b }}", "${run_id}", "${HOME}",
           "${SECRET}", "${author}", '"', "'", "\\", "\n", '", "x": "', "}, {", "{", "}",
           "$", "[", "]", ": ", "- ", "&a", "*a", "\x00", "\udcff", "é", "\t"]
PATTERNS = ["^[a-z]+$", "[", "x", "(a", "^\\d{1,3}$", "", ".*", "^(small|large)$"]

plain_text = st.text(st.characters(blacklist_categories=("Cs",),
                                   blacklist_characters="{}$\x00"), max_size=12)
hostile_text = st.lists(st.sampled_from(HOSTILE) | plain_text, max_size=5).map("".join)
any_text = hostile_text | st.text(max_size=20)
numbers = (st.integers(min_value=-(2**70), max_value=2**70)
           | st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0, -1, 1.5]))
scalars = st.none() | st.booleans() | numbers | any_text
json_like = st.recursive(scalars, lambda kids: st.lists(kids, max_size=3)
                         | st.dictionaries(any_text, kids, max_size=3), max_leaves=12)

variable_schema = st.fixed_dictionaries(
    {"type": st.sampled_from(["integer", "number", "string", "boolean", "object", 3])},
    optional={"minimum": numbers | st.booleans() | any_text,
              "maximum": numbers | st.booleans() | any_text,
              "enum": st.lists(scalars, max_size=3) | scalars,
              "pattern": st.sampled_from(PATTERNS) | any_text,
              "default": scalars, "description": any_text, "title": any_text})
variables = st.dictionaries(st.sampled_from(NAMES) | any_text, variable_schema, max_size=3)
values = st.dictionaries(st.sampled_from(NAMES) | any_text, scalars | json_like, max_size=3)


# --- templates whose rendering is known in advance ---------------------------------

def _leaf(segments: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return segments or [("lit", "")]


segments = st.lists(st.tuples(st.just("lit"), plain_text.filter(bool))
                    | st.tuples(st.just("var"), st.sampled_from(NAMES)),
                    max_size=4).map(_leaf)
keys = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="{}\x00"),
               max_size=8)
template_tree = st.recursive(segments, lambda kids: st.lists(kids, max_size=3)
                             | st.dictionaries(keys, kids, max_size=3), max_leaves=10)


def bounded_variable() -> st.SearchStrategy[tuple[dict[str, Any], Any]]:
    """A typed, bounded variable schema and a value to try against it (in or out of
    bounds, of the right type or not, as the CLI's text or typed)."""
    ints = st.integers(min_value=-1000, max_value=1000)
    integer = st.fixed_dictionaries({"type": st.just("integer")}, optional={
        "minimum": ints, "maximum": ints, "enum": st.lists(ints, min_size=1, max_size=3)})
    number = st.fixed_dictionaries({"type": st.just("number")}, optional={
        "minimum": ints | st.floats(-1e3, 1e3), "maximum": ints | st.floats(-1e3, 1e3)})
    string = st.fixed_dictionaries({"type": st.just("string")}, optional={
        "pattern": st.sampled_from(PATTERNS[4:]),
        "enum": st.lists(st.sampled_from(["small", "large", "a", ""]), min_size=1,
                         max_size=3)})
    boolean = st.fixed_dictionaries({"type": st.just("boolean")})
    value = (ints | st.floats(-2e3, 2e3) | ints.map(str) | st.floats(-2e3, 2e3).map(str)
             | st.booleans() | st.sampled_from(["small", "large", "true", "no", "12", "1e2",
                                                " 7 ", "0x10", "", "a", "12\n", "small\n",
                                                "\u0661\u0662", "large\n\n"]) | any_text)
    return st.tuples(integer | number | string | boolean, value)


def render_expected(tree: Any, typed: dict[str, Any]) -> Any:
    """What rendering ``tree`` (segments at the leaves) with ``typed`` must give."""
    if isinstance(tree, dict):
        return {k: render_expected(v, typed) for k, v in tree.items()}
    if isinstance(tree, list) and tree and isinstance(tree[0], tuple):
        if len(tree) == 1 and tree[0][0] == "var":
            return typed[tree[0][1]]
        return "".join(text if kind == "lit" else _as_text(typed[text])
                       for kind, text in tree)
    return [render_expected(child, typed) for child in tree]


def as_template(tree: Any) -> Any:
    """``tree`` with each leaf's segments written as template text."""
    if isinstance(tree, dict):
        return {k: as_template(v) for k, v in tree.items()}
    if isinstance(tree, list) and tree and isinstance(tree[0], tuple):
        return "".join(text if kind == "lit" else "{{ " + text + " }}" for kind, text in tree)
    return [as_template(child) for child in tree]


def used_names(tree: Any) -> set[str]:
    if isinstance(tree, dict):
        return set().union(*(used_names(v) for v in tree.values()))
    if isinstance(tree, list) and tree and isinstance(tree[0], tuple):
        return {text for kind, text in tree if kind == "var"}
    return set().union(*(used_names(child) for child in tree))


def _as_text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value)
