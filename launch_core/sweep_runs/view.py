"""What ``relaunch sweep show`` (and the scheduler's Prefect table) says of a sweep:
its trials with their parameters, state and metric, the best one first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from launch_core.store.sweeps import SweepRecord, TrialRow


def _goal(sweep: SweepRecord) -> str:
    metric = sweep.config.get("metric")
    goal = metric.get("goal", "minimize") if isinstance(metric, dict) else "minimize"
    return "maximize" if goal == "maximize" else "minimize"


def metric_name(sweep: SweepRecord) -> str | None:
    metric = sweep.config.get("metric")
    return str(metric["name"]) if isinstance(metric, dict) and "name" in metric else None


def ranked(sweep: SweepRecord, trials: Sequence[TrialRow]) -> list[TrialRow]:
    """The trials best first: those with a metric by the goal, then the others by
    number."""
    sign = -1.0 if _goal(sweep) == "maximize" else 1.0
    scored = sorted((t for t in trials if t.metric is not None),
                    key=lambda t: (sign * float(t.metric or 0.0), t.number))
    return scored + [t for t in trials if t.metric is None]


def trial_json(trial: TrialRow) -> dict[str, Any]:
    return {"number": trial.number, "params": trial.params, "metric": trial.metric,
            "state": trial.state, "job": trial.item_id}


def sweep_json(sweep: SweepRecord, trials: Sequence[TrialRow], queue: str) -> dict[str, Any]:
    """``sweep show --json``: the sweep, ``trials`` best first and ``best`` (the best
    trial, or None)."""
    order = ranked(sweep, trials)
    best = order[0] if order and order[0].metric is not None else None
    return {"id": sweep.id, "entity": sweep.entity, "project": sweep.project,
            "queue": queue, "state": sweep.state, "method": sweep.config.get("method"),
            "metric": metric_name(sweep), "goal": _goal(sweep),
            "scheduler_job": sweep.scheduler_item, "created_at": sweep.created_at,
            "updated_at": sweep.updated_at, "trials": [trial_json(t) for t in order],
            "best": None if best is None else trial_json(best)}


def trial_rows(sweep: SweepRecord, trials: Sequence[TrialRow]) -> list[dict[str, Any]]:
    """One flat row per trial, best first (a table: the Prefect artifact, the CLI)."""
    name = metric_name(sweep) or "metric"
    return [{"trial": t.number, "job": t.item_id, "state": t.state,
             name: t.metric, **{f"{key}": _text(value) for key, value in t.params.items()}}
            for t in ranked(sweep, trials)]


def _text(value: Any) -> Any:
    return value if isinstance(value, (int, float, str, bool)) or value is None else str(value)
