"""``relaunch queue stats``: what a queue holds now and what it did in a recent window.

Computed from ``items`` and ``events`` with indexed queries (migration 0006), each run
once for all the queues asked about:

- queued items (held ones too) by priority and the oldest one's enqueue time
  (``ix_items_queue_state``);
- active items (claimed to running), per user or project under fair share;
- items that ended in the window by state, their run times and the reasons of the
  failed ones (``ix_items_ended``: queue, finished_at, state, started_at);
- the wait of the items whose first start is in the window: a start is a
  ``submitted -> running`` event (``ix_events_start_at``, ``ix_events_start_item``).

What each figure measures, retries and re-queues included: docs/cli.md
("relaunch queue stats").
"""

from __future__ import annotations

import contextlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Connection,
    FromClause,
    and_,
    exists,
    func,
    literal_column,
    select,
)

from launch_core.errors import InvalidInput
from launch_core.spec.models import PRIORITY_NAME
from launch_core.store.base import StoreBase
from launch_core.store.claims import _state_in
from launch_core.store.records import QueueRecord
from launch_core.store.schema import events, items
from launch_core.store.states import ACTIVE, FAILED, QUEUED, RUNNING, SUBMITTED

TOP_REASONS = 5
# Tokens of a failure reason that change from job to job while what went wrong does
# not: ids and digests (8 or more characters, with letters and digits), decimals and
# long numbers (pids, ports, sizes). Exit codes, counts and durations like 30m stay.
_ID = re.compile(r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{8,}(?![\w-])")
_NUMBER = re.compile(r"\d+\.\d+|\d{4,}")


@dataclass(frozen=True)
class Spread:
    """How many durations (seconds) there were and their 50th and 95th percentiles
    (nearest rank, see ``nearest_rank``); None without any."""

    count: int
    p50: float | None
    p95: float | None

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        data = sorted(values)
        return cls(len(data), nearest_rank(data, 50), nearest_rank(data, 95))


@dataclass(frozen=True)
class FailureReason:
    """Failed items of one stage whose reasons read the same once ids and long
    numbers are set aside (``reason``), with one of their reasons as written."""

    stage: str | None
    reason: str
    count: int
    example: str


@dataclass(frozen=True)
class QueueStats:
    """One queue's figures at ``now``; ``window`` seconds back for those of the window."""

    entity: str
    queue: str
    now: float
    window: float
    queued: dict[str, int]  # by priority name, all four
    oldest_queued_at: float | None
    running: int  # active: claimed, building, submitted or running
    ended: dict[str, int]  # finished / failed / cancelled in the window
    wait: Spread  # enqueue -> first start, of the items first started in the window
    run: Spread  # start -> end of the last run, of the items that ended in the window
    failure_reasons: list[FailureReason]
    fair_share: str | None = None  # 'user' or 'project' when the queue shares by it
    running_by: dict[str, int] = field(default_factory=dict)  # its active items by it


def nearest_rank(data: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile of sorted ``data`` by nearest rank: the smallest value
    that at least p% of the values are less than or equal to (always a value of the
    data; None when there is none)."""
    if not data:
        return None
    return data[max(0, math.ceil(p / 100 * len(data)) - 1)]


def reason_key(reason: str) -> str:
    """``reason`` with its ids (``<id>``) and decimals or long numbers (``<n>``)
    replaced, so failures that differ only by them count together."""
    return _NUMBER.sub("<n>", _ID.sub("<id>", reason)).strip()


def top_reasons(rows: Sequence[tuple[str | None, str | None, int]],
                limit: int = TOP_REASONS) -> list[FailureReason]:
    """(stage, reason, count) rows grouped by stage and ``reason_key``: the ``limit``
    largest groups, most items first (then stage, then reason); each group's example
    is its reason written most often (the first in text order of those)."""
    counts: Counter[tuple[str | None, str]] = Counter()
    examples: dict[tuple[str | None, str], tuple[int, str]] = {}  # (-count, reason)
    for stage, reason, count in rows:
        text = reason or "failed"
        key = (stage, reason_key(text))
        counts[key] += count
        examples[key] = min(examples.get(key, (-count, text)), (-count, text))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0] or "", kv[0][1]))
    return [FailureReason(stage, reason, count, examples[(stage, reason)][1])
            for (stage, reason), count in ranked[:limit]]


def _starts(table: FromClause) -> ColumnElement[bool]:
    # Literals, not bound parameters: the partial indexes' predicate must be seen as
    # met (by SQLite, and by PostgreSQL's generic plans).
    return and_(table.c.from_state == literal_column(f"'{SUBMITTED}'"),
                table.c.to_state == literal_column(f"'{RUNNING}'"))


class StatsOps(StoreBase):
    """Figures of queues for ``relaunch queue stats``."""

    def queue_stats(self, queues: Sequence[QueueRecord], window: float) -> list[QueueStats]:
        """The figures of each of ``queues`` (in that order) now, with those of the
        last ``window`` seconds. Raises InvalidInput for a window that is not > 0."""
        if not window > 0:
            raise InvalidInput(f"window: must be more than 0 seconds, not {window}")
        if not queues:
            return []
        now = self.clock()
        since = now - window
        ids = [queue.id for queue in queues]
        with self._snapshot() as conn:
            queued, oldest = self._queued(conn, ids)
            running = self._running(conn, ids)
            ended = self._ended(conn, ids, since)
            waits = self._waits(conn, ids, since)
            runs = self._runs(conn, ids, since)
            reasons = self._reasons(conn, ids, since)
            shares = {queue.id: queue.definition.policy.fair_share for queue in queues}
            running_by = self._running_by(conn, shares)
        return [QueueStats(
            entity=queue.entity, queue=queue.name, now=now, window=window,
            queued={name: queued[queue.id].get(rank, 0) for rank, name in PRIORITY_NAME.items()},
            oldest_queued_at=oldest.get(queue.id), running=running.get(queue.id, 0),
            ended=ended[queue.id], wait=Spread.of(waits[queue.id]),
            run=Spread.of(runs[queue.id]), failure_reasons=top_reasons(reasons[queue.id]),
            fair_share=None if shares[queue.id] == "none" else shares[queue.id],
            running_by=running_by.get(queue.id, {})) for queue in queues]

    @contextlib.contextmanager
    def _snapshot(self) -> Iterator[Connection]:
        """A read transaction whose queries all see the same committed data (SQLite's
        read transactions do; PostgreSQL's take REPEATABLE READ for it)."""
        with self.engine.connect() as conn:
            if self.is_postgres:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @staticmethod
    def _running(conn: Connection, ids: list[int]) -> dict[int, int]:
        """Active items by queue."""
        query = (select(items.c.queue_id, func.count())
                 .where(items.c.queue_id.in_(ids), _state_in(ACTIVE))
                 .group_by(items.c.queue_id))
        return {queue_id: int(n) for queue_id, n in conn.execute(query)}

    @staticmethod
    def _queued(conn: Connection, ids: list[int]
                ) -> tuple[defaultdict[int, dict[int, int]], dict[int, float]]:
        """Queued items by queue and priority rank; the oldest enqueue time by queue."""
        by_rank: defaultdict[int, dict[int, int]] = defaultdict(dict)
        oldest: dict[int, float] = {}
        query = (select(items.c.queue_id, items.c.priority, func.count(),
                        func.min(items.c.enqueued_at))
                 .where(items.c.queue_id.in_(ids), items.c.state == QUEUED)
                 .group_by(items.c.queue_id, items.c.priority))
        for queue_id, rank, count, first in conn.execute(query):
            by_rank[queue_id][rank] = int(count)
            oldest[queue_id] = min(oldest.get(queue_id, first), first)
        return by_rank, oldest

    @staticmethod
    def _ended(conn: Connection, ids: list[int], since: float
               ) -> defaultdict[int, dict[str, int]]:
        """Items that ended at or after ``since``, by queue and final state."""
        found: defaultdict[int, dict[str, int]] = defaultdict(
            lambda: {"finished": 0, "failed": 0, "cancelled": 0})
        query = (select(items.c.queue_id, items.c.state, func.count())
                 .where(items.c.queue_id.in_(ids), items.c.finished_at >= since)
                 .group_by(items.c.queue_id, items.c.state))
        for queue_id, state, count in conn.execute(query):
            found[queue_id][state] = int(count)
        return found

    @staticmethod
    def _waits(conn: Connection, ids: list[int], since: float
               ) -> defaultdict[int, list[float]]:
        """Enqueue to first start (seconds, never below 0: clocks of two hosts may
        disagree) of the items whose first start is at or after ``since``."""
        earlier = events.alias("earlier")
        # Starts in the window first, then their items: ``queue_id + 0`` keeps SQLite
        # (no statistics: it guesses a queue holds ten items) from reading every item
        # of the queue through an index on queue_id instead.
        query = (select(items.c.queue_id, events.c.at - items.c.enqueued_at)
                 .select_from(events.join(items, items.c.id == events.c.item_id))
                 .where(_starts(events), events.c.at >= since,
                        (items.c.queue_id + 0).in_(ids),
                        ~exists().where(_starts(earlier), earlier.c.item_id == events.c.item_id,
                                        earlier.c.id < events.c.id)))
        found: defaultdict[int, list[float]] = defaultdict(list)
        for queue_id, wait in conn.execute(query):
            found[queue_id].append(max(0.0, float(wait)))
        return found

    @staticmethod
    def _runs(conn: Connection, ids: list[int], since: float
              ) -> defaultdict[int, list[float]]:
        """Start to end (seconds) of the last run of the items that ended at or after
        ``since`` (those that never ran have no start)."""
        query = (select(items.c.queue_id, items.c.finished_at - items.c.started_at)
                 .where(items.c.queue_id.in_(ids), items.c.finished_at >= since,
                        items.c.started_at.is_not(None)))
        found: defaultdict[int, list[float]] = defaultdict(list)
        for queue_id, run in conn.execute(query):
            found[queue_id].append(max(0.0, float(run)))
        return found

    @staticmethod
    def _reasons(conn: Connection, ids: list[int], since: float
                 ) -> defaultdict[int, list[tuple[str | None, str | None, int]]]:
        """(stage, reason, count) of the items that failed at or after ``since``."""
        query = (select(items.c.queue_id, items.c.stage, items.c.reason, func.count())
                 .where(items.c.queue_id.in_(ids), items.c.finished_at >= since,
                        items.c.state == FAILED)
                 .group_by(items.c.queue_id, items.c.stage, items.c.reason))
        found: defaultdict[int, list[tuple[str | None, str | None, int]]] = defaultdict(list)
        for queue_id, stage, reason, count in conn.execute(query):
            found[queue_id].append((stage, reason, int(count)))
        return found

    @staticmethod
    def _running_by(conn: Connection, shares: Mapping[int, str]) -> dict[int, dict[str, int]]:
        """Active items of each fair-share queue, by user (submitter) or project."""
        found: dict[int, dict[str, int]] = {}
        for share, column in (("user", items.c.submitter), ("project", items.c.project)):
            ids = [queue_id for queue_id, how in shares.items() if how == share]
            if not ids:
                continue
            query = (select(items.c.queue_id, column, func.count())
                     .where(items.c.queue_id.in_(ids), _state_in(ACTIVE))
                     .group_by(items.c.queue_id, column).order_by(items.c.queue_id, column))
            for queue_id in ids:
                found[queue_id] = {}
            for queue_id, name, count in conn.execute(query):
                found[queue_id][name] = int(count)
        return found
