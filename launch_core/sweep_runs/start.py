"""``relaunch launch-sweep`` and ``sweep resume``: a sweep stored with the item that
runs its scheduler, enqueued into the sweep's queue for an agent to run.

Before anything is written, a first trial is built and checked against the queue
(and the job's inputs), so a sweep whose trials could never launch is refused with
the reason (exit 2)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from launch_core.api import default_entity
from launch_core.errors import InvalidInput
from launch_core.spec.models import SCHEDULER_URI, LaunchSpec
from launch_core.store import QueueItem, QueueStore
from launch_core.store.groups import new_group_id
from launch_core.store.sweeps import SweepRecord
from launch_core.sweep_runs.trials import prepare_trial, trial_request
from launch_core.sweeps.config import SweepConfig, load_sweep_config, parse_sweep_config
from launch_core.sweeps.sampler import SweepStudy


@dataclass(frozen=True)
class StartedSweep:
    """A sweep and its scheduler item (queued); ``warnings`` one line each."""

    sweep: SweepRecord
    scheduler: QueueItem
    warnings: tuple[str, ...] = ()


def scheduler_spec(sweep_id: str, project: str) -> LaunchSpec:
    """The spec of a scheduler item: W&B's scheduler mark and the sweep's id."""
    return LaunchSpec(uri=SCHEDULER_URI, sweep_id=sweep_id, project=project or None,
                      name=f"sweep-{sweep_id}")


def launch_sweep(store: QueueStore, source: str, *, queue: str | None = None,
                 entity: str | None = None, project: str | None = None) -> StartedSweep:
    """Store the sweep ``source`` (a SWEEP.yaml path, or inline) describes and enqueue
    its scheduler into ``queue`` (else the config's ``launch.queue``). ``entity`` and
    ``project`` win over the config's. Raises InvalidInput / NotFound naming the
    flag or key, with nothing written."""
    from launch_core.spec.inputs import load_mapping

    config = load_sweep_config(source, "SWEEP")
    data = load_mapping(source, "SWEEP")
    queue_name = queue or _text(config.launch.get("queue"))
    if not queue_name:
        raise InvalidInput("-q/--queue: name the queue the trials go to (or launch.queue "
                           "in the sweep config)")
    entity = entity or config.entity or default_entity()
    project = project or config.project or _text(config.launch.get("project")) or ""
    sweep_id = new_group_id()
    _check_first_trial(store, config, queue_name, sweep_id, entity, project)
    target = store.get_queue(entity, queue_name)
    sweep, item = store.create_sweep(target, sweep_id, data, scheduler_spec(sweep_id, project),
                                     project=project, seed=secrets.randbelow(2**31))
    return StartedSweep(sweep, item, config.warnings)


def resume_sweep(store: QueueStore, sweep_id: str, *, entity: str | None = None
                 ) -> StartedSweep:
    """Enqueue a stopped sweep's scheduler again; it goes on from the recorded trials.
    Raises NotFound, Conflict (not stopped, or its last scheduler still runs)."""
    entity = entity or default_entity()
    found = store.get_sweep(entity, sweep_id)
    sweep, item = store.resume_sweep(entity, sweep_id, scheduler_spec(sweep_id, found.project))
    return StartedSweep(sweep, item)


def sweep_config(sweep: SweepRecord) -> SweepConfig:
    return parse_sweep_config(sweep.config, f"sweep {sweep.id}")


def _check_first_trial(store: QueueStore, config: SweepConfig, queue: str, sweep_id: str,
                       entity: str, project: str) -> None:
    """Build the first trial and check it against the queue (nothing written)."""
    suggestion = SweepStudy(config, seed=0).ask()
    if suggestion is None:
        raise InvalidInput("SWEEP: parameters: the sweep has no trial to run")
    request = trial_request(config, sweep_id, entity, project, suggestion.config)
    try:
        prepare_trial(store, queue, request)
    except InvalidInput as exc:
        reason = str(exc).replace("-j/--job: ", "", 1)  # the config's job, not a flag
        raise InvalidInput(f"SWEEP: job: a trial cannot be launched: {reason}") from None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
