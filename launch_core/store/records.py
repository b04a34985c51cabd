"""Rows of the queue store as plain, immutable records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from launch_core.spec.models import PRIORITY_NAME, LaunchSpec, QueueDefinition


@dataclass(frozen=True)
class QueueRecord:
    """A stored queue: its id and its validated definition."""

    id: int
    definition: QueueDefinition
    created_at: float
    updated_at: float

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def entity(self) -> str:
        return self.definition.entity


@dataclass(frozen=True)
class Claim:
    """Who holds an item: the agent and the fencing token of its claim."""

    agent_id: str
    token: int


@dataclass(frozen=True)
class QueueItem:
    """One job in a queue, with its lifecycle state."""

    id: int
    queue_id: int
    state: str
    priority: int
    enqueued_at: float
    run_id: str
    spec: LaunchSpec
    attempts: int
    max_attempts: int
    agent_id: str | None
    claim_token: int
    lease_expires_at: float | None
    handle: dict[str, Any] | None
    stage: str | None
    reason: str | None
    cancel_requested: bool
    resume_count: int
    exit_code: int | None
    started_at: float | None
    finished_at: float | None
    updated_at: float
    submitter: str = ""
    project: str = ""
    gpus: int | None = 0  # None: enqueued before GPUs were counted
    devices: list[str] | None = None
    retries: int = 0
    raised: dict[str, Any] | None = None
    group_id: str | None = None  # the array's (or sweep's) group
    array_index: int | None = None  # RELAUNCH_ARRAY_INDEX
    held: bool = False  # queued, waiting for its dependencies (launch --after)

    @property
    def claim(self) -> Claim | None:
        """The claim an agent holds on this item (None when no agent holds it)."""
        return Claim(self.agent_id, self.claim_token) if self.agent_id else None

    @property
    def priority_name(self) -> str:
        return PRIORITY_NAME[self.priority]

    @classmethod
    def from_row(cls, row: Any) -> QueueItem:
        data = dict(row._mapping)
        data["spec"] = LaunchSpec.model_validate(data["spec"])
        data["cancel_requested"] = bool(data["cancel_requested"])
        data["held"] = bool(data.get("held", False))
        return cls(**data)


@dataclass(frozen=True)
class ItemEvent:
    """One state change (or notable action) of an item, from the audit log."""

    id: int
    item_id: int
    from_state: str | None
    to_state: str
    actor: str
    at: float
    message: str | None


@dataclass(frozen=True)
class AgentRecord:
    """A registered agent and its last heartbeat."""

    id: str
    entity: str
    queues: list[str]
    hostname: str
    pid: int
    max_jobs: int
    started_at: float
    heartbeat_at: float
    stopped_at: float | None
    gpus: list[str] | None = None
    stop_requested: str | None = None  # 'finish' or 'now' (relaunch agent stop)


@dataclass(frozen=True)
class RenewResult:
    """A lease renewal: item ids still held (renewed), those the agent lost (swept or
    claimed again by another agent), and those that ended under its own claim (their
    pipelines may still be finishing, e.g. reporting to Prefect: not lost)."""

    renewed: list[int]
    lost: list[int]
    ended: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class SweepResult:
    """What one sweep of expired leases did, by item id."""

    requeued: list[int]
    failed: list[int]
    orphaned: list[int]
    cancelled: list[int]
