"""A sweep's scheduler: the loop an agent runs for a claimed scheduler item (its spec
``is_scheduler``), instead of the job pipeline. No Prefect here (flows/sweep_scheduler.py
runs it as a flow).

Each round it reads the sweep and its item (``sweep stop`` or a cancel ends it),
tells the study the metric of each trial that ended (read from its output, as
``relaunch job logs`` reads it: the last ``{"<metric>": value}`` line; without one,
from the summary of a local process's stock ``wandb`` run, wandb_files.py), stops a trial
that Hyperband prunes, and launches trials until ``scheduler.num_workers`` are
queued or running. It ends the item ``finished`` once ``run_cap`` trials, the whole
grid or ``metric.target`` is reached and no trial runs any more.

All it knows is in the store: a trial is recorded in the transaction that enqueues it
(``QueueStore.launch_trial``, fenced by the scheduler's claim), so a scheduler
re-adopted or resumed builds the study again from the recorded trials and never
launches one twice."""

from __future__ import annotations

import threading
from collections.abc import Callable

from launch_core.api import launch_gpus
from launch_core.backends.resource import get_resource
from launch_core.errors import Conflict, LaunchError, LostClaim, one_line
from launch_core.store import Claim, QueueItem, QueueStore
from launch_core.store.states import (
    CANCELLED,
    CLAIMED,
    FAILED,
    FINISHED,
    RUNNING,
    SUBMITTED,
    TERMINAL,
)
from launch_core.store.sweeps import RUNNING as SWEEP_RUNNING
from launch_core.store.sweeps import STOPPED, SweepRecord, TrialRow
from launch_core.sweep_runs.trials import prepare_trial, trial_request
from launch_core.sweep_runs.wandb_files import local_wandb_run
from launch_core.sweeps.config import SweepConfig, parse_sweep_config
from launch_core.sweeps.metrics import output_series, wandb_series, wandb_value
from launch_core.sweeps.sampler import SweepStudy, TrialRecord

POLL_SECONDS = 2.0
LOST = "lost"  # the scheduler's claim went to another agent: it stops, ends nothing
RELEASED = "released"  # the agent is stopping: the item stays for another agent
OnTrials = Callable[[SweepRecord, list[TrialRow]], None]


class SweepScheduler:
    """Runs the scheduler of the sweep ``item`` names, holding it as ``actor``."""

    def __init__(self, store: QueueStore, item: QueueItem, actor: str,
                 log: Callable[[str], None], *, poll_seconds: float = POLL_SECONDS,
                 stop: threading.Event | None = None, on_trials: OnTrials | None = None
                 ) -> None:
        self.store, self.item, self.log = store, item, log
        self.claim = Claim(actor, item.claim_token)
        self.poll_seconds = poll_seconds
        self.stop = stop or threading.Event()
        self.on_trials = on_trials
        self.queue = store.get_queue_by_id(item.queue_id)
        self.sweep_id = str(item.spec.sweep_id)
        self._items: dict[int, int] = {}  # trial number -> item id
        self._output: dict[int, tuple[int, str]] = {}  # trial number -> (offset, text)

    def run(self) -> str:
        """Run until the sweep ends; returns the item's end state (``finished``,
        ``cancelled`` on a stop or cancel, ``failed`` when a trial cannot be
        launched), or LOST / RELEASED when it ended nothing."""
        try:
            self._start()
            sweep = self.store.get_sweep(self.queue.entity, self.sweep_id)
            config = parse_sweep_config(sweep.config, f"sweep {sweep.id}")
            study = self._study(sweep, config)
            while not self.stop.is_set():
                ended = self._round(study, config)
                if ended is not None:
                    return ended
                self.stop.wait(self.poll_seconds)
            return RELEASED
        except LostClaim:
            self.log(f"sweep {self.sweep_id}: another agent holds the scheduler now")
            return LOST
        except LaunchError as exc:
            return self._fail(one_line(exc))

    # -- the loop -----------------------------------------------------------------

    def _start(self) -> None:
        """claimed -> submitted -> running: a running item is re-adopted (not run
        again from scratch) when its agent dies."""
        item = self.item
        if item.state == CLAIMED:
            item = self.store.transition(item.id, SUBMITTED, actor=self.claim.agent_id,
                                         claim=self.claim, message="sweep scheduler")
        if item.state == SUBMITTED:
            item = self.store.transition(item.id, RUNNING, actor=self.claim.agent_id,
                                         claim=self.claim)
        self.item = item

    def _study(self, sweep: SweepRecord, config: SweepConfig) -> SweepStudy:
        rows = self.store.sweep_trials(sweep.id)
        self._items = {row.number: row.item_id for row in rows if row.item_id is not None}
        records = [TrialRecord.from_json(row.record) for row in rows]
        if records:
            self.log(f"sweep {sweep.id}: resuming from {len(records)} recorded trials")
        return SweepStudy(config, seed=sweep.seed, name=sweep.id, trials=records)

    def _round(self, study: SweepStudy, config: SweepConfig) -> str | None:
        item = self.store.get_item(self.item.id)
        sweep = self.store.get_sweep(self.queue.entity, self.sweep_id)
        if item.agent_id != self.claim.agent_id or item.claim_token != self.claim.token:
            raise LostClaim(item.id, self.claim.agent_id, self.claim.token)
        if item.cancel_requested or sweep.state != SWEEP_RUNNING:
            if sweep.state == SWEEP_RUNNING:
                self._set_sweep(STOPPED)
            self._show(sweep)
            return self._end(CANCELLED, f"sweep {sweep.id} stopped")
        self._watch(study, config)
        self._fill(study, config, sweep)
        self._show(sweep)
        left = not (study.exhausted or study.target_reached())
        if left or study.running:
            return None
        self._set_sweep("finished")
        best = study.best()
        self._show(self.store.get_sweep(self.queue.entity, self.sweep_id))
        return self._end(FINISHED, f"sweep {sweep.id} finished"
                         + (f"; best trial {best[0]}: {best[1]:g}" if best else ""))

    def _watch(self, study: SweepStudy, config: SweepConfig) -> None:
        """Tell the study of each trial that ended; prune those Hyperband stops."""
        metric = config.metric
        for number in study.running:
            trial = self.store.get_item(self._items[number])
            ended = trial.state in TERMINAL
            if not ended and config.early_terminate is None:
                continue
            steps, last = self._reports(number, trial, metric.name, ended) if metric \
                else ([], None)
            if ended:
                if config.early_terminate is not None:
                    study.report(number, steps)
                value = last if trial.state == FINISHED else None
                study.tell(number, value)
                self._record(study, number, trial.state, value)
                self.log(f"sweep {self.sweep_id}: trial {number} (job {trial.id}) "
                         f"{trial.state}" + (f", {metric.name} {value:g}"
                                             if metric and value is not None else ""))
            elif study.report(number, steps):
                self.store.request_cancel(trial.id, actor=self.claim.agent_id)
                study.prune(number)
                self._record(study, number, "pruned", steps[-1][1])
                self.log(f"sweep {self.sweep_id}: trial {number} (job {trial.id}) "
                         "stopped early (hyperband)")

    def _fill(self, study: SweepStudy, config: SweepConfig, sweep: SweepRecord) -> None:
        """Launch trials until ``num_workers`` are queued or running."""
        while len(study.running) < config.num_workers and not study.target_reached():
            suggestion = study.ask()
            if suggestion is None:
                return
            request = trial_request(config, sweep.id, sweep.entity, sweep.project,
                                    suggestion.config)
            prepared = prepare_trial(self.store, self.queue.name, request)
            try:
                item = self.store.launch_trial(
                    sweep.id, suggestion.number, suggestion.config,
                    study.record(suggestion.number).to_json(), prepared.queue,
                    prepared.spec, claim=self.claim, scheduler_item=self.item.id,
                    gpus=launch_gpus(prepared))
            except Conflict as exc:  # stopped meanwhile: the next round ends it
                self.log(f"sweep {sweep.id}: {one_line(exc)}")
                return
            self._items[suggestion.number] = item.id
            self.log(f"sweep {sweep.id}: trial {suggestion.number} is job {item.id} "
                     f"{suggestion.config}")

    # -- helpers ------------------------------------------------------------------

    def _reports(self, number: int, trial: QueueItem, name: str, ended: bool
                 ) -> tuple[list[tuple[int, float]], float | None]:
        """The metric's reports so far and, once ``ended``, its value: from the trial's
        output (its last report), else from the stock ``wandb`` run a local process
        left (its history; the value is its summary's)."""
        steps = output_series(self._read(number, trial), name)
        if steps:
            return steps, steps[-1][1]
        found = local_wandb_run(trial)
        if found is None:
            return [], None
        return wandb_series(found, name), wandb_value(found, name) if ended else None

    def _read(self, number: int, trial: QueueItem) -> list[str]:
        """The trial's output so far (its resource's logs, as ``job logs`` reads
        them), as lines."""
        offset, text = self._output.get(number, (0, ""))
        if trial.handle:
            try:
                more, offset = get_resource(trial.handle["resource"]).read_logs(
                    trial.handle, offset)
            except Exception as exc:  # the logs are away: the metric counts as missing
                self.log(f"sweep {self.sweep_id}: trial {number}: cannot read its "
                         f"output: {one_line(exc)}")
                more = ""
            text += more
            self._output[number] = (offset, text)
        return text.splitlines()

    def _record(self, study: SweepStudy, number: int, state: str,
                metric: float | None) -> None:
        self.store.record_trial(self.sweep_id, number, study.record(number).to_json(),
                                state, metric, claim=self.claim, scheduler_item=self.item.id)
        self._output.pop(number, None)

    def _set_sweep(self, state: str) -> None:
        self.store.set_sweep_state(self.sweep_id, state, self.claim, self.item.id)

    def _end(self, state: str, message: str) -> str:
        self.log(message)
        self.store.transition(self.item.id, state, actor=self.claim.agent_id,
                              claim=self.claim, message=message)
        return state

    def _fail(self, reason: str) -> str:
        """A trial cannot be launched (its job is gone, the queue refuses it): the
        sweep stops (``sweep resume`` goes on once fixed) and the item fails."""
        self.log(f"sweep {self.sweep_id}: {reason}")
        try:
            self._set_sweep(STOPPED)
            self.store.fail(self.item.id, "run", f"sweep {self.sweep_id}: {reason}",
                            actor=self.claim.agent_id, claim=self.claim)
        except LostClaim:
            return LOST
        return FAILED

    def _show(self, sweep: SweepRecord) -> None:
        if self.on_trials is not None:
            self.on_trials(sweep, self.store.sweep_trials(sweep.id))

