"""What the launch pipeline's stages pass along: the claimed launch, the resolved
config, the built image."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launch_core.backends.registries import Registry
from launch_core.backends.resource import Resource
from launch_core.store import Claim, QueueItem, QueueRecord


@dataclass(frozen=True)
class Launch:
    """What the stages pass along: the item, its queue, the claim and the resource.

    ``existing`` is the handle of a run an earlier attempt started but did not
    record (the agent died in between): it is re-attached, never started again.
    """

    item: QueueItem
    queue: QueueRecord
    claim: Claim
    resource: Resource
    existing: dict[str, Any] | None = None


@dataclass(frozen=True)
class Resolved:
    """The job's final resource config and the queue's builder options."""

    config: dict[str, Any]
    builder: dict[str, Any]


@dataclass(frozen=True)
class Built:
    """The outcome of the build: the image (if any), where it goes, the run dir."""

    image: str | None
    built: bool
    registry: Registry
    workdir: Path | None
