"""Counting what a job takes from shared compute (``Resource.demand``): the helpers
every resource's count uses, and the count of a queue's resource by its name."""

from __future__ import annotations

import math
from typing import Any

from launch_core.backends.resource import Resource, get_resource
from launch_core.backends.table import BACKENDS, import_target
from launch_core.errors import MissingExtra


def countable(value: Any) -> int | None:
    """``value`` as a count (a whole number ≥ 0, or a string of one: ``"2"``); None when
    it is not one (absent, a leftover ``{{ var }}`` or ``${macro}``, a boolean, a
    negative or fractional number)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        return int(text) if text.isdecimal() and text.isascii() else None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() \
            and value >= 0:
        return int(value)
    return None


def as_count(value: Any) -> int:
    """What ``value`` counts: itself when countable, else 0 (what is not countable
    counts nothing)."""
    found = countable(value)
    return 0 if found is None else found


def multiplier(value: Any) -> int:
    """A count of replicas or instances: itself when countable, else 1 (absent: the
    default of one; not countable: at least the one whose demand is counted)."""
    found = countable(value)
    return 1 if found is None else found


# The largest count recorded: the store's ``items.gpus`` is a 32-bit integer.
MAX_COUNT = 2**31 - 1


def gpus_of(resource: Resource, config: dict[str, Any]) -> int:
    """The GPUs ``resource.demand(config)`` counts, at most MAX_COUNT."""
    return min(as_count(resource.demand(config).get("gpus")), MAX_COUNT)


def counting_resource(resource_name: str) -> Resource:
    """The resource called ``resource_name``, whether its extra is installed here or
    not: a resource imports its extra's modules lazily and ``demand`` reads the
    config only. Raises InvalidInput when the name is unknown."""
    try:
        return get_resource(resource_name)
    except MissingExtra:
        resource: Resource = import_target(BACKENDS["resource"][resource_name].target)()
        return resource
