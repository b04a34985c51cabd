"""Backends by name: each kind (builder, resource) maps names to ``module:Class``."""

from __future__ import annotations

import importlib
from typing import Any

from launch_core.errors import InvalidInput


def load_implementation(kind: str, table: dict[str, str], name: str) -> Any:
    """An instance of the ``kind`` called ``name``, imported on first use.

    Raises InvalidInput listing the available names when ``name`` is unknown.
    """
    target = table.get(name)
    if target is None:
        raise InvalidInput(f"{kind} {name!r} is not available in this version "
                           f"(available: {', '.join(sorted(table))})")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)()
