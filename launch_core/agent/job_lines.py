"""The agent's one line per job start and one per job end, as its log shows them:
``started job 12 (run abc123) from cpu``, ``job 12 finished in 3.4 s``,
``job 12 failed at build: reason``."""

from __future__ import annotations

from launch_core.errors import one_line
from launch_core.pipeline.pipeline import LOST, StageFailed
from launch_core.store import QueueItem
from launch_core.store.states import CANCELLED, FINISHED, QUEUED

# How a job that ended with each state ends its line ("after <time>" follows).
ENDED = {FINISHED: "finished in", CANCELLED: "cancelled after",
         QUEUED: "back in its queue (a retry or a preemption) after",
         LOST: "lost to another agent after"}


def started_line(item: QueueItem, queue: str, *, resume: bool) -> str:
    """``started job 12 (run abc123) from cpu`` (``re-adopted ...`` for a resumed one)."""
    return f"{'re-adopted' if resume else 'started'} job {item.id} (run {item.run_id}) from {queue}"


def ended_line(item_id: int, state: str, seconds: float) -> str:
    """``job 12 finished in 3.4 s``: the job's end state and how long the agent had it."""
    return f"job {item_id} {ENDED.get(state, f'ended {state} after')} {took(seconds)}"


def failed_line(item_id: int, exc: Exception, given_back: str | None) -> str:
    """``job 12 failed at build: reason`` (a stage failed); a launch that failed outside
    the stages says whether the job was given back, and its state now."""
    if given_back is not None:
        return (f"job {item_id} failed to launch: {one_line(exc)}; given back for another "
                f"attempt (now {given_back})")
    if isinstance(exc, StageFailed):  # "stage: reason"
        return f"job {item_id} failed at {str(exc).strip().splitlines()[0]}"
    return f"job {item_id} failed: {one_line(exc)}"


def took(seconds: float) -> str:
    """``3.4 s``, ``12m 05s``, ``1h 02m 05s``."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"
