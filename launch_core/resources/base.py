"""The resource interface: where a job runs. One module per implementation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from launch_core.plugins import load_implementation


@dataclass(frozen=True)
class JobContext:
    """Everything a resource needs to start one run of a job."""

    run_id: str
    item_id: int
    entry_point: list[str] | None  # None: the image's own ENTRYPOINT
    args: list[str]
    env: dict[str, str]
    config: dict[str, Any]
    run_dir: Path
    workdir: Path | None
    image: str | None = None
    pull_auth: dict[str, str] | None = field(default=None, repr=False)

    @property
    def argv(self) -> list[str]:
        return [*(self.entry_point or []), *self.args]


@dataclass(frozen=True)
class RunStatus:
    """What a resource reports about a run."""

    state: str  # "running", "finished" or "failed"
    exit_code: int | None = None
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.state in ("finished", "failed")


class Resource(ABC):
    """Starts, watches and stops runs. ``handle`` is JSON, stored in the item."""

    name: str
    poll_interval: float = 0.25  # seconds between two status checks of a run

    @abstractmethod
    def validate(self, config: dict[str, Any]) -> None:
        """Raise InvalidInput naming the option when the final config is not allowed."""

    @abstractmethod
    def submit(self, job: JobContext) -> dict[str, Any]:
        """Start the run; return its handle (enough to re-adopt it from another agent)."""

    @abstractmethod
    def status(self, handle: dict[str, Any]) -> RunStatus:
        """Current state of the run."""

    @abstractmethod
    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        """Log text from ``offset`` on, and the new offset."""

    @abstractmethod
    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        """Stop the run: politely, then by force after ``timeout`` seconds."""

    def cleanup(self, handle: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Release what the run left behind once its result is recorded."""


_IMPLEMENTATIONS = {
    "local-process": "launch_core.resources.local_process:LocalProcessResource",
    "local-container": "launch_core.resources.local_container:LocalContainerResource",
}


def read_log_file(path: str, offset: int) -> tuple[str, int]:
    """Text of a run's log file from ``offset`` on, and the new offset."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            data = log.read()
    except FileNotFoundError:
        return "", offset
    return data.decode("utf-8", errors="replace"), offset + len(data)


def get_resource(name: str) -> Resource:
    """An instance of the resource called ``name``. Raises InvalidInput when unknown."""
    return load_implementation("resource", _IMPLEMENTATIONS, name)
