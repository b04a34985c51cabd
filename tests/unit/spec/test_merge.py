"""Deep merge of resource configs: mappings recurse, lists and scalars replaced."""

from __future__ import annotations

import copy

import pytest

from launch_core.spec.merge import deep_merge


@pytest.mark.parametrize(
    ("base", "override", "expected"),
    [
        ({}, {}, {}),
        ({"a": 1}, {}, {"a": 1}),
        ({}, {"a": 1}, {"a": 1}),
        ({"a": 1}, {"a": 2}, {"a": 2}),
        ({"a": 1, "b": 2}, {"b": 3, "c": 4}, {"a": 1, "b": 3, "c": 4}),
        ({"a": {"x": 1, "y": 2}}, {"a": {"y": 3, "z": 4}}, {"a": {"x": 1, "y": 3, "z": 4}}),
        (
            {"a": {"b": {"c": 1, "d": 2}}},
            {"a": {"b": {"d": 3}}},
            {"a": {"b": {"c": 1, "d": 3}}},
        ),
        ({"a": [1, 2, 3]}, {"a": [4]}, {"a": [4]}),
        ({"a": [1, 2]}, {"a": []}, {"a": []}),
        ({"a": [{"x": 1}]}, {"a": [{"y": 2}]}, {"a": [{"y": 2}]}),
        ({"a": {"x": 1}}, {"a": 5}, {"a": 5}),
        ({"a": 5}, {"a": {"x": 1}}, {"a": {"x": 1}}),
        ({"a": {"x": 1}}, {"a": [1]}, {"a": [1]}),
        ({"a": {"x": 1}}, {"a": None}, {"a": None}),
        ({"a": {"x": 1}}, {"a": {}}, {"a": {"x": 1}}),
        ({"a": "text"}, {"a": False}, {"a": False}),
    ],
)
def test_merge_semantics(base: dict, override: dict, expected: dict) -> None:
    assert deep_merge(base, override) == expected


def test_inputs_are_not_mutated() -> None:
    base = {"a": {"b": [1, 2], "c": {"d": 1}}, "e": 1}
    override = {"a": {"b": [3], "c": {"f": 2}}, "g": {"h": 1}}
    base_before, override_before = copy.deepcopy(base), copy.deepcopy(override)
    deep_merge(base, override)
    assert base == base_before
    assert override == override_before


def test_result_shares_no_containers_with_the_inputs() -> None:
    base = {"keep": {"list": [1]}, "nested": {"x": [1]}}
    override = {"new": {"list": [2]}, "nested": {"y": [2]}}
    merged = deep_merge(base, override)
    merged["keep"]["list"].append(99)
    merged["new"]["list"].append(99)
    merged["nested"]["x"].append(99)
    merged["nested"]["y"].append(99)
    assert base == {"keep": {"list": [1]}, "nested": {"x": [1]}}
    assert override == {"new": {"list": [2]}, "nested": {"y": [2]}}


def test_deeply_nested_merge() -> None:
    base: dict = {}
    override: dict = {}
    b, o = base, override
    for _ in range(50):
        b["k"], o["k"] = {"base": 1}, {"over": 2}
        b, o = b["k"], o["k"]
    merged = deep_merge(base, override)
    node = merged
    for _ in range(50):
        node = node["k"]
        assert node["over"] == 2 and node["base"] == 1
