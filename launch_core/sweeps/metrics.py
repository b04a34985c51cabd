"""A trial's metric, read from what its run left: the JSON-object lines of its output
(``{"loss": 0.12}``), and the run directory of a stock ``wandb`` client
(wandb_run.py), where the run's files are readable.

A metric named ``val.loss`` is the key ``val.loss``, or ``loss`` inside ``val``. Only
finite numbers count (not booleans, strings, NaN or infinities), as W&B's sweeps
count them. A series is ``(count, value)``: the value's rank among the metric's
reports (1, 2, 3...), the step Hyperband counts (pruning.py)."""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from launch_core.sweeps import wandb_run

MAX_LINE = 1024 * 1024  # longer output lines are not read as JSON


def lookup(row: Mapping[str, Any], name: str) -> float | None:
    """The finite number at ``name`` in ``row``, or None."""
    value: Any = row.get(name)
    if value is None:
        parts = name.split(".")
        for split in range(len(parts) - 1, 0, -1):
            node: Any = row.get(".".join(parts[:split]))
            for part in parts[split:]:
                node = node.get(part) if isinstance(node, Mapping) else None
            if node is not None:
                value = node
                break
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:  # float() of a huge int raises OverflowError
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def json_rows(lines: Iterable[str]) -> Iterable[dict[str, Any]]:
    """The JSON objects among ``lines``, one a line; other lines are skipped."""
    for line in lines:
        text = line.strip()
        if not text.startswith("{") or len(text) > MAX_LINE:
            continue
        try:
            row = json.loads(text)
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict):
            yield row


def series(rows: Iterable[Mapping[str, Any]], name: str) -> list[tuple[int, float]]:
    """The metric's reports among ``rows``, numbered from 1."""
    values = [value for row in rows if (value := lookup(row, name)) is not None]
    return list(enumerate(values, start=1))


def output_series(lines: Iterable[str], name: str) -> list[tuple[int, float]]:
    """The metric's reports in a run's output lines."""
    return series(json_rows(lines), name)


def output_value(lines: Iterable[str], name: str) -> float | None:
    """The metric's last value in a run's output lines, or None."""
    found = output_series(lines, name)
    return found[-1][1] if found else None


def wandb_series(run_dir: Path, name: str) -> list[tuple[int, float]]:
    """The metric's reports in a wandb run's history (each ``wandb.log`` holding it)."""
    return series(wandb_run.history(run_dir), name)


def wandb_value(run_dir: Path, name: str) -> float | None:
    """The metric in a wandb run's summary (by default its last logged value)."""
    return lookup(wandb_run.summary(run_dir), name)
