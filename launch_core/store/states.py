"""The queue item lifecycle: states and the transitions allowed between them."""

from __future__ import annotations

from launch_core.errors import IllegalTransition

QUEUED, CLAIMED, BUILDING, SUBMITTED, RUNNING = (
    "queued", "claimed", "building", "submitted", "running")
FINISHED, FAILED, CANCELLED = "finished", "failed", "cancelled"

UNSUBMITTED = (CLAIMED, BUILDING)
LAUNCHED = (SUBMITTED, RUNNING)
ACTIVE = UNSUBMITTED + LAUNCHED
TERMINAL = (FINISHED, FAILED, CANCELLED)
STAGES = ("agent", "build", "run")

# Going back to queued is a lease expiry or release (before submission), a
# preemption or a retry (after it); each is recorded in the events table with a
# message. Queued to failed: a job that waited past its queue's max_pending, or whose
# stored spec does not parse.
TRANSITIONS: dict[str, frozenset[str]] = {
    QUEUED: frozenset({CLAIMED, CANCELLED, FAILED}),
    CLAIMED: frozenset({BUILDING, SUBMITTED, QUEUED, FAILED, CANCELLED}),
    BUILDING: frozenset({SUBMITTED, QUEUED, FAILED, CANCELLED}),
    SUBMITTED: frozenset({RUNNING, FINISHED, FAILED, CANCELLED, QUEUED}),
    RUNNING: frozenset({FINISHED, FAILED, CANCELLED, QUEUED}),
    FINISHED: frozenset(),
    FAILED: frozenset(),
    CANCELLED: frozenset(),
}


def check_transition(item_id: int, current: str, target: str) -> None:
    """Raise IllegalTransition unless ``current -> target`` is allowed."""
    if target not in TRANSITIONS.get(current, frozenset()):
        raise IllegalTransition(item_id, current, target)
