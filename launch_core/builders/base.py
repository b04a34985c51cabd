"""The builder interface: how an image is made for a job."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod

from launch_core.errors import InvalidInput
from launch_core.store.records import QueueItem


class Builder(ABC):
    """Makes (or passes through) the image a job runs in."""

    name: str

    @abstractmethod
    def build(self, item: QueueItem, resource: str) -> str | None:
        """Return the image URI to run, or None when the job runs without an image."""


_IMPLEMENTATIONS = {"noop": "launch_core.builders.noop:NoopBuilder"}


def get_builder(name: str) -> Builder:
    """An instance of the builder called ``name``. Raises InvalidInput when unknown."""
    target = _IMPLEMENTATIONS.get(name)
    if target is None:
        raise InvalidInput(f"builder {name!r} is not available in this version "
                           f"(available: {', '.join(sorted(_IMPLEMENTATIONS))})")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)()  # type: ignore[no-any-return]
