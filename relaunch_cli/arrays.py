"""``relaunch launch -q Q --array A-B[:STEP]`` and ``--after ID[,ID]``: enqueue the jobs
and say where they are (their group, ids, and what they wait for)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from launch_core import api
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueItem, QueueStore
from relaunch_cli.output import item_json, print_json


def enqueue_group(store: QueueStore, queue: str, request: LaunchRequest,
                  indices: range | None, after: Sequence[int], as_json: bool) -> None:
    """Enqueue one job (``indices`` None) or one per array index, each waiting for
    ``after``; print them."""
    found = api.enqueue_array(store, queue, request, indices, after=after)
    waits = store.dependencies(found[0].id) if after else []
    if indices is None:
        _print_one(store, found[0], queue, waits, as_json)
        return
    if as_json:
        print_json({"group": found[0].group_id, "queue": queue, "after": _deps_json(waits),
                    "items": [{"id": i.id, "run_id": i.run_id, "array_index": i.array_index,
                               "state": i.state} for i in found]})
        return
    typer.echo(f"enqueued {len(found)} jobs (array {_indices(indices)}) in queue {queue}, "
               f"group {found[0].group_id}: jobs {id_ranges([i.id for i in found])}"
               f"{_waiting(found[0], waits)}")


def _print_one(store: QueueStore, item: QueueItem, queue: str,
               waits: list[tuple[int, str]], as_json: bool) -> None:
    position = store.position(item)
    if as_json:
        print_json({**item_json(item, queue, position), "after": _deps_json(waits)})
        return
    where = f" at position {position}" if position is not None else ""
    typer.echo(f"enqueued job {item.id} (run {item.run_id}) in queue {queue}{where}"
               f"{_waiting(item, waits)}")


def _waiting(item: QueueItem, waits: list[tuple[int, str]]) -> str:
    if item.state == "cancelled":
        return f"; cancelled: {item.reason}"
    pending = [(i, s) for i, s in waits if s != "finished"]
    return f"; {waiting_for(pending)}" if pending else ""


def waiting_for(pending: Sequence[tuple[int, str]]) -> str:
    """'waiting for 12 (running), 13 (queued)'."""
    return "waiting for " + ", ".join(f"{i} ({s})" for i, s in pending)


def _deps_json(waits: list[tuple[int, str]]) -> list[dict[str, Any]]:
    return [{"id": i, "state": s} for i, s in waits]


def _indices(indices: range) -> str:
    last = indices[-1]
    if len(indices) == 1:
        return str(last)
    step = f":{indices.step}" if indices.step != 1 else ""
    return f"{indices[0]}-{last}{step}"


def id_ranges(ids: Sequence[int]) -> str:
    """'14-23' for consecutive ids, '14-16, 20' otherwise."""
    parts: list[str] = []
    start = previous = None
    for item_id in sorted(ids):
        if previous is not None and item_id == previous + 1:
            previous = item_id
            continue
        if start is not None:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
        start = previous = item_id
    if start is not None:
        parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ", ".join(parts)
