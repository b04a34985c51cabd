"""A queue's scheduling policy: caps, fair share, retries and time bounds.

The admin sets it with ``relaunch queue create/update`` (``--max-running``,
``--fair-share``, ``--retry``, ``--retry-on``, ``--retry-raise``, ``--max-runtime``,
``--max-pending``, ``--fallback-queue``); it is stored in the queue's definition.
The claim applies the cap and the fair share (launch_core.store.scheduled_claim);
retries and time bounds are applied when a run fails or waits too long.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

FAIR_SHARES = ("none", "user", "project")
# The failure classes --retry-on takes; ``exit:CODE`` names one exit code.
RETRY_CLASSES = ("infra", "preempted", "oom")
_EXIT_CLASS = re.compile(r"^exit:(-?\d{1,3})$")
MAX_DURATION = 366 * 86400.0  # a bound longer than a year is a typo
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``text``: a number of seconds or ``<n>ms|s|m|h|d`` (``"2h"``,
    ``"30m"``, ``"90"``). Raises ValueError naming the text."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not a duration")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a duration (say 90s, 30m, 2h or 1d)")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2) or "s"]
    if seconds <= 0:
        raise ValueError(f"{text!r}: a duration must be more than zero")
    if seconds > MAX_DURATION:
        raise ValueError(f"{text!r}: a duration must be at most 366d")
    return seconds


def format_duration(seconds: float) -> str:
    """``seconds`` the way a user would write it: ``2h``, ``30m``, ``90s``."""
    for unit in ("d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def check_retry_class(name: str) -> str:
    """``name`` if ``--retry-on`` takes it (infra, preempted, oom, exit:CODE)."""
    code = _EXIT_CLASS.match(name)
    if code is not None and not -255 <= int(code.group(1)) <= 255:
        raise ValueError(f"{name!r}: an exit code is between -255 and 255")
    if name in RETRY_CLASSES or code is not None:
        return name
    raise ValueError(f"{name!r} is not a failure class (infra, preempted, oom or exit:CODE)")


class QueuePolicy(BaseModel):
    """How a queue shares its compute. Every field is optional: the default policy
    is W&B's (priority, then age; no cap, no retry, no time bound)."""

    model_config = ConfigDict(extra="forbid")

    # At most this many items of the queue claimed or running at once, over all agents.
    max_running: int | None = Field(default=None, ge=1, le=1_000_000)
    # Within one priority, the oldest item of the user (project) with the fewest running.
    fair_share: Literal["none", "user", "project"] = "none"
    # A failed run of a class in retry_on is tried again, at most ``retry`` times.
    retry: int = Field(default=0, ge=0, le=100)
    retry_on: list[str] = Field(default_factory=list)
    # Template variables a retry raises to their next allowed value (OOM: memory).
    retry_raise: list[str] = Field(default_factory=list)
    max_runtime: float | None = None  # seconds; a longer run is cancelled and fails
    max_pending: float | None = None  # seconds; a longer wait fails or falls back
    fallback_queue: str | None = Field(default=None, max_length=64)

    @field_validator("retry_on")
    @classmethod
    def _check_classes(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(check_retry_class(name) for name in value))

    @field_validator("max_runtime", "max_pending", mode="before")
    @classmethod
    def _seconds(cls, value: object) -> float | None:
        if value is None:
            return None
        if not isinstance(value, str | int | float):
            raise ValueError(f"{value!r} is not a duration")
        return parse_duration(value)

    @model_validator(mode="after")
    def _check_together(self) -> QueuePolicy:
        if self.retry_on and not self.retry:
            raise ValueError("retry_on needs retry (how many times to try again)")
        if self.retry and not self.retry_on:
            raise ValueError("retry needs retry_on (which failures to try again)")
        if self.fallback_queue is not None and self.max_pending is None:
            raise ValueError("fallback_queue needs max_pending (how long to wait first)")
        return self

    @property
    def schedules_claims(self) -> bool:
        """Whether claiming from this queue needs the scheduled claim (a cap or fair
        share), not the plain priority-then-age one."""
        return self.max_running is not None or self.fair_share != "none"

    def is_default(self) -> bool:
        return self == QueuePolicy()
