"""``relaunch launch-sweep`` and ``relaunch sweep list|show|stop|resume``: sweeps on
Launch (launch_core/sweep_runs/). An agent polling the queue runs each sweep's
scheduler, which launches the trials into the same queue."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING

import typer

from launch_core import api
from launch_core.errors import InvalidInput, NotFound
from launch_core.store import QueueStore
from launch_core.store.sweeps import SweepRecord
from launch_core.sweep_runs.view import metric_name, ranked, sweep_json
from relaunch_cli.common import EntityOption, JsonOption
from relaunch_cli.output import ago, print_json, table

if TYPE_CHECKING:  # the sweep's start imports Optuna (about 1 s): only when a command runs
    from launch_core.sweep_runs.start import StartedSweep

app = typer.Typer(help="Sweeps on Launch: list, show, stop, resume.", no_args_is_help=True)


def launch_sweep(
    config: str | None = typer.Argument(None, metavar="SWEEP.yaml",
                                        help="W&B sweep config (YAML or JSON file)."),
    queue: str | None = typer.Option(None, "-q", "--queue", help="Queue of the scheduler "
                                     "and the trials (default: the config's launch.queue)."),
    entity: str | None = EntityOption,
    project: str | None = typer.Option(None, "-p", "--project",
                                       help="Project of the trials' runs."),
    resume: str | None = typer.Option(None, "--resume", metavar="ID",
                                      help="Resume stopped sweep ID (no SWEEP.yaml)."),
    as_json: bool = JsonOption,
) -> None:
    """Start a sweep: store it and queue its scheduler, which an agent runs."""
    from launch_core.sweep_runs.start import launch_sweep as start_sweep
    from launch_core.sweep_runs.start import resume_sweep

    store = api.open_store()
    if resume is not None:
        if config is not None:
            raise InvalidInput("--resume: resumes a sweep with its stored config; give "
                               "SWEEP.yaml or --resume, not both")
        _started(store, resume_sweep(store, resume, entity=entity), as_json, "resumed")
        return
    if config is None:
        raise InvalidInput("SWEEP.yaml: give the sweep config (or --resume ID)")
    started = start_sweep(store, config, queue=queue, entity=entity, project=project)
    for warning in started.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    _started(store, started, as_json, "created")


def _started(store: QueueStore, started: StartedSweep, as_json: bool, what: str) -> None:
    sweep, item = started.sweep, started.scheduler
    queue = store.get_queue_by_id(sweep.queue_id).name
    if as_json:
        print_json({"id": sweep.id, "state": sweep.state, "entity": sweep.entity,
                    "queue": queue, "project": sweep.project, "scheduler_job": item.id})
        return
    typer.echo(f"sweep {sweep.id} {what}: its scheduler is job {item.id}, queued in "
               f"{sweep.entity}/{queue}; an agent polling {queue} runs it")
    typer.echo(f"  relaunch sweep show {sweep.id}")


@app.command("list")
def list_sweeps(entity: str | None = EntityOption, as_json: bool = JsonOption) -> None:
    """The entity's sweeps, newest first."""
    store = api.open_store()
    sweeps = store.list_sweeps(entity or api.default_entity())
    if as_json:
        print_json([_summary(store, sweep) for sweep in sweeps])
        return
    rows = []
    for sweep in sweeps:
        summary = _summary(store, sweep)
        best = summary["best"]
        rows.append([sweep.id, sweep.state, summary["queue"], summary["method"],
                     summary["trials"], "-" if best is None else f"{best:g}",
                     ago(sweep.created_at)])
    table(None, ["sweep", "state", "queue", "method", "trials", "best", "created"], rows,
          whole=("sweep",))


def _summary(store: QueueStore, sweep: SweepRecord) -> dict[str, object]:
    trials = store.sweep_trials(sweep.id)
    order = ranked(sweep, trials)
    best = order[0].metric if order else None
    return {"id": sweep.id, "state": sweep.state,
            "queue": store.get_queue_by_id(sweep.queue_id).name,
            "method": sweep.config.get("method"), "metric": metric_name(sweep),
            "trials": len(trials), "best": best, "created_at": sweep.created_at}


@app.command("show")
def show(sweep_id: str = typer.Argument(..., metavar="ID"), entity: str | None = EntityOption,
         as_json: bool = JsonOption) -> None:
    """A sweep and its trials (parameters, state, metric), the best first."""
    store = api.open_store()
    sweep = store.get_sweep(entity or api.default_entity(), sweep_id)
    trials = store.sweep_trials(sweep.id)
    data = sweep_json(sweep, trials, store.get_queue_by_id(sweep.queue_id).name)
    if as_json:
        print_json(data)
        return
    typer.echo(f"sweep {sweep.id} ({data['method']}) in {sweep.entity}/{data['queue']}: "
               f"{sweep.state}, scheduler job {sweep.scheduler_item}")
    name = data["metric"] or "metric"
    if data["best"] is not None:
        typer.echo(f"  best: trial {data['best']['number']}, {name} "
                   f"{data['best']['metric']:g}")
    table(None, ["trial", "job", "state", str(name), "parameters"],
          [[t["number"], t["job"], t["state"], "-" if t["metric"] is None else
            f"{t['metric']:g}", json.dumps(t["params"], separators=(",", ":"))]
           for t in data["trials"]], whole=("trial", "job"))


@app.command("stop")
def stop(sweep_id: str = typer.Argument(..., metavar="ID"), entity: str | None = EntityOption,
         cancel: bool = typer.Option(False, "--cancel", help="Also cancel its queued and "
                                     "running trials (W&B's sweep --cancel).")) -> None:
    """Stop a sweep: no new trials; its running trials finish (W&B's sweep --stop)."""
    store = api.open_store()
    entity = entity or api.default_entity()
    sweep = store.stop_sweep(entity, sweep_id)
    typer.echo(f"sweep {sweep.id} stopped: no new trials; `relaunch sweep resume "
               f"{sweep.id}` goes on")
    if cancel:
        try:
            done = store.cancel_group(entity, sweep.id)
        except NotFound:  # no trial launched yet
            return
        typer.echo(f"cancelled {len(done.cancelled)} queued trial(s); cancel requested "
                   f"for {len(done.requested)} running")


@app.command("resume")
def resume(sweep_id: str = typer.Argument(..., metavar="ID"), entity: str | None = EntityOption,
           as_json: bool = JsonOption) -> None:
    """Resume a stopped sweep: its scheduler is queued again and goes on from the
    recorded trials."""
    from launch_core.sweep_runs.start import resume_sweep

    store = api.open_store()
    _started(store, resume_sweep(store, sweep_id, entity=entity), as_json, "resumed")
