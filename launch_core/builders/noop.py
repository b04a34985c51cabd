"""``noop`` builder: no build. Prebuilt images pass through; code and git jobs run
directly on local-process."""

from __future__ import annotations

from launch_core.builders.base import Builder
from launch_core.errors import InvalidInput
from launch_core.store.records import QueueItem


class NoopBuilder(Builder):
    """Passes a prebuilt image through; builds nothing."""

    name = "noop"

    def build(self, item: QueueItem, resource: str) -> str | None:
        if item.spec.image is None and resource != "local-process":
            raise InvalidInput(f"builder noop cannot run a code or git job on {resource}; "
                               "use an image (-d) or a docker/kaniko builder")
        return item.spec.image
