"""Queue items: enqueue, read, guarded state transitions, cancel, positions."""

from __future__ import annotations

import getpass
import secrets
import string
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select, tuple_, update

from launch_core.errors import Conflict, IllegalTransition, InvalidInput
from launch_core.spec.failure_class import PREEMPTED, PREEMPTION, Failure
from launch_core.spec.models import PRIORITY_RANK, LaunchSpec
from launch_core.store.blobs import BlobOps
from launch_core.store.dependencies import (
    add_dependencies,
    ended_unfinished,
    lock_after,
    settle,
)
from launch_core.store.notify import NOTIFY_CHANNEL as NOTIFY_CHANNEL  # the agents' LISTEN
from launch_core.store.notify import notify_claimable
from launch_core.store.records import Claim, ItemEvent, QueueItem, QueueRecord
from launch_core.store.retries import queue_definition, retry
from launch_core.store.schema import events, items, queues
from launch_core.store.states import (
    ACTIVE,
    CANCELLED,
    FAILED,
    FINISHED,
    LAUNCHED,
    QUEUED,
    RUNNING,
    STAGES,
    TERMINAL,
    check_transition,
)

MAX_RESUMES = 5
_RUN_ID_ALPHABET = string.ascii_lowercase + string.digits


def new_run_id() -> str:
    """A random 12-character run id (lowercase letters and digits)."""
    return "".join(secrets.choice(_RUN_ID_ALPHABET) for _ in range(12))


class ItemOps(BlobOps):
    """Items of queues and their lifecycle."""

    def enqueue(self, queue: QueueRecord, spec: LaunchSpec, *, code_blob: bytes | None = None,
                max_attempts: int = 3, actor: str = "user", gpus: int = 0,
                group: str | None = None, after: Iterable[int] = ()) -> QueueItem:
        """Append a job to ``queue`` (state ``queued``); wakes PostgreSQL listeners.

        ``gpus`` is what the queue's resource counts in the job's request (its
        ``demand()``), for quotas and agent GPU slots. The submitter is recorded as
        the database sees it: PostgreSQL's ``current_user`` (set by the server, not
        by the client), the OS user on SQLite.

        ``code_blob`` (the tarball ``spec.code`` names) is stored as the queue's
        entity's in the same transaction, so a failed enqueue leaves nothing behind.
        Without it, a ``spec.code`` digest must be a tarball that entity uploaded:
        InvalidInput naming ``code`` otherwise.

        ``group`` puts the job in a group (``job list/cancel --group``; a sweep's
        trials share one). ``after``: ids of jobs of the queue's entity it waits for
        (``launch --after``): it is held (still ``queued``) until they have all
        finished, and ends ``cancelled`` when one fails or is cancelled, at once if one
        already has. InvalidInput naming --after for an unknown id or another
        entity's job (see dependencies.py).
        """
        return self._enqueue(queue, spec, [None], code_blob=code_blob,
                             max_attempts=max_attempts, actor=actor, gpus=gpus, group=group,
                             after=after)[0]

    def _enqueue(self, queue: QueueRecord, spec: LaunchSpec, indices: Sequence[int | None],
                 *, code_blob: bytes | None, max_attempts: int, actor: str, gpus: int,
                 group: str | None, after: Iterable[int]) -> list[QueueItem]:
        """One job per array index of ``indices`` (None: not in an array), all in one
        transaction (see ``enqueue``)."""
        with self._write() as conn:
            return self._enqueue_in(conn, queue, spec, indices, code_blob=code_blob,
                                    max_attempts=max_attempts, actor=actor, gpus=gpus,
                                    group=group, after=after)

    def _enqueue_in(self, conn: Connection, queue: QueueRecord, spec: LaunchSpec,
                    indices: Sequence[int | None], *, code_blob: bytes | None = None,
                    max_attempts: int = 3, actor: str, gpus: int = 0,
                    group: str | None = None, after: Iterable[int] = ()
                    ) -> list[QueueItem]:
        """``_enqueue`` in the caller's transaction ``conn`` (a sweep writes a trial's
        row with its item)."""
        now = self.clock()
        rank = PRIORITY_RANK[spec.priority] if queue.definition.prioritization else 2
        self._attach_code(conn, queue.entity, spec.code, code_blob)
        states = lock_after(conn, queue.entity, after)
        held = any(state != FINISHED for state in states.values())
        rows = conn.execute(insert(items).values(submitter=self._submitter()).returning(
            *items.c, sort_by_parameter_order=True), [{
                "queue_id": queue.id, "state": QUEUED, "priority": rank,
                "enqueued_at": now, "run_id": new_run_id(),
                "spec": spec.model_dump(mode="json", exclude_none=True),
                "max_attempts": max_attempts, "updated_at": now,
                "project": spec.project or "", "gpus": gpus, "group_id": group,
                "array_index": index, "held": held} for index in indices]).all()
        ids = [row.id for row in rows]
        self._events(conn, [{"item_id": item_id, "from_state": None, "to_state": QUEUED,
                             "actor": actor} for item_id in ids])
        add_dependencies(conn, ids, states)
        ended = ended_unfinished(states)
        if ended is not None:  # it can never run: cancelled now, naming the dependency
            settle(self, conn, dict([ended]), actor)
            rows = conn.execute(select(items).where(items.c.id.in_(ids))
                                .order_by(items.c.id)).all()
        elif not held:
            notify_claimable(conn, [queue.id])
        return [QueueItem.from_row(row) for row in rows]

    def _submitter(self) -> Any:
        if self.is_postgres:
            return func.current_user()
        return getpass.getuser()

    def get_item(self, item_id: int) -> QueueItem:
        """The item with this id. Raises NotFound."""
        with self._read() as conn:
            return self._get(conn, item_id)

    def list_items(self, *, entity: str | None = None, queue_id: int | None = None,
                   states: tuple[str, ...] | None = None, group: str | None = None,
                   limit: int = 100) -> list[QueueItem]:
        """Items, newest first, filtered by entity, queue, states and group."""
        query = select(items).order_by(items.c.id.desc()).limit(limit)
        if group is not None:
            query = query.where(items.c.group_id == group)
        if queue_id is not None:
            query = query.where(items.c.queue_id == queue_id)
        if entity is not None:
            query = query.where(items.c.queue_id.in_(
                select(queues.c.id).where(queues.c.entity == entity)))
        if states:
            query = query.where(items.c.state.in_(states))
        with self._read() as conn:
            return [QueueItem.from_row(row) for row in conn.execute(query)]

    def transition(self, item_id: int, target: str, *, actor: str, message: str | None = None,
                   claim: Claim | None = None, **fields: Any) -> QueueItem:
        """Move an item to ``target``, setting extra columns (stage, reason, handle...).

        An agent passes its ``claim``: the write happens only while it still holds
        the item. Raises LostClaim when it does not, IllegalTransition when the
        lifecycle forbids the move (also when another process moved the item
        first), NotFound for an unknown id.
        """
        with self._write() as conn:
            current = self._get(conn, item_id)
            self._check_holds(current, claim)
            check_transition(item_id, current.state, target)
            values = {**fields, **self._side_effects(current, target)}
            return self._move(conn, current, target, actor, message, values, claim)

    def _side_effects(self, item: QueueItem, target: str) -> dict[str, Any]:
        now = self.clock()
        values: dict[str, Any] = {"updated_at": now}
        if target in TERMINAL:
            values.update(finished_at=now, lease_expires_at=None)
        if target == RUNNING and item.started_at is None:
            values["started_at"] = now
        if target == QUEUED:
            values.update(agent_id=None, lease_expires_at=None)
        return values

    def fail(self, item_id: int, stage: str, reason: str, *, actor: str,
             claim: Claim | None = None, failure: Failure | None = None,
             exit_code: int | None = None) -> QueueItem:
        """Mark an item ``failed`` at ``stage`` (agent, build, run) with a one-line reason,
        and ``exit_code`` when its run ended with one: the one place runs end failed.

        With ``failure`` (what failed, see launch_core.spec.failure_class) that the
        queue's policy retries and retries left, the item goes back to ``queued``
        instead (launch_core.store.retries). Raises InvalidInput for another stage,
        LostClaim and IllegalTransition as ``transition`` does.
        """
        if stage not in STAGES:
            raise InvalidInput(f"stage must be one of {', '.join(STAGES)}, not {stage!r}")
        reason = reason.strip().splitlines()[0][:500] if reason.strip() else "failed"
        with self._write() as conn:
            current = self._get(conn, item_id, lock=True)
            self._check_holds(current, claim)
            check_transition(item_id, current.state, FAILED)
            if failure is not None:
                again = retry(self, conn, current, failure, actor, claim)
                if again is not None:
                    return again
            values = {**self._side_effects(current, FAILED), "stage": stage,
                      "reason": reason, "exit_code": exit_code}
            return self._move(conn, current, FAILED, actor, f"{stage}: {reason}", values,
                              claim)

    def preempt(self, item_id: int, *, actor: str, reason: str = "preempted",
                claim: Claim | None = None) -> QueueItem:
        """Send a launched item back to the queue with resume_count+1 (failed past 5).
        With ``preempted`` in its queue's ``retry_on``, the queue's ``retry`` is the
        budget instead, and each requeue counts a retry.

        Raises LostClaim when ``claim`` no longer holds the item."""
        with self._write() as conn:
            item = self._get(conn, item_id, lock=True)
            self._check_holds(item, claim)
            if item.state not in LAUNCHED:
                raise IllegalTransition(item_id, item.state, QUEUED)
            if item.cancel_requested:  # the user asked to stop it: do not run it again
                return self._move(conn, item, CANCELLED, actor, f"{reason}; cancel requested",
                                  self._side_effects(item, CANCELLED), claim)
            policy = queue_definition(conn, item.queue_id).policy
            if PREEMPTED in policy.retry_on:
                again = retry(self, conn, item, PREEMPTION, actor, claim)
                if again is not None:
                    return again
                values = {**self._side_effects(item, FAILED), "stage": "run",
                          "reason": f"preempted after {item.retries} retries"}
                return self._move(conn, item, FAILED, actor, reason, values, claim)
            if item.resume_count >= MAX_RESUMES:
                values = {**self._side_effects(item, FAILED), "stage": "run",
                          "reason": f"preempted more than {MAX_RESUMES} times"}
                return self._move(conn, item, FAILED, actor, reason, values, claim)
            values = {**self._side_effects(item, QUEUED), "resume_count": item.resume_count + 1,
                      "handle": None, "started_at": None}
            return self._move(conn, item, QUEUED, actor, reason, values, claim)

    def request_cancel(self, item_id: int, *, actor: str = "user") -> QueueItem:
        """Cancel a queued item at once; flag an active one for its agent to cancel.

        Raises Conflict when the item has already ended.
        """
        with self._write() as conn:
            item = self._get(conn, item_id)
            if item.state == QUEUED:
                return self._move(conn, item, CANCELLED, actor, "cancelled while queued",
                                  self._side_effects(item, CANCELLED))
            if item.state not in ACTIVE:
                raise Conflict(f"job {item_id} has already ended ({item.state})")
            conn.execute(update(items).where(items.c.id == item_id).values(
                cancel_requested=True, updated_at=self.clock()))
            self._events(conn, [{"item_id": item_id, "from_state": item.state,
                                 "to_state": item.state, "actor": actor,
                                 "message": "cancel requested"}])
            return self._get(conn, item_id)

    def note(self, item_id: int, message: str, *, actor: str,
             claim: Claim | None = None) -> None:
        """Append an event that records an action without a state change.

        Raises LostClaim when ``claim`` is given and no longer holds the item."""
        with self._write() as conn:
            item = self._get(conn, item_id, lock=True)  # the holder cannot change under us
            self._check_holds(item, claim)
            self._events(conn, [{"item_id": item_id, "from_state": item.state,
                                 "to_state": item.state, "actor": actor, "message": message}])

    def position(self, item: QueueItem) -> int | None:
        """1-based position of a queued item in its queue's claim order (None if not
        queued, or held for its dependencies: those are not in the claim order)."""
        if item.state != QUEUED or item.held:
            return None
        ahead = select(func.count()).where(
            items.c.queue_id == item.queue_id, items.c.state == QUEUED, items.c.held.is_(False),
            tuple_(items.c.priority, items.c.enqueued_at, items.c.id)
            < tuple_(item.priority, item.enqueued_at, item.id))
        with self._read() as conn:
            return int(conn.execute(ahead).scalar_one()) + 1

    def pending(self, queue_id: int, limit: int = 100) -> list[tuple[int, QueueItem]]:
        """The first ``limit`` queued items of a queue in claim order (none held for its
        dependencies) with their 1-based positions."""
        query = (select(items).where(items.c.queue_id == queue_id, items.c.state == QUEUED,
                                     items.c.held.is_(False))
                 .order_by(items.c.priority, items.c.enqueued_at, items.c.id).limit(limit))
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [(n, QueueItem.from_row(row)) for n, row in enumerate(rows, start=1)]

    def events_for(self, item_id: int) -> list[ItemEvent]:
        """The audit log of one item, oldest first."""
        query = select(events).where(events.c.item_id == item_id).order_by(events.c.id)
        with self._read() as conn:
            return [ItemEvent(**row._mapping) for row in conn.execute(query)]
