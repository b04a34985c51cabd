"""The builder interface: how the image a job runs in is made."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from launch_core.backends.registry import Registry
from launch_core.backends.table import load_implementation
from launch_core.errors import LaunchError
from launch_core.store.records import QueueItem

if TYPE_CHECKING:
    from launch_core.spec.agent_config import BuilderConfig

DEFAULT_BASE_IMAGE = "python:3.11-slim"


class BuildFailed(LaunchError):
    """The image build failed; the message ends with the build's last lines."""


@dataclass(frozen=True)
class BuildRequest:
    """What a builder needs for one job."""

    item: QueueItem
    resource: str  # its name, for messages
    context: Path | None  # unpacked code or git checkout; None for image jobs
    registry: Registry
    base_image: str = DEFAULT_BASE_IMAGE
    platform: str | None = None
    log: Callable[[str], None] = print
    needs_image: bool = True  # False: the resource runs code directly
    settings: BuilderConfig | None = None  # the agent's builder section (kaniko's keys)


@dataclass(frozen=True)
class BuildResult:
    """The image to run (None: run without one), whether it was built now, and
    whether the builder pushed it itself (kaniko: no push stage then)."""

    image: str | None
    built: bool = False
    note: str = ""
    pushed: bool = False


class Builder(ABC):
    """Makes (or passes through) the image a job runs in."""

    name: str

    @classmethod  # noqa: B027 (an optional hook)
    def check_settings(cls, settings: BuilderConfig) -> None:
        """Raise ValueError naming the key when the agent's ``builder`` section cannot
        drive this builder; called when the agent config loads. Nothing by default."""

    @abstractmethod
    def build(self, request: BuildRequest) -> BuildResult:
        """Return the image to run. Raises BuildFailed with the build's last lines."""


def get_builder(name: str) -> Builder:
    """An instance of the builder called ``name``. Raises InvalidInput when unknown,
    MissingExtra when its extra is not installed."""
    builder: Builder = load_implementation("builder", name)
    return builder


def docker_daemon_answers() -> bool:
    """Whether a Docker daemon answers (the default builder is docker then)."""
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False
