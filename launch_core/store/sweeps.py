"""Sweeps kept by the store (``relaunch launch-sweep``, ``sweep list|show|stop|resume``):
each sweep's config and state, the queue item that runs its scheduler, and its trials.

A trial's row and the item that runs it are written in one transaction
(``launch_trial``), fenced by the scheduler's claim: a scheduler that crashed never
launches a trial twice (the row's (sweep, number) is unique) and never loses one (no
item without its row, no row without its item)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, insert, select, update

from launch_core.errors import Conflict, LostClaim, NotFound
from launch_core.spec.models import LaunchSpec
from launch_core.store.groups import GroupOps
from launch_core.store.queues import QueueOps
from launch_core.store.records import Claim, QueueItem, QueueRecord
from launch_core.store.schema import items, sweep_trials, sweeps
from launch_core.store.states import CANCELLED, QUEUED, TERMINAL

RUNNING, STOPPED, FINISHED = "running", "stopped", "finished"  # a sweep's states


@dataclass(frozen=True)
class SweepRecord:
    """A stored sweep. ``config`` is its W&B sweep config as given (a mapping)."""

    id: str
    entity: str
    project: str
    queue_id: int
    config: dict[str, Any]
    seed: int | None
    state: str
    scheduler_item: int | None
    created_at: float
    updated_at: float


@dataclass(frozen=True)
class TrialRow:
    """A stored trial: its run config (``params``), Optuna's record (``record``, a
    TrialRecord as JSON), the item running it, its state and metric."""

    sweep_id: str
    number: int
    params: dict[str, Any]
    record: dict[str, Any]
    item_id: int | None
    state: str
    metric: float | None
    created_at: float
    updated_at: float


class SweepOps(QueueOps, GroupOps):
    """Sweeps, their scheduler items and their trials."""

    def create_sweep(self, queue: QueueRecord, sweep_id: str, config: dict[str, Any],
                     scheduler: LaunchSpec, *, project: str = "", seed: int | None = None,
                     actor: str = "user") -> tuple[SweepRecord, QueueItem]:
        """Store a sweep and enqueue the item that runs its scheduler, in one
        transaction. Raises Conflict when the id is taken."""
        now = self.clock()
        with self._write() as conn:
            if conn.execute(select(sweeps.c.id).where(sweeps.c.id == sweep_id)).first():
                raise Conflict(f"sweep {sweep_id} exists already")
            conn.execute(insert(sweeps).values(
                id=sweep_id, entity=queue.entity, project=project, queue_id=queue.id,
                config=config, seed=seed, state=RUNNING, created_at=now, updated_at=now))
            item = self._enqueue_scheduler(conn, queue, sweep_id, scheduler, actor)
            return self._sweep_row(conn, queue.entity, sweep_id), item

    def _enqueue_scheduler(self, conn: Connection, queue: QueueRecord, sweep_id: str,
                           spec: LaunchSpec, actor: str) -> QueueItem:
        [item] = self._enqueue_in(conn, queue, spec, [None], actor=actor)
        conn.execute(update(sweeps).where(sweeps.c.id == sweep_id).values(
            scheduler_item=item.id, updated_at=self.clock()))
        return item

    def get_sweep(self, entity: str, sweep_id: str) -> SweepRecord:
        """The sweep ``sweep_id`` of ``entity``. Raises NotFound."""
        with self._read() as conn:
            return self._sweep_row(conn, entity, sweep_id)

    def _sweep_row(self, conn: Connection, entity: str | None, sweep_id: str,
               lock: bool = False) -> SweepRecord:
        query = select(sweeps).where(sweeps.c.id == sweep_id)
        if entity is not None:
            query = query.where(sweeps.c.entity == entity)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"sweep {sweep_id!r} not found"
                           + (f" in entity {entity!r}" if entity else ""))
        return SweepRecord(**row._mapping)

    def list_sweeps(self, entity: str, limit: int = 100) -> list[SweepRecord]:
        """``entity``'s sweeps, newest first."""
        query = (select(sweeps).where(sweeps.c.entity == entity)
                 .order_by(sweeps.c.created_at.desc(), sweeps.c.id).limit(limit))
        with self._read() as conn:
            return [SweepRecord(**row._mapping) for row in conn.execute(query)]

    def sweep_trials(self, sweep_id: str) -> list[TrialRow]:
        """The sweep's trials by number."""
        query = (select(sweep_trials).where(sweep_trials.c.sweep_id == sweep_id)
                 .order_by(sweep_trials.c.number))
        with self._read() as conn:
            return [TrialRow(**row._mapping) for row in conn.execute(query)]

    def stop_sweep(self, entity: str, sweep_id: str, *, actor: str = "user") -> SweepRecord:
        """Stop a running sweep: its scheduler launches no more trials and ends (at
        once when it is still queued). Raises NotFound, Conflict when it is not
        running."""
        with self._write() as conn:
            sweep = self._sweep_row(conn, entity, sweep_id, lock=True)
            if sweep.state != RUNNING:
                raise Conflict(f"sweep {sweep_id} is {sweep.state}, not running")
            conn.execute(update(sweeps).where(sweeps.c.id == sweep_id).values(
                state=STOPPED, updated_at=self.clock()))
            if sweep.scheduler_item is not None:
                item = self._get(conn, sweep.scheduler_item)
                if item.state == QUEUED:
                    self._move(conn, item, CANCELLED, actor, f"sweep {sweep_id} stopped",
                               self._side_effects(item, CANCELLED))
            return self._sweep_row(conn, entity, sweep_id)

    def resume_sweep(self, entity: str, sweep_id: str, scheduler: LaunchSpec, *,
                     actor: str = "user") -> tuple[SweepRecord, QueueItem]:
        """Run a stopped sweep again: a new scheduler item, which goes on from the
        recorded trials. Raises NotFound, Conflict when it is not stopped or its last
        scheduler has not ended yet."""
        with self._write() as conn:
            sweep = self._sweep_row(conn, entity, sweep_id, lock=True)
            if sweep.state != STOPPED:
                raise Conflict(f"sweep {sweep_id} is {sweep.state}: only a stopped sweep "
                               "resumes")
            if sweep.scheduler_item is not None:
                last = self._get(conn, sweep.scheduler_item)
                if last.state not in TERMINAL:
                    raise Conflict(f"sweep {sweep_id}: its scheduler (job {last.id}) has "
                                   f"not ended yet ({last.state}); try again shortly")
            conn.execute(update(sweeps).where(sweeps.c.id == sweep_id).values(
                state=RUNNING, updated_at=self.clock()))
            queue = self.get_queue_by_id(sweep.queue_id)
            item = self._enqueue_scheduler(conn, queue, sweep_id, scheduler, actor)
            return self._sweep_row(conn, entity, sweep_id), item

    def set_sweep_state(self, sweep_id: str, state: str, claim: Claim,
                        scheduler_item: int) -> None:
        """The scheduler ends its sweep (``finished``, or ``stopped`` when its item
        was cancelled); fenced by its claim."""
        with self._write() as conn:
            self._hold(conn, scheduler_item, claim)
            conn.execute(update(sweeps).where(sweeps.c.id == sweep_id,
                                              sweeps.c.state == RUNNING)
                         .values(state=state, updated_at=self.clock()))

    def launch_trial(self, sweep_id: str, number: int, params: dict[str, Any],
                     record: dict[str, Any], queue: QueueRecord, spec: LaunchSpec, *,
                     claim: Claim, scheduler_item: int, gpus: int = 0) -> QueueItem:
        """Enqueue trial ``number`` (its item in the sweep's group) and record it, in
        one transaction, while ``claim`` holds the scheduler item and the sweep runs.
        Raises LostClaim when the claim is lost, Conflict when the sweep is no longer
        running or the trial was recorded already."""
        now = self.clock()
        with self._write() as conn:
            self._hold(conn, scheduler_item, claim)
            sweep = self._sweep_row(conn, None, sweep_id)
            if sweep.state != RUNNING:
                raise Conflict(f"sweep {sweep_id} is {sweep.state}")
            taken = conn.execute(select(sweep_trials.c.number).where(
                sweep_trials.c.sweep_id == sweep_id, sweep_trials.c.number == number)).first()
            if taken is not None:
                raise Conflict(f"sweep {sweep_id}: trial {number} was launched already")
            [item] = self._enqueue_in(conn, queue, spec, [None], actor=claim.agent_id,
                                      gpus=gpus, group=sweep_id)
            conn.execute(insert(sweep_trials).values(
                sweep_id=sweep_id, number=number, params=params, record=record,
                item_id=item.id, state="running", created_at=now, updated_at=now))
            return item

    def record_trial(self, sweep_id: str, number: int, record: dict[str, Any], state: str,
                     metric: float | None, *, claim: Claim, scheduler_item: int) -> None:
        """Store what the study knows of a trial now (Optuna's record: its reports and
        value), the trial's state (running, finished, failed, cancelled, pruned) and
        metric."""
        with self._write() as conn:
            self._hold(conn, scheduler_item, claim)
            conn.execute(update(sweep_trials).where(
                sweep_trials.c.sweep_id == sweep_id, sweep_trials.c.number == number)
                .values(record=record, state=state, metric=metric,
                        updated_at=self.clock()))

    def _hold(self, conn: Connection, item_id: int, claim: Claim) -> None:
        """Lock the scheduler item; raise LostClaim unless ``claim`` holds it."""
        row = conn.execute(select(items.c.agent_id, items.c.claim_token)
                           .where(items.c.id == item_id).with_for_update()).first()
        if row is None or (row.agent_id, row.claim_token) != (claim.agent_id, claim.token):
            raise LostClaim(item_id, claim.agent_id, claim.token)
