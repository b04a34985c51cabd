"""An audit of the queue store's history: what "exactly once" forbids, checked over
the events table and the items (used by the chaos test and bench, and by operators
after an incident)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import select

from launch_core.store.base import StoreBase
from launch_core.store.schema import agents, events, items
from launch_core.store.states import ACTIVE, SUBMITTED, TERMINAL, TRANSITIONS


@dataclass
class Audit:
    """What the audit found: every list empty means the history is sound."""

    items: int = 0
    events: int = 0
    resubmitted: list[str] = field(default_factory=list)  # submitted more than once per run
    out_of_final: list[str] = field(default_factory=list)  # moved after a final state
    illegal: list[str] = field(default_factory=list)  # a transition the lifecycle forbids
    dead_holders: list[str] = field(default_factory=list)  # held by an agent no longer alive

    @property
    def problems(self) -> list[str]:
        return [*self.resubmitted, *self.out_of_final, *self.illegal, *self.dead_holders]


def audit_store(store: StoreBase, *, live_after: float | None = None) -> Audit:
    """Check every item's history. ``live_after``: an agent whose last heartbeat is
    older than this timestamp (or that stopped) must hold no active item; None skips
    that check (while agents may still be sweeping)."""
    report = Audit()
    history: dict[int, list[tuple[str | None, str, str | None]]] = defaultdict(list)
    with store._read() as conn:
        for item_id, from_state, to_state, message in conn.execute(
                select(events.c.item_id, events.c.from_state, events.c.to_state,
                       events.c.message).order_by(events.c.id)):
            history[item_id].append((from_state, to_state, message))
            report.events += 1
        rows = conn.execute(select(items.c.id, items.c.state, items.c.agent_id,
                                   items.c.resume_count)).all()
        heartbeats = {row.id: (row.heartbeat_at, row.stopped_at)
                      for row in conn.execute(select(agents.c.id, agents.c.heartbeat_at,
                                                     agents.c.stopped_at))}
    report.items = len(rows)
    for row in rows:
        moves = history.get(row.id, [])
        # Transitions into submitted (a note on a submitted item is not a submission).
        submitted = Counter(to for before, to, _ in moves if before != to)[SUBMITTED]
        if submitted > row.resume_count + 1:
            report.resubmitted.append(f"item {row.id}: {submitted} submitted events for "
                                      f"{row.resume_count + 1} run(s)")
        for before, after, message in moves:
            if before == after:
                continue  # a note: an action recorded without a state change
            if before in TERMINAL:
                report.out_of_final.append(f"item {row.id}: {before} -> {after}")
            elif before is not None and after not in TRANSITIONS.get(before, frozenset()):
                report.illegal.append(f"item {row.id}: {before} -> {after} ({message})")
        if live_after is not None and row.state in ACTIVE and row.agent_id is not None:
            beat, stopped = heartbeats.get(row.agent_id, (None, None))
            if stopped is not None or beat is None or beat < live_after:
                report.dead_holders.append(f"item {row.id}: {row.state}, held by "
                                           f"{row.agent_id} (not alive)")
    return report
