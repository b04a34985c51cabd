"""Queued items that waited too long (a queue's ``max_pending``): each ends ``failed``,
or moves to the queue's ``fallback_queue`` (same entity) if that queue takes its
values. An agent's poll runs it for its queues, beside the expired-lease sweep."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Connection, select, text

from launch_core.errors import InvalidInput
from launch_core.spec.models import PRIORITY_RANK, LaunchSpec, QueueDefinition
from launch_core.spec.policy import format_duration
from launch_core.spec.templating import check_filled_values, resolve_values
from launch_core.store.base import StoreBase
from launch_core.store.records import QueueItem
from launch_core.store.retries import with_raised
from launch_core.store.scheduled_claim import policy_of
from launch_core.store.schema import CLAIMABLE, items, queues
from launch_core.store.states import FAILED, QUEUED
from launch_core.store.unparsable import parsed

# Checks a job's spec against the queue it would move to, as enqueue does; returns
# the GPUs the job takes there (its resource's demand). Raises InvalidInput.
FallbackCheck = Callable[[QueueDefinition, LaunchSpec], int | None]
# A literal, not a bound parameter: it lets PostgreSQL use the partial index of queued
# items. A job held for its dependencies (launch --after) is not pending in its queue:
# its wait counts from when they have finished (its updated_at).
_queued = text(CLAIMABLE)


@dataclass(frozen=True)
class PendingResult:
    """What one pass did, by item id: failed, and moved to a fallback queue."""

    failed: list[int] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)


def values_only(queue: QueueDefinition, spec: LaunchSpec) -> int | None:
    """The check the store can make by itself: the template values against the
    queue's variables (types, bounds, enum, pattern). GPUs unknown (None)."""
    check_filled_values(queue.template_variables,
                        resolve_values(queue.template_variables, spec.template_values))
    return None


class PendingOps(StoreBase):
    """Time bounds on waiting in a queue."""

    def expire_pending(self, queue_ids: Sequence[int], *, actor: str,
                       check: FallbackCheck = values_only,
                       now: float | None = None) -> PendingResult:
        """End or move the queued items of ``queue_ids`` that waited longer than their
        queue's ``max_pending``: ``failed`` (stage agent, "waited longer than 30m"), or
        with a ``fallback_queue`` moved there (``enqueued_at`` now) when ``check``
        accepts the job's values (with what its retries raised) for that queue, and
        ``failed`` naming the refusal when it does not.

        One transaction; only items still queued, their rows locked (SKIP LOCKED on
        PostgreSQL: one a claim holds is left alone), so no claim sees a half-moved item.
        """
        now = self.clock() if now is None else now
        result = PendingResult()
        with self._read() as conn:  # most polls end here, without taking a write lock
            if not self._bounded(conn, queue_ids, now, exists=True):
                return result
        with self._write() as conn:
            for queue_id, queue in self._bounded(conn, queue_ids, now):
                limit = queue.policy.max_pending or 0.0
                waited = select(items).where(
                    _queued, items.c.queue_id == queue_id,
                    items.c.updated_at < now - limit).order_by(items.c.id)
                for item in parsed(self, conn, conn.execute(
                        waited.with_for_update(skip_locked=True)).all(), actor):
                    self._expire_one(conn, queue, item, actor, check, now, result)
        return result

    def _bounded(self, conn: Connection, queue_ids: Sequence[int], now: float, *,
                 exists: bool = False) -> list[tuple[int, QueueDefinition]]:
        """(id, definition) of the queues of ``queue_ids`` with a max_pending; with
        ``exists``, only those holding an item queued longer than it. Only a queue's
        policy is parsed until one has such an item (this runs at every poll)."""
        rows = conn.execute(select(queues.c.id, queues.c.definition)
                            .where(queues.c.id.in_(list(queue_ids)))).all()
        found = []
        for row in rows:
            limit = policy_of(row.definition).max_pending
            if limit is None:
                continue
            if exists and conn.execute(select(items.c.id).where(
                    _queued, items.c.queue_id == row.id,
                    items.c.updated_at < now - limit).limit(1)).first() is None:
                continue
            found.append((row.id, QueueDefinition.model_validate(row.definition)))
        return found

    def _expire_one(self, conn: Connection, queue: QueueDefinition, item: QueueItem,
                    actor: str, check: FallbackCheck, now: float,
                    result: PendingResult) -> None:
        limit = queue.policy.max_pending or 0.0
        waited = f"waited longer than {format_duration(limit)}"
        name = queue.policy.fallback_queue
        if name is None:
            self._fail_waiting(conn, item, waited, actor, now)
            result.failed.append(item.id)
            return
        target = conn.execute(select(queues).where(queues.c.entity == queue.entity,
                                                   queues.c.name == name)).first()
        if target is None:
            self._fail_waiting(conn, item, f"{waited}; fallback queue {name!r} not found",
                               actor, now)
            result.failed.append(item.id)
            return
        fallback = QueueDefinition.model_validate(target.definition)
        spec = with_raised(item)
        try:
            gpus = check(fallback, spec)
        except InvalidInput as exc:
            self._fail_waiting(conn, item, f"{waited}; fallback queue {name!r} refused "
                               f"it: {exc}", actor, now)
            result.failed.append(item.id)
            return
        rank = PRIORITY_RANK[spec.priority] if fallback.prioritization else 2
        self._move(conn, item, QUEUED, actor,
                   f"moved to fallback queue {name} after waiting {format_duration(limit)}",
                   {"queue_id": target.id, "enqueued_at": now, "updated_at": now,
                    "priority": rank, "gpus": item.gpus if gpus is None else gpus})
        result.moved.append(item.id)

    def _fail_waiting(self, conn: Connection, item: QueueItem, reason: str, actor: str,
                      now: float) -> None:
        reason = reason[:500]
        self._move(conn, item, FAILED, actor, f"agent: {reason}", {
            "stage": "agent", "reason": reason, "finished_at": now, "updated_at": now,
            "lease_expires_at": None})
