"""Claiming work: atomic claim, leases, the expiry sweep, re-adoption, release."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Connection, literal_column, select, text, tuple_, update

from launch_core.errors import Conflict, IllegalTransition
from launch_core.store.base import StoreBase
from launch_core.store.records import Claim, QueueItem, RenewResult, SweepResult
from launch_core.store.retries import retry_infra
from launch_core.store.scheduled_claim import (
    GpuSlots,
    Picker,
    claim_picked,
    lock_entities,
    policy_of,
    read_quotas,
    read_usage,
)
from launch_core.store.schema import CLAIMABLE, items, queues
from launch_core.store.states import (
    ACTIVE,
    CANCELLED,
    CLAIMED,
    FAILED,
    LAUNCHED,
    QUEUED,
    TERMINAL,
    UNSUBMITTED,
)
from launch_core.store.unparsable import fail_unparsable, parsed, split

DEFAULT_LEASE_SECONDS = 60.0
POLICY_TTL = 1.0  # seconds a claim trusts what it read of queue policies and quotas
SWEEPER = "sweeper"


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
        WHERE state = 'queued' AND NOT held AND items.queue_id = q.queue_id
        ORDER BY priority, enqueued_at, id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ) AS c
    ORDER BY c.priority, c.enqueued_at, c.id
    LIMIT :limit
), claimed AS (
    UPDATE items
    SET state = 'claimed', agent_id = :agent, claim_token = items.claim_token + 1,
        updated_at = :now, lease_expires_at = :lease, devices = NULL
    FROM head WHERE items.id = head.id
    RETURNING items.*
), logged AS (
    INSERT INTO events (item_id, from_state, to_state, actor, at, message)
    SELECT id, 'queued', 'claimed', :agent, :now, NULL FROM claimed
)
SELECT * FROM claimed
""")


def _claim_order(item: Any) -> tuple[int, float, int]:  # a QueueItem or its row
    return (item.priority, item.enqueued_at, item.id)


class ClaimOps(StoreBase):
    """The claim protocol between agents and the store."""

    def claim(self, agent_id: str, queue_ids: Sequence[int], *, limit: int = 1,
              lease_seconds: float = DEFAULT_LEASE_SECONDS,
              slots: GpuSlots | None = None) -> list[QueueItem]:
        """Atomically claim up to ``limit`` queued items of ``queue_ids``, never one
        held for its dependencies (dependencies.py releases it when they finished).

        Order: priority, then enqueue time, then id. No item is ever claimed twice
        (SKIP LOCKED on PostgreSQL, a write lock taken at BEGIN on SQLite). With a
        queue cap or fair share, an entity quota, or the agent's GPU ``slots``, the
        scheduled claim decides (scheduled_claim.py): also atomically.
        """
        if limit <= 0 or not queue_ids:
            return []
        if slots is not None or self._is_scheduled(queue_ids):
            return self._claim_scheduled(agent_id, queue_ids, limit, lease_seconds, slots)
        if self.is_postgres:
            return self._claim_postgres(agent_id, queue_ids, limit, lease_seconds)
        now = self.clock()
        # CLAIMABLE as SQL text, not bound parameters: the partial claim index
        # (WHERE state = 'queued' AND NOT held) is used only for these very words.
        head = (select(items.c.id)
                .where(text(CLAIMABLE), items.c.queue_id.in_(list(queue_ids)))
                .order_by(items.c.priority, items.c.enqueued_at, items.c.id)
                .limit(limit).with_for_update(skip_locked=True))
        with self._write() as conn:
            rows = sorted(conn.execute(update(items)
                                       .where(items.c.id.in_(head.scalar_subquery()))
                                       .values(state=CLAIMED, agent_id=agent_id,
                                               claim_token=items.c.claim_token + 1,
                                               updated_at=now, devices=None,
                                               lease_expires_at=now + lease_seconds)
                                       .returning(*items.c)).all(), key=_claim_order)
            self._events(conn, [{"item_id": r.id, "from_state": QUEUED, "to_state": CLAIMED,
                                 "actor": agent_id} for r in rows])
            return parsed(self, conn, rows, agent_id)

    def _is_scheduled(self, queue_ids: Sequence[int]) -> bool:
        """Whether these queues have a cap or fair share, or their entity a quota.

        Remembered for POLICY_TTL seconds per set of queues (claims are frequent;
        policies change seldom): a new policy applies to claims at most that much
        later. ``forget_policies`` drops what this store object remembers."""
        key = tuple(sorted(queue_ids))
        cache: dict[tuple[int, ...], tuple[float, bool]] = self.__dict__.setdefault(
            "_policy_cache", {})
        now = time.monotonic()
        known = cache.get(key)
        if known is not None and known[0] > now:
            return known[1]
        with self._read() as conn:
            rows = conn.execute(select(queues.c.entity, queues.c.definition)
                                .where(queues.c.id.in_(list(key)))).all()
            scheduled = any(policy_of(row.definition).schedules_claims for row in rows)
            if not scheduled and rows:
                scheduled = bool(read_quotas(conn, {row.entity for row in rows}))
        cache[key] = (now + POLICY_TTL, scheduled)
        return scheduled

    def _claim_scheduled(self, agent_id: str, queue_ids: Sequence[int], limit: int,
                         lease_seconds: float, slots: GpuSlots | None) -> list[QueueItem]:
        now = self.clock()
        with self._write() as conn:
            entities = conn.execute(select(queues.c.entity).distinct()
                                    .where(queues.c.id.in_(list(queue_ids)))).scalars().all()
            lock_entities(conn, entities)
            picker = Picker(conn, read_usage(conn, entities, devices=slots is not None),
                            slots)
            rows = claim_picked(conn, picker, queue_ids, limit, {
                "agent_id": agent_id, "updated_at": now, "lease_expires_at": now + lease_seconds})
            self._events(conn, [{"item_id": r.id, "from_state": QUEUED, "to_state": CLAIMED,
                                 "actor": agent_id} for r in rows])
            return parsed(self, conn, rows, agent_id)

    def _claim_postgres(self, agent_id: str, queue_ids: Sequence[int], limit: int,
                        lease_seconds: float) -> list[QueueItem]:
        """One statement, one round trip: lock the head, claim it, log the events."""
        now = self.clock()
        params = {"queues": list(queue_ids), "limit": limit, "agent": agent_id, "now": now,
                  "lease": now + lease_seconds}
        with self.engine.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            rows = conn.execute(_PG_CLAIM, params).all()
        claimed, unparsable = split(rows)
        if unparsable:  # rare: the one round trip stays one when every spec parses
            with self._write() as conn:
                fail_unparsable(self, conn, unparsable, agent_id)
        return sorted(claimed, key=_claim_order)

    def renew_leases(self, agent_id: str, claims: Mapping[int, int], *,
                     lease_seconds: float = DEFAULT_LEASE_SECONDS) -> RenewResult:
        """Extend the leases of the items ``claims`` names (item id -> claim token),
        each only while the agent still holds it under that token.

        The result says which items were renewed, which the agent lost (swept, or
        claimed again by another agent): it must stop working on those; and which
        ended under its claim (their end is recorded).
        """
        if not claims:
            return RenewResult([], [])
        held = tuple_(items.c.id, items.c.claim_token).in_(list(claims.items()))
        query = (update(items).where(items.c.agent_id == agent_id, _state_in(ACTIVE), held)
                 .values(lease_expires_at=self.clock() + lease_seconds).returning(items.c.id))
        with self._write() as conn:
            renewed = {row.id for row in conn.execute(query)}
        rest = {item_id: token for item_id, token in claims.items() if item_id not in renewed}
        if not rest:
            return RenewResult(sorted(renewed), [])
        ended_query = select(items.c.id).where(
            items.c.agent_id == agent_id, _state_in(TERMINAL),
            tuple_(items.c.id, items.c.claim_token).in_(list(rest.items())))
        with self._read() as conn:
            ended = {row.id for row in conn.execute(ended_query)}
        return RenewResult(sorted(renewed), sorted(set(rest) - ended), sorted(ended))

    def sweep_expired(self, *, now: float | None = None) -> SweepResult:
        """Handle items whose lease expired (their agent is gone).

        Unsubmitted ones go back to ``queued`` (``cancelled`` if a cancel was
        requested). One that was ``building`` counts an attempt (``failed`` after
        max_attempts): its launch may be what killed the agent. One only ``claimed``
        does not: nothing of it had started, and agents killed for other reasons must
        not use up a job's attempts. Submitted/running ones lose their agent and
        become re-adoptable; they are never resubmitted.
        """
        now = self.clock() if now is None else now
        expired = (select(items).where(
            _state_in(ACTIVE), items.c.agent_id.is_not(None),
            items.c.lease_expires_at < now).with_for_update(skip_locked=True))
        return self._sweep(expired, now)

    def expire_agent(self, agent_id: str) -> SweepResult:
        """Sweep a dead agent's items now, as if its leases had lapsed (its guard saw
        its process end without a clean stop, see launch_core/agent/guard.py)."""
        held = select(items).where(items.c.agent_id == agent_id, _state_in(ACTIVE))
        return self._sweep(held.with_for_update(), self.clock())

    def _sweep(self, query: Any, now: float) -> SweepResult:
        result = SweepResult([], [], [], [])
        with self._write() as conn:
            for item in parsed(self, conn, conn.execute(query).all(), SWEEPER):
                self._expire(conn, item, result, now)
        return result

    def _expire(self, conn: Connection, item: QueueItem, result: SweepResult, now: float) -> None:
        lost = f"lease of agent {item.agent_id} expired"
        if item.state in LAUNCHED:
            base = {"agent_id": None, "lease_expires_at": None, "updated_at": now}
            self._move(conn, item, item.state, SWEEPER, f"{lost}; awaiting re-adoption", base)
            result.orphaned.append(item.id)
            return
        counted = item.state != CLAIMED  # nothing of a claimed item had started
        why = lost if counted else f"{lost} (claimed only: not counted as an attempt)"
        ended = self._another_attempt(conn, item, SWEEPER, why, now, None, counted=counted)
        {CANCELLED: result.cancelled, FAILED: result.failed}.get(
            ended.state, result.requeued).append(item.id)

    def _another_attempt(self, conn: Connection, item: QueueItem, actor: str, why: str,
                         now: float, claim: Claim | None, *, counted: bool = True
                         ) -> QueueItem:
        """An unsubmitted item goes back to ``queued`` with attempts+1 unless not
        ``counted`` (``failed`` after max_attempts, ``cancelled`` if a cancel was
        requested). Out of attempts, a queue that retries ``infra`` failures requeues
        it with its attempts reset instead, while it has retries left."""
        base: dict[str, Any] = {"agent_id": None, "lease_expires_at": None, "updated_at": now}
        if item.cancel_requested:
            return self._move(conn, item, CANCELLED, actor, why,
                              {**base, "finished_at": now}, claim)
        if not counted:
            return self._move(conn, item, QUEUED, actor, why, base, claim)
        if item.attempts + 1 >= item.max_attempts:
            again = retry_infra(self, conn, item, f"not launched after {item.attempts + 1} "
                                f"attempts; last: {why}", actor, claim)
            if again is not None:
                return again
            return self._move(conn, item, FAILED, actor, why, {
                **base, "attempts": item.attempts + 1, "finished_at": now, "stage": "agent",
                "reason": f"not launched after {item.attempts + 1} attempts; last: {why}"},
                claim)
        return self._move(conn, item, QUEUED, actor, why,
                          {**base, "attempts": item.attempts + 1}, claim)

    def give_back(self, item_id: int, claim: Claim, reason: str) -> QueueItem:
        """An agent that could not launch an unsubmitted item it holds gives it back at
        once for another attempt (counted), instead of letting its lease lapse.

        Raises LostClaim when ``claim`` no longer holds it, IllegalTransition when it
        was submitted or has ended meanwhile."""
        with self._write() as conn:
            item = self._get(conn, item_id, lock=True)
            self._check_holds(item, claim)
            if item.state not in UNSUBMITTED:
                raise IllegalTransition(item_id, item.state, QUEUED)
            return self._another_attempt(conn, item, claim.agent_id, reason, self.clock(),
                                         claim)

    def adopt(self, agent_id: str, queue_ids: Sequence[int], *, limit: int = 1,
              lease_seconds: float = DEFAULT_LEASE_SECONDS) -> list[QueueItem]:
        """Take over up to ``limit`` submitted/running items that have no agent (a new
        claim of each: its token goes up, so the agent that lost it can write nothing)."""
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
                                        claim_token=items.c.claim_token + 1, updated_at=now)
                                .returning(*items.c)).all()
            self._events(conn, [{"item_id": r.id, "from_state": r.state, "to_state": r.state,
                                 "actor": agent_id, "message": "re-adopted"} for r in rows])
            return parsed(self, conn, rows, agent_id)

    def claim_item(self, item_id: int, agent_id: str, *,
                   lease_seconds: float = DEFAULT_LEASE_SECONDS) -> QueueItem:
        """Claim one queued item by id (a job run directly by the CLI).

        Raises IllegalTransition when it is no longer queued, Conflict while it waits
        for its dependencies."""
        with self._write() as conn:
            item = self._get(conn, item_id)
            if item.held:
                raise Conflict(f"job {item_id} waits for its dependencies (--after)")
            now = self.clock()
            return self._move(conn, item, CLAIMED, agent_id, None, {
                "agent_id": agent_id, "claim_token": item.claim_token + 1, "updated_at": now,
                "lease_expires_at": now + lease_seconds})

    def release(self, agent_id: str) -> list[int]:
        """Give up an agent's items at shutdown: unsubmitted ones are requeued (no
        attempt counted), launched ones become re-adoptable. Returns their ids.

        The rows are locked as they are read, and each write is fenced by the claim
        read, so an item swept and claimed by another agent meanwhile is left alone.
        """
        now = self.clock()
        base = {"agent_id": None, "lease_expires_at": None, "updated_at": now}
        held = (select(items).where(items.c.agent_id == agent_id, _state_in(ACTIVE))
                .with_for_update())
        released = []
        with self._write() as conn:
            for item in parsed(self, conn, conn.execute(held).all(), agent_id):
                target = item.state
                if item.state in UNSUBMITTED:
                    target = CANCELLED if item.cancel_requested else QUEUED
                values = {**base, "finished_at": now} if target == CANCELLED else base
                self._move(conn, item, target, agent_id, f"released by agent {agent_id}",
                           values, item.claim)
                released.append(item.id)
        return released
