"""Per-process objects the flows share: stores and resources, built once."""

from __future__ import annotations

import functools
import re
from typing import Any

from launch_core.resources.base import Resource, get_resource
from launch_core.store import QueueStore

_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential|private", re.I)


@functools.cache
def store_for(url: str | None) -> QueueStore:
    """One QueueStore (engine and pool) per database URL per process."""
    return QueueStore(url)


@functools.cache
def resource_for(name: str) -> Resource:
    """One resource instance per name per process (it may track child processes)."""
    return get_resource(name)


def redact(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys replaced by ***."""
    if isinstance(value, dict):
        return {k: "***" if _SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
