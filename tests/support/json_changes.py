"""Random changes to a JSON document for property tests (hypothesis): each change
puts a drawn value at a drawn place (a key of an object, known or new, or an index of
a list), so a check can be compared with the one it stands in for."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


def places(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The paths of every object and list in ``node``."""
    found = [path] if isinstance(node, (dict, list)) else []
    items = node.items() if isinstance(node, dict) else enumerate(node) \
        if isinstance(node, list) else []
    for key, child in items:
        found += places(child, (*path, key))
    return found


def change(data: st.DataObject, document: Any, values: st.SearchStrategy[Any],
           keys: list[str], most: int = 3) -> None:
    """Apply 1 to ``most`` changes to ``document`` in place: a value from ``values``
    under one of its keys or ``keys`` (for an object), or at one of its indexes."""
    for _ in range(data.draw(st.integers(1, most))):
        parent = document
        for key in data.draw(st.sampled_from(places(document))):
            parent = parent[key]
        value = data.draw(values)
        if isinstance(parent, dict):
            parent[data.draw(st.sampled_from([*parent, *keys]))] = value
        elif parent:
            parent[data.draw(st.integers(0, len(parent) - 1))] = value
