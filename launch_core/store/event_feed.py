"""The store's event log read as a feed of job state changes, for a relay that
publishes them (flows/job_events.py sends them to Prefect as ``relaunch.job.<name>``).

Every writer (an enqueue, a cancel, an agent, a sweep, a guard) logs each transition in
``events`` in the transaction that makes it, so the log is complete whoever wrote it.
A feed reads the rows of a few queues after a cursor (an ``events.id``). On PostgreSQL
an id is taken when a row is inserted, not when it commits: a row can become visible
after rows with higher ids. The feed remembers the ids it skipped over (gaps) and looks
for them again at each read for ``gap_wait`` seconds; a gap still empty then was a
rolled-back insert. On SQLite writes are serial and there are no such gaps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, or_, select

from launch_core.masking import mask
from launch_core.spec.failure_class import PREEMPTION, RETRY_PREFIX
from launch_core.store.base import StoreBase
from launch_core.store.schema import events, items, queues
from launch_core.store.states import CLAIMED, LAUNCHED, QUEUED, TERMINAL

# The note a launch-job flow run writes first (flows/job_events.py): "flow run <id>".
FLOW_RUN_NOTE = "flow run "
PREEMPTED = "preempted"  # the name of a launched job's requeue by preemption
GAP_WAIT = 10.0  # seconds a skipped id is looked for again (a transaction's longest commit)
BATCH = 500  # event rows read at most per read


@dataclass(frozen=True)
class JobEvent:
    """One state change of a job, as a relay publishes it.

    ``name`` is the state the job entered, or ``preempted`` for a launched job sent
    back to the queue by a preemption. ``stage``, ``reason`` and ``exit_code`` are
    the item's once it has ended (only a terminal event carries them: they are read
    from the item's row, which changes until then). ``flow_run`` is the launch-job
    flow run the change happened in or ended: the last one the item's log names
    before this event, since its last claim; none for a change made while the job
    was queued (its enqueue, claim, a cancel or failure while queued).
    """

    event_id: int
    name: str
    at: float
    from_state: str | None
    to_state: str
    actor: str
    message: str | None
    item_id: int
    run_id: str
    queue: str
    entity: str
    resource: str
    project: str
    user: str
    stage: str | None = None
    reason: str | None = None
    exit_code: int | None = None
    flow_run: str | None = None


def event_name(from_state: str | None, to_state: str, message: str | None) -> str | None:
    """The name a logged transition is published under; None for a row that records
    an action without a state change (a note, a re-adoption, a cancel request).

    A launched job that goes back to ``queued`` was preempted, unless a retry sent
    it back (its message starts ``retry ``); a retry after a preemption is both:
    ``preempted``. Any other move is named after the state it enters."""
    if from_state == to_state:
        return None
    if to_state == QUEUED and from_state in LAUNCHED:
        text = message or ""
        if not text.startswith(RETRY_PREFIX) or f"after {PREEMPTION.about}" in text:
            return PREEMPTED
    return to_state


@dataclass
class _Gap:
    """Ids ``low``..``high`` skipped over at ``since`` (monotonic); ``found`` those
    read since."""

    low: int
    high: int
    since: float
    found: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class _Queue:
    entity: str
    name: str
    resource: str


class EventFeed:
    """The job state changes of ``queue_ids`` logged after event id ``after``."""

    def __init__(self, store: StoreBase, queue_ids: Collection[int], *, after: int,
                 gap_wait: float = GAP_WAIT, batch: int = BATCH,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.seen = store, after
        self.gap_wait, self.batch, self.clock = gap_wait, batch, clock
        self.gaps: list[_Gap] = []
        self.full = False  # the last read stopped at ``batch`` rows: more are waiting
        with store._read() as conn:
            rows = conn.execute(select(queues.c.id, queues.c.entity, queues.c.name,
                                       queues.c.definition)
                                .where(queues.c.id.in_(list(queue_ids)))).all()
        self.queues = {row.id: _Queue(row.entity, row.name, str(row.definition["resource"]))
                       for row in rows}

    def read(self) -> list[JobEvent]:
        """The state changes logged since the last read (and those of earlier gaps
        that became visible), oldest first. Advances the cursor."""
        with self.store._read() as conn:
            ids = self._new_ids(conn) + self._found_in_gaps(conn)
            found = self._details(conn, ids) if ids else []
            return self._with_flow_runs(conn, found) if found else []

    def _new_ids(self, conn: Any) -> list[int]:
        """Ids of our queues' rows after the cursor; records the ids skipped over."""
        rows = conn.execute(select(events.c.id, items.c.queue_id)
                            .join(items, items.c.id == events.c.item_id)
                            .where(events.c.id > self.seen)
                            .order_by(events.c.id).limit(self.batch)).all()
        if not rows and self.store.engine.dialect.name == "sqlite":
            self._after_deleted_tail(conn)
        self.full = len(rows) == self.batch
        now = self.clock()
        for row in rows:
            if row.id > self.seen + 1:
                self.gaps.append(_Gap(self.seen + 1, row.id - 1, now))
            self.seen = row.id
        return [row.id for row in rows if row.queue_id in self.queues]

    def _after_deleted_tail(self, conn: Any) -> None:
        # SQLite gives a new row the largest id + 1: after the newest rows were
        # deleted (a queue's, with its items), it hands their ids out again.
        last = conn.execute(select(func.max(events.c.id))).scalar() or 0
        self.seen = min(self.seen, last)

    def _found_in_gaps(self, conn: Any) -> list[int]:
        """Ids of our queues' rows that appeared in gaps; drops gaps past gap_wait
        (after this last look)."""
        if not self.gaps:
            return []
        rows = conn.execute(select(events.c.id, items.c.queue_id)
                            .join(items, items.c.id == events.c.item_id)
                            .where(or_(*[events.c.id.between(g.low, g.high)
                                         for g in self.gaps]))).all()
        found = []
        for row in rows:
            gap = next(g for g in self.gaps if g.low <= row.id <= g.high)
            if row.id not in gap.found:
                gap.found.add(row.id)
                if row.queue_id in self.queues:
                    found.append(row.id)
        deadline = self.clock() - self.gap_wait
        self.gaps = [g for g in self.gaps if g.since > deadline
                     and len(g.found) < g.high - g.low + 1]
        return found

    def _details(self, conn: Any, ids: Sequence[int]) -> list[JobEvent]:
        rows = conn.execute(select(
            events.c.id, events.c.item_id, events.c.from_state, events.c.to_state,
            events.c.actor, events.c.at, events.c.message, items.c.run_id,
            items.c.queue_id, items.c.submitter, items.c.project, items.c.state,
            items.c.stage, items.c.reason, items.c.exit_code)
            .join(items, items.c.id == events.c.item_id)
            .where(events.c.id.in_(list(ids))).order_by(events.c.id)).all()
        found = []
        for row in rows:
            name = event_name(row.from_state, row.to_state, row.message)
            if name is None:
                continue
            queue = self.queues[row.queue_id]
            ended = row.to_state in TERMINAL
            found.append(JobEvent(
                event_id=row.id, name=name, at=row.at, from_state=row.from_state,
                to_state=row.to_state, actor=row.actor,
                message=mask(row.message) if row.message else None, item_id=row.item_id,
                run_id=row.run_id, queue=queue.name, entity=queue.entity,
                resource=queue.resource, project=row.project, user=row.submitter,
                stage=row.stage if ended else None,
                reason=mask(row.reason) if ended and row.reason else None,
                exit_code=row.exit_code if ended else None))
        return found

    def _with_flow_runs(self, conn: Any, found: list[JobEvent]) -> list[JobEvent]:
        """Each event with the launch-job flow run it belongs to (see JobEvent)."""
        wanted = [e for e in found if e.from_state not in (None, QUEUED)]
        if not wanted:
            return found
        last = max(e.event_id for e in wanted)
        marks = conn.execute(select(events.c.id, events.c.item_id, events.c.to_state,
                                    events.c.from_state, events.c.message)
                             .where(events.c.item_id.in_({e.item_id for e in wanted}),
                                    events.c.id < last,
                                    or_(and_(events.c.to_state == CLAIMED,
                                             events.c.from_state != CLAIMED),
                                        events.c.message.startswith(FLOW_RUN_NOTE)))
                             .order_by(events.c.id)).all()
        result = []
        for event in found:
            run = None
            if event.from_state not in (None, QUEUED):
                for mark in marks:
                    if mark.item_id == event.item_id and mark.id < event.event_id:
                        note = mark.message or ""
                        is_note = mark.from_state == mark.to_state and \
                            note.startswith(FLOW_RUN_NOTE)
                        run = note[len(FLOW_RUN_NOTE):] if is_note else None
            result.append(event if run is None else replace(event, flow_run=run))
        return result


def head(store: StoreBase) -> int:
    """The largest event id logged so far (0 for none): a feed started there reads
    only what is logged from now on."""
    with store._read() as conn:
        return int(conn.execute(select(func.max(events.c.id))).scalar() or 0)


def published_last(store: StoreBase, candidates: Collection[tuple[str, int]]) -> int | None:
    """Of ``candidates`` ((run id, event id) pairs a relay published, as the
    orchestrator returns them), the largest event id that is one of this store's:
    the same id with the same job's run id. None when none is."""
    if not candidates:
        return None
    wanted = set(candidates)
    with store._read() as conn:
        rows = conn.execute(select(events.c.id, items.c.run_id)
                            .join(items, items.c.id == events.c.item_id)
                            .where(events.c.id.in_({e for _, e in wanted}))).all()
    ours = [row.id for row in rows if (row.run_id, row.id) in wanted]
    return max(ours) if ours else None
