"""Claiming work: atomic claim, leases, the expiry sweep, re-adoption, release."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, literal_column, select, text, update

from launch_core.store.base import StoreBase
from launch_core.store.records import QueueItem, SweepResult
from launch_core.store.schema import items
from launch_core.store.states import (
    ACTIVE,
    CANCELLED,
    CLAIMED,
    FAILED,
    LAUNCHED,
    QUEUED,
    UNSUBMITTED,
)

DEFAULT_LEASE_SECONDS = 60.0


def _state_is(state: str) -> ColumnElement[bool]:
    # A literal, not a bound parameter: PostgreSQL's generic plans for prepared
    # statements cannot match a partial index (WHERE state = 'queued') otherwise.
    return items.c.state == literal_column(f"'{state}'")


def _state_in(states: tuple[str, ...]) -> ColumnElement[bool]:
    return items.c.state.in_([literal_column(f"'{state}'") for state in states])


_PG_CLAIM = text("""
WITH head AS (
    -- Per queue, the partial index yields rows already in claim order; a plain
    -- queue_id = ANY(...) would make PostgreSQL sort every queued row instead.
    SELECT c.id FROM unnest(CAST(:queues AS bigint[])) AS q(queue_id)
    CROSS JOIN LATERAL (
        SELECT id, priority, enqueued_at FROM items
        WHERE state = 'queued' AND items.queue_id = q.queue_id
        ORDER BY priority, enqueued_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ) AS c
    ORDER BY c.priority, c.enqueued_at, c.id
    LIMIT :limit
), claimed AS (
    UPDATE items
    SET state = 'claimed', agent_id = :agent, updated_at = :now, lease_expires_at = :lease
    FROM head WHERE items.id = head.id
    RETURNING items.*
), logged AS (
    INSERT INTO events (item_id, from_state, to_state, actor, at, message)
    SELECT id, 'queued', 'claimed', :agent, :now, NULL FROM claimed
)
SELECT * FROM claimed
""")


def _claim_order(item: QueueItem) -> tuple[int, float, int]:
    return (item.priority, item.enqueued_at, item.id)


class ClaimOps(StoreBase):
    """The claim protocol between agents and the store."""

    def claim(self, agent_id: str, queue_ids: Sequence[int], *, limit: int = 1,
              lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[QueueItem]:
        """Atomically claim up to ``limit`` queued items of ``queue_ids``.

        Order: priority, then enqueue time, then id. No item is ever claimed twice
        (SKIP LOCKED on PostgreSQL, a write lock taken at BEGIN on SQLite).
        """
        if limit <= 0 or not queue_ids:
            return []
        if self.is_postgres:
            return self._claim_postgres(agent_id, queue_ids, limit, lease_seconds)
        now = self.clock()
        head = (select(items.c.id)
                .where(_state_is(QUEUED), items.c.queue_id.in_(list(queue_ids)))
                .order_by(items.c.priority, items.c.enqueued_at, items.c.id)
                .limit(limit).with_for_update(skip_locked=True))
        with self._write() as conn:
            rows = conn.execute(update(items).where(items.c.id.in_(head.scalar_subquery()))
                                .values(state=CLAIMED, agent_id=agent_id, updated_at=now,
                                        lease_expires_at=now + lease_seconds)
                                .returning(*items.c)).all()
            claimed = sorted((QueueItem.from_row(r) for r in rows), key=_claim_order)
            self._events(conn, [{"item_id": i.id, "from_state": QUEUED, "to_state": CLAIMED,
                                 "actor": agent_id} for i in claimed])
        return claimed

    def _claim_postgres(self, agent_id: str, queue_ids: Sequence[int], limit: int,
                        lease_seconds: float) -> list[QueueItem]:
        """One statement, one round trip: lock the head, claim it, log the events."""
        now = self.clock()
        params = {"queues": list(queue_ids), "limit": limit, "agent": agent_id, "now": now,
                  "lease": now + lease_seconds}
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = conn.execute(_PG_CLAIM, params).all()
        return sorted((QueueItem.from_row(r) for r in rows), key=_claim_order)

    def renew_leases(self, agent_id: str, *, item_ids: Sequence[int] | None = None,
                     lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[QueueItem]:
        """Extend the leases of an agent's active items (only ``item_ids`` if given);
        returns the items renewed."""
        now = self.clock()
        query = update(items).where(items.c.agent_id == agent_id, items.c.state.in_(ACTIVE))
        if item_ids is not None:
            query = query.where(items.c.id.in_(list(item_ids)))
        with self._write() as conn:
            rows = conn.execute(query.values(lease_expires_at=now + lease_seconds)
                                .returning(*items.c)).all()
        return [QueueItem.from_row(r) for r in rows]

    def sweep_expired(self, *, now: float | None = None) -> SweepResult:
        """Handle items whose lease expired (their agent is gone).

        Unsubmitted ones go back to ``queued`` (attempts+1; ``failed`` after
        max_attempts; ``cancelled`` if a cancel was requested). Submitted/running
        ones lose their agent and become re-adoptable; they are never resubmitted.
        """
        now = self.clock() if now is None else now
        expired = (select(items).where(
            _state_in(ACTIVE), items.c.agent_id.is_not(None),
            items.c.lease_expires_at < now).with_for_update(skip_locked=True))
        result = SweepResult([], [], [], [])
        with self._write() as conn:
            for row in conn.execute(expired).all():
                self._expire(conn, QueueItem.from_row(row), result, now)
        return result

    def _expire(self, conn: Connection, item: QueueItem, result: SweepResult, now: float) -> None:
        lost = f"lease of agent {item.agent_id} expired"
        base: dict[str, Any] = {"agent_id": None, "lease_expires_at": None, "updated_at": now}
        if item.state in LAUNCHED:
            self._set(conn, item, item.state, base, f"{lost}; awaiting re-adoption")
            result.orphaned.append(item.id)
        elif item.cancel_requested:
            self._set(conn, item, CANCELLED, {**base, "finished_at": now}, lost)
            result.cancelled.append(item.id)
        elif item.attempts + 1 >= item.max_attempts:
            self._set(conn, item, FAILED, {
                **base, "attempts": item.attempts + 1, "finished_at": now, "stage": "agent",
                "reason": f"agent lost {item.attempts + 1} times before submission"}, lost)
            result.failed.append(item.id)
        else:
            self._set(conn, item, QUEUED, {**base, "attempts": item.attempts + 1}, lost)
            result.requeued.append(item.id)

    def _set(self, conn: Connection, item: QueueItem, state: str, values: dict[str, Any],
             message: str) -> None:
        conn.execute(update(items).where(items.c.id == item.id).values(state=state, **values))
        self._events(conn, [{"item_id": item.id, "from_state": item.state, "to_state": state,
                             "actor": "sweeper", "message": message}])

    def adopt(self, agent_id: str, queue_ids: Sequence[int], *, limit: int = 1,
              lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[QueueItem]:
        """Take over up to ``limit`` submitted/running items that have no agent."""
        if limit <= 0 or not queue_ids:
            return []
        now = self.clock()
        orphans = (select(items.c.id).where(
            _state_in(LAUNCHED), items.c.agent_id.is_(None),
            items.c.queue_id.in_(list(queue_ids))).order_by(items.c.id)
            .limit(limit).with_for_update(skip_locked=True))
        with self._write() as conn:
            rows = conn.execute(update(items).where(items.c.id.in_(orphans.scalar_subquery()))
                                .values(agent_id=agent_id, lease_expires_at=now + lease_seconds,
                                        updated_at=now).returning(*items.c)).all()
            adopted = [QueueItem.from_row(r) for r in rows]
            self._events(conn, [{"item_id": i.id, "from_state": i.state, "to_state": i.state,
                                 "actor": agent_id, "message": "re-adopted"} for i in adopted])
        return adopted

    def release(self, agent_id: str) -> list[int]:
        """Give up an agent's items at shutdown: unsubmitted ones are requeued (no
        attempt counted), launched ones become re-adoptable. Returns their ids."""
        now = self.clock()
        base = {"agent_id": None, "lease_expires_at": None, "updated_at": now}
        with self._write() as conn:
            rows = conn.execute(select(items).where(
                items.c.agent_id == agent_id, items.c.state.in_(ACTIVE))).all()
            for row in rows:
                item = QueueItem.from_row(row)
                target = item.state
                if item.state in UNSUBMITTED:
                    target = CANCELLED if item.cancel_requested else QUEUED
                values = {**base, "finished_at": now} if target == CANCELLED else base
                self._set(conn, item, target, values, f"released by agent {agent_id}")
        return [row.id for row in rows]
