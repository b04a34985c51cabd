"""The resource interface: where a job runs. One module per implementation, one
line per implementation in ``launch_core.backends.table``."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

from launch_core.backends.table import load_implementation
from launch_core.errors import InvalidInput
from launch_core.spec.guardrails import ALLOWABLE, MISSING, Finding, Guard, check_guardrails

if TYPE_CHECKING:
    from launch_core.spec.models import QueueDefinition


# The image a dry-run shows where the agent would build one.
PREVIEW_IMAGE = "<image the agent builds>"


@dataclass(frozen=True)
class RunRef:
    """Which run of a job: its run id and how many times it was resumed. A resource
    names the run from it (``name``), so asking to start it twice starts it once."""

    run_id: str
    resume_count: int = 0
    run_dir: Path = Path(".")  # where a resource on the agent's host keeps run files

    @property
    def name(self) -> str:
        suffix = f"-r{self.resume_count}" if self.resume_count else ""
        return f"relaunch-{self.run_id}{suffix}"


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
    resume_count: int = 0
    # Who runs it, for the labels, tags and annotations a resource puts on its runs.
    queue: str = ""
    entity: str = ""
    agent: str = ""
    # The GPU devices the agent assigned to this run (``relaunch launch-agent --gpus``);
    # None: the agent shares out no GPUs, the resource's own options decide.
    gpu_devices: tuple[str, ...] | None = None

    @property
    def argv(self) -> list[str]:
        return [*(self.entry_point or []), *self.args]

    @property
    def ref(self) -> RunRef:
        return RunRef(self.run_id, self.resume_count, self.run_dir)


@dataclass(frozen=True)
class RunStatus:
    """What a resource reports about a run."""

    state: str  # "running", "finished", "failed" (or "preempted", if reports_preemption)
    exit_code: int | None = None
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Why a failed run failed, when the resource knows: launch_core.spec.failure_class's
    # OOM (killed for memory) or INFRA (e.g. its image pull backed off). Queues retry by it.
    cause: str | None = None

    @property
    def done(self) -> bool:
        return self.state in ("finished", "failed", "preempted")


class Options(BaseModel):
    """Base of a resource's options: unknown keys are refused."""

    model_config = ConfigDict(extra="forbid")


class Resource(ABC):
    """Starts, watches and stops runs. ``handle`` is JSON, stored in the item.

    Capabilities are class attributes, so code outside this module asks them
    instead of a resource's name.
    """

    name: ClassVar[str]
    options: ClassVar[type[Options]] = Options  # the queue config's allowed keys
    needs_image: ClassVar[bool] = True  # False: runs the job's code directly
    runs_on_agent_host: ClassVar[bool] = False  # its runs live on the agent's machine
    reports_preemption: ClassVar[bool] = False  # status() may say "preempted"
    poll_interval: ClassVar[float] = 0.25  # seconds between two status checks of a run
    waits_for_end: ClassVar[bool] = False  # wait() returns as soon as a run ends
    # Longest WANDB_CONFIG value a run gets; past it the config is split into
    # WANDB_CONFIG_0..N (W&B's limit for its runners but SageMaker's 512). None: no limit.
    env_value_limit: ClassVar[int | None] = 32670

    def validate(self, config: dict[str, Any], queue: QueueDefinition | None = None) -> None:
        """Raise InvalidInput naming the option (its JSON path) when the final config
        is not allowed. Called at queue create (the config rendered with sample
        values), at dry-run and enqueue (macros not yet filled) and by the agent
        (the final config). ``queue``, when given, is the queue as its admin wrote
        it (its ``config`` and ``allow_fields``), to tell the admin's values from
        the submitter's."""
        self.parse_options(config)

    # Fields a submitter may not set, change or remove (see launch_core.spec.guardrails).
    guards: ClassVar[Mapping[str, Guard]] = {}

    @classmethod
    def allow_fields(cls) -> frozenset[str]:
        """The names ``relaunch queue create --allow-field`` takes for this resource."""
        return frozenset(name for name, guard in cls.guards.items()
                         if guard.kind == ALLOWABLE)

    def guard_findings(self, config: Any) -> Iterable[Finding]:
        """Where ``config`` (as ``guard_view`` gives it) sets a field of ``guards``."""
        return ()

    def guard_view(self, config: dict[str, Any]) -> dict[str, Any]:
        """``config`` with its keys as this resource reads them (aliases resolved)."""
        return config

    def check_guardrails(self, config: dict[str, Any], queue: QueueDefinition | None,
                         reference: dict[str, Any] | None = None) -> None:
        """Raise InvalidInput when ``config`` sets, changes or removes a guarded field
        against ``queue``'s admin (``reference``: the queue's config rendered with the
        job's values, before its resource args; default ``config``). Also refuses an
        ``allow_fields`` name this resource does not know."""
        allowed = set(queue.allow_fields) if queue is not None else set()
        unknown = sorted(allowed - self.allow_fields())
        if unknown:
            names = ", ".join(sorted(self.allow_fields())) or "none"
            raise InvalidInput(f"--allow-field: {unknown[0]!r} means nothing on a {self.name} "
                               f"queue (its guarded fields: {names})")
        raw = self.guard_view(queue.config) if queue is not None else MISSING
        check_guardrails(self.guards, self.guard_findings, self.guard_view(config),
                         reference=MISSING if reference is None else self.guard_view(reference),
                         raw=raw, allowed=allowed, has_queue=queue is not None)

    def demand(self, config: dict[str, Any]) -> dict[str, int]:
        """What one run of the job takes from shared compute, counted from the final
        rendered resource ``config``: ``{"gpus": n}``; relaunch's quotas and an
        agent's GPU slots count its ``"gpus"``. Counts what is countable (a value
        still templated counts 0), never raises, and reads only the config (no
        extra's module), so it works where the resource's extra is not installed."""
        return {"gpus": 0}

    def request(self, job: JobContext) -> dict[str, Any] | None:
        """The exact request ``submit`` sends for ``job`` (a manifest, an API body),
        shown by ``relaunch launch --dry-run``; None when there is no such body."""
        return None

    def parse_options(self, config: dict[str, Any]) -> Any:
        """The config as this resource's options model. Raises InvalidInput."""
        try:
            return self.options.model_validate(config)
        except ValidationError as exc:
            raise InvalidInput(self._option_error(exc.errors()[0])) from None

    def _option_error(self, error: Any) -> str:
        path = ".".join(str(part) for part in error["loc"])
        if error["type"] == "extra_forbidden" and len(error["loc"]) == 1:
            allowed = ", ".join(sorted(self.options.model_fields)) or "none"
            return f"{self.name}: option {path!r} is not allowed (allowed: {allowed})"
        if error["type"] in ("literal_error", "enum"):
            return (f"{self.name}: option {path!r}: {error['input']!r} is not allowed "
                    f"({error['msg']})")
        return f"{self.name}: option {path!r}: {error['msg']}"

    @abstractmethod
    def submit(self, job: JobContext) -> dict[str, Any]:
        """Start the run named by ``job.ref`` unless it was started already; return
        its handle (enough to re-adopt it from another agent)."""

    @abstractmethod
    def find(self, ref: RunRef) -> dict[str, Any] | None:
        """The handle of the run ``ref`` names if it was started, else None."""

    @abstractmethod
    def status(self, handle: dict[str, Any]) -> RunStatus:
        """Current state of the run."""

    @abstractmethod
    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        """Log text from ``offset`` on, and the new offset."""

    @abstractmethod
    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        """Stop the run: politely, then by force after ``timeout`` seconds."""

    def wait(self, handle: dict[str, Any], timeout: float) -> None:
        """With ``waits_for_end``: block until the run may have ended, at most
        ``timeout`` seconds (runs in a worker thread). The watch then asks status()."""
        time.sleep(timeout)

    def cleanup(self, handle: dict[str, Any]) -> None:  # noqa: B027 (optional hook)
        """Release what the run left behind once its result is recorded."""


def get_resource(name: str) -> Resource:
    """An instance of the resource called ``name``. Raises InvalidInput when unknown,
    MissingExtra when its extra is not installed."""
    resource: Resource = load_implementation("resource", name)
    return resource
