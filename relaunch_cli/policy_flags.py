"""The scheduling-policy flags of ``relaunch queue create|update``."""

from __future__ import annotations

import re
from typing import Any

import typer
from pydantic import ValidationError

from launch_core.errors import InvalidInput
from launch_core.spec.policy import QueuePolicy, format_duration

# Each policy field and the flag that sets it (errors name the flag).
FLAGS = {"max_running": "--max-running", "fair_share": "--fair-share", "retry": "--retry",
         "retry_on": "--retry-on", "retry_raise": "--retry-raise",
         "max_runtime": "--max-runtime", "max_pending": "--max-pending",
         "fallback_queue": "--fallback-queue"}
# Fields ``queue update`` clears with the value ``none``.
CLEARABLE = ("max_running", "max_runtime", "max_pending", "fallback_queue")

MaxRunningOption = typer.Option(
    None, "--max-running", help="At most N jobs of the queue claimed or running at once, "
    "over all agents ('none': no cap).")
FairShareOption = typer.Option(
    None, "--fair-share", help="user, project or none (default): within one priority, the "
    "next job is the oldest of the user (project) with the fewest running.")
RetryOption = typer.Option(None, "--retry", help="Try a failed run again at most N times "
                           "(with --retry-on).")
RetryOnOption = typer.Option(
    None, "--retry-on", help="A failure class to retry: infra, preempted, oom or exit:CODE "
    "(repeatable, or comma-separated).")
RetryRaiseOption = typer.Option(
    None, "--retry-raise", help="A template variable a retry after OOM raises to its next "
    "allowed value (repeatable).")
MaxRuntimeOption = typer.Option(None, "--max-runtime", help="Cancel and fail a run after "
                                "this long, e.g. 2h ('none': no bound).")
MaxPendingOption = typer.Option(
    None, "--max-pending", help="Fail a job queued this long, e.g. 30m, or move it to "
    "--fallback-queue ('none': no bound).")
FallbackOption = typer.Option(None, "--fallback-queue", help="Queue (same entity) that "
                              "takes jobs past --max-pending ('none': fail them).")


def policy_flags(current: QueuePolicy | None = None, **given: Any) -> dict[str, Any] | None:
    """The queue policy after ``given`` flags (None: unset) change ``current``, as a
    mapping for the queue definition; None when no flag was given.

    Raises InvalidInput naming the flag."""
    changes = {field: value for field, value in given.items() if value is not None}
    if not changes:
        return None
    for field in CLEARABLE:
        if isinstance(changes.get(field), str) and changes[field].lower() in ("none", ""):
            changes[field] = None
    if isinstance(changes.get("max_running"), str):
        changes["max_running"] = _integer(changes["max_running"], "--max-running")
    for field in ("retry_on", "retry_raise"):
        if field in changes:
            changes[field] = [part.strip() for value in changes[field]
                              for part in value.split(",") if part.strip()]
    merged = {**(current or QueuePolicy()).model_dump(), **changes}
    if changes.get("retry") == 0 and "retry_on" not in changes:
        merged["retry_on"] = []  # --retry 0 turns retries off
    try:
        policy = QueuePolicy.model_validate(merged)
    except ValidationError as exc:
        raise InvalidInput(_flag_error(exc)) from None
    return policy.model_dump(mode="json")


def name_flags(message: str) -> str:
    """``message`` with the queue definition's ``policy.<field>`` said as its flag."""
    return re.sub(r"^queue (create|update): policy\.(\w+)",
                  lambda m: FLAGS.get(m.group(2), m.group(0)), message)


def _integer(text: str, flag: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{flag}: expected a number or 'none', not {text!r}") from None


def _flag_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    message = first["msg"].removeprefix("Value error, ").splitlines()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    # A rule over two fields names both flags.
    message = re.sub(r"\b(" + "|".join(sorted(FLAGS, key=len, reverse=True)) + r")\b",
                     lambda match: FLAGS[match.group(1)], message)
    return f"{FLAGS[field]}: {message}" if field in FLAGS else message


def describe_policy(policy: QueuePolicy) -> list[str]:
    """The policy's settings that differ from the default, one line each."""
    lines = []
    if policy.max_running is not None:
        lines.append(f"max-running {policy.max_running}")
    if policy.fair_share != "none":
        lines.append(f"fair share by {policy.fair_share}")
    if policy.retry:
        raise_ = f", raising {', '.join(policy.retry_raise)}" if policy.retry_raise else ""
        lines.append(f"retry {policy.retry} time(s) on {', '.join(policy.retry_on)}{raise_}")
    if policy.max_runtime is not None:
        lines.append(f"max runtime {format_duration(policy.max_runtime)}")
    if policy.max_pending is not None:
        then = (f", then to queue {policy.fallback_queue}" if policy.fallback_queue
                else ", then failed")
        lines.append(f"max pending {format_duration(policy.max_pending)}{then}")
    return lines
