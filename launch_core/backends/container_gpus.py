"""``docker run --gpus`` for the ``local-container`` resource: the option's forms,
what a run counts for quotas (``demand``) and the Docker device request it gets.

Forms: a count ``n`` (``-1``: all), ``"all"``, ``"count=n"``, ``"count=all"``,
``"device=ID[,ID...]"`` (optionally in double quotes, as a shell passes it to docker).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_COUNT = re.compile(r"(?:count=)?([0-9]+)")
_ALL = re.compile(r"(?:count=)?all")
_DEVICES = re.compile(r"device=([A-Za-z0-9_:.-]+(?:,[A-Za-z0-9_:.-]+)*)")


@dataclass(frozen=True)
class GpuAsk:
    """What a ``gpus`` option asks for: ``count`` GPUs (None: all of them), or the
    devices ``device_ids`` names."""

    count: int | None
    device_ids: tuple[str, ...] | None = None

    @property
    def quota_count(self) -> int:
        """What one run counts: ``all`` counts 1, since how many GPUs the agent's host
        has is not known at enqueue (an agent that shares out GPUs refuses it)."""
        if self.device_ids is not None:
            return len(self.device_ids)
        return 1 if self.count is None else self.count


def parse_gpus(value: int | str | None) -> GpuAsk | None:
    """``value`` as a GpuAsk; None when no GPU is asked for (no option). Raises
    ValueError naming the forms allowed."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError("expected a count, 'all' or 'device=ID[,ID...]', not a boolean")
    if isinstance(value, int):
        if value < -1:
            raise ValueError(f"{value} is not a count (-1 means all)")
        return GpuAsk(None if value == -1 else value)
    text = value.strip()
    if len(text) > 1 and text[0] == text[-1] == '"':
        text = text[1:-1].strip()
    if _ALL.fullmatch(text):
        return GpuAsk(None)
    if match := _COUNT.fullmatch(text):
        return GpuAsk(int(match.group(1)))
    if match := _DEVICES.fullmatch(text):
        return GpuAsk(None, tuple(match.group(1).split(",")))
    raise ValueError(f"{value[:40]!r} is not a count, 'all', 'count=N' or "
                     "'device=ID[,ID...]' (docker run --gpus)")


def quota_gpus(value: Any) -> int:
    """What a run with this ``gpus`` option counts; 0 when it is not understood."""
    try:
        ask = parse_gpus(value)
    except (TypeError, ValueError):
        return 0
    return 0 if ask is None else ask.quota_count


def device_request(value: int | str | None, assigned: tuple[str, ...] | None
                   ) -> dict[str, Any] | None:
    """The keyword arguments of the run's ``docker.types.DeviceRequest``, or None for
    no GPU. ``assigned``: the devices the agent gave the run (its ``--gpus`` slots),
    which replace what the option asks for; an option asking for all of them is
    refused then (ValueError), as a count is what the agent shares out."""
    ask = parse_gpus(value)
    if assigned is not None:
        if ask is not None and ask.count is None and ask.device_ids is None:
            raise ValueError("'all' cannot run on an agent that shares out its GPUs "
                             "(relaunch launch-agent --gpus): ask for a count")
        return {"device_ids": list(assigned), "capabilities": [["gpu"]]} if assigned \
            else None
    if ask is None:
        return None
    if ask.device_ids is not None:
        return {"device_ids": list(ask.device_ids), "capabilities": [["gpu"]]}
    return {"count": -1 if ask.count is None else ask.count, "capabilities": [["gpu"]]}
