"""Rendering ``relaunch queue stats``: JSON with stable snake_case keys, and text for a
terminal (docs/cli.md, "relaunch queue stats", says what each figure is)."""

from __future__ import annotations

from typing import Any

import typer

from launch_core.spec.policy import format_duration
from launch_core.store.stats import QueueStats, Spread


def stats_json(stats: QueueStats) -> dict[str, Any]:
    """A queue's figures with the keys docs/cli.md lists (durations in seconds)."""
    oldest = stats.oldest_queued_at
    return {
        "entity": stats.entity, "queue": stats.queue, "now": stats.now,
        "since_seconds": stats.window,
        "queued": sum(stats.queued.values()), "queued_by_priority": stats.queued,
        "oldest_queued_age_seconds": None if oldest is None else max(0.0, stats.now - oldest),
        "running": stats.running,
        "finished": stats.ended["finished"], "failed": stats.ended["failed"],
        "cancelled": stats.ended["cancelled"],
        "wait_seconds": _spread_json(stats.wait), "run_seconds": _spread_json(stats.run),
        "failure_reasons": [{"stage": r.stage, "reason": r.reason, "count": r.count,
                             "example": r.example} for r in stats.failure_reasons],
        "fair_share": stats.fair_share, "running_by": stats.running_by,
    }


def _spread_json(spread: Spread) -> dict[str, Any]:
    return {"count": spread.count, "p50": spread.p50, "p95": spread.p95}


def span(seconds: float | None) -> str:
    """A duration as people read it: ``42.0s``, ``3m 05s``, ``2h 10m``, ``3d 04h``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    whole = int(seconds)
    if whole < 3600:
        return f"{whole // 60}m {whole % 60:02d}s"
    if whole < 86400:
        return f"{whole // 3600}h {whole % 3600 // 60:02d}m"
    return f"{whole // 86400}d {whole % 86400 // 3600:02d}h"


def _spread(spread: Spread, what: str) -> str:
    if not spread.count:
        return f"- (none {what})"
    return f"p50 {span(spread.p50)}, p95 {span(spread.p95)} ({spread.count:,} {what})"


def stats_lines(stats: QueueStats) -> list[str]:
    """The text of one queue's figures, a heading and one line per figure."""
    window = format_duration(stats.window)
    share = f"; fair share by {stats.fair_share}" if stats.fair_share else ""
    lines = [f"queue {stats.entity}/{stats.queue}  (window: the last {window}{share})"]
    by_priority = ", ".join(f"{name} {n:,}" for name, n in stats.queued.items())
    oldest = stats.oldest_queued_at
    age = "" if oldest is None else f"; oldest {span(max(0.0, stats.now - oldest))}"
    rows = [("queued", f"{sum(stats.queued.values()):,} ({by_priority}){age}")]
    running = f"{stats.running:,}"
    if stats.fair_share:
        who = ", ".join(f"{name or '(none)'} {n:,}" for name, n in stats.running_by.items())
        running += f" (by {stats.fair_share}: {who or 'none'})"
    rows += [("running", running),
             *((state, f"{n:,}") for state, n in stats.ended.items()),
             ("wait", _spread(stats.wait, "started")),
             ("run", _spread(stats.run, "ended after running"))]
    lines += [f"  {label:<10} {value}" for label, value in rows]
    if stats.failure_reasons:
        lines.append("  top failure reasons:")
        lines += [f"  {r.count:>10,}  {r.stage or '-'}: {r.reason}"
                  for r in stats.failure_reasons]
    return lines


def print_stats(all_stats: list[QueueStats], entity: str) -> None:
    """Each queue's figures, a blank line between queues."""
    if not all_stats:
        typer.echo(f"no queues in entity {entity!r}")
        return
    typer.echo("\n\n".join("\n".join(stats_lines(stats)) for stats in all_stats))
