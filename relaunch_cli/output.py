"""Rendering CLI output: JSON for machines, rich tables for people."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

from launch_core.pipeline.workspace import redact_url
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueItem, QueueRecord


def print_json(data: Any) -> None:
    """Write ``data`` as indented JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def item_json(item: QueueItem, queue: str | None = None, position: int | None = None
              ) -> dict[str, Any]:
    """A JSON-ready view of a queue item."""
    return {
        "id": item.id, "run_id": item.run_id, "queue": queue, "state": item.state,
        "priority": item.priority_name, "position": position, "stage": item.stage,
        "reason": item.reason, "exit_code": item.exit_code, "attempts": item.attempts,
        "resume_count": item.resume_count, "cancel_requested": item.cancel_requested,
        "agent_id": item.agent_id, "handle": item.handle, "submitter": item.submitter,
        "project": item.project or None, "gpus": item.gpus, "devices": item.devices,
        "retries": item.retries, "group": item.group_id, "array_index": item.array_index,
        "held": item.held, "enqueued_at": item.enqueued_at,
        "started_at": item.started_at, "finished_at": item.finished_at,
        "spec": spec_json(item.spec),
    }


def spec_json(spec: LaunchSpec) -> dict[str, Any]:
    """A JSON-ready view of a launch spec; credentials in its git URL hidden."""
    data = spec.model_dump(mode="json", exclude_none=True)
    if "uri" in data:
        data["uri"] = redact_url(data["uri"])
    return data


def queue_json(queue: QueueRecord, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """A JSON-ready view of a queue definition (and its item counts)."""
    data = queue.definition.model_dump(mode="json")
    if counts is not None:
        data["counts"] = counts
    return data


def ago(timestamp: float | None) -> str:
    """'12s ago' style age of a timestamp ('-' when unset)."""
    if timestamp is None:
        return "-"
    seconds = max(0.0, time.time() - timestamp)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


def duration(item: QueueItem) -> str:
    """Run duration of an item, or '-' when it has not started."""
    if item.started_at is None:
        return "-"
    end = item.finished_at or time.time()
    return f"{end - item.started_at:.1f}s"


def table(title: str | None, columns: list[str], rows: list[list[Any]],
          whole: tuple[str, ...] = ()) -> None:
    """Print a rich table to stdout; the ``whole`` columns (ids to copy) are never
    shortened to fit the terminal."""
    from rich.console import Console
    from rich.table import Table

    cells = [["-" if cell is None else str(cell) for cell in row] for row in rows]
    out = Table(title=title, show_lines=False)
    for index, column in enumerate(columns):
        width = max([len(column), *(len(row[index]) for row in cells)])
        out.add_column(column, no_wrap=column in whole,
                       min_width=width if column in whole else None)
    for row in cells:
        out.add_row(*row)
    Console().print(out)
