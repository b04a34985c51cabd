"""Dependencies between items (``relaunch launch --after``): an item waits, ``queued``
and ``held``, until every item it names has finished.

Decided where an item ends, in the transaction that ends it (``settle``: called by
every write that moves an item to a final state, StoreBase._move and the failing of an
unparsable row, and by the deletion of a queue):

- ``finished``: each queued dependent whose dependencies have now all finished is
  released (``held`` false): from then on a claim may take it. The dependents are
  locked first, in id order, so when two dependencies of an item end at once, the
  second to commit sees the first's end: the item is never left held.
- ``failed`` or ``cancelled`` (or deleted with its queue): each queued dependent ends
  ``cancelled``, its reason naming the dependency ("dependency 12 failed"), and so on
  down the chain.

A claim never takes a held item (the claim indexes leave held items out), so no agent
races a release. An enqueue locks the items it waits for (FOR SHARE) before it reads
their states: an item ending meanwhile has either committed (the enqueue sees its
end) or waits for the enqueue to commit (and its settle then sees the new dependent).

An item waits only for items that exist when it is enqueued, so only for older ones
(``after_id < item_id``, a constraint of the table): dependencies never form a cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, insert, literal_column, select, update

from launch_core.errors import InvalidInput
from launch_core.store.notify import notify_claimable
from launch_core.store.schema import MAX_ID, item_deps, items, queues
from launch_core.store.states import CANCELLED, FAILED, FINISHED, QUEUED

if TYPE_CHECKING:
    from launch_core.store.base import StoreBase

FLAG = "--after"
MAX_AFTER = 1000  # items one job may wait for
DELETED = "deleted"  # what settle says of a dependency deleted with its queue
_CHUNK = 500  # ids per IN (...) list
_queued = items.c.state == literal_column(f"'{QUEUED}'")


def lock_after(conn: Connection, entity: str, after: Iterable[int]) -> dict[int, str]:
    """The states of the items ``after`` names (id -> state), locked (FOR SHARE) until
    the transaction ends. Raises InvalidInput naming --after: an unknown id, or a job
    of another entity than ``entity``."""
    wanted = sorted(set(after))
    if len(wanted) > MAX_AFTER:
        raise InvalidInput(f"{FLAG}: at most {MAX_AFTER:,} jobs, not {len(wanted):,}")
    if not wanted:
        return {}
    for item_id in wanted:
        if not 0 < item_id <= MAX_ID:
            raise InvalidInput(f"{FLAG}: job {item_id} not found")
    found: dict[int, tuple[str, str]] = {}
    for chunk in chunks(wanted):
        rows = conn.execute(select(items.c.id, items.c.state, queues.c.entity)
                            .join(queues, queues.c.id == items.c.queue_id)
                            .where(items.c.id.in_(chunk)).order_by(items.c.id)
                            .with_for_update(of=items, read=True)).all()
        found.update((row.id, (row.state, row.entity)) for row in rows)
    for item_id in wanted:
        if item_id not in found:
            raise InvalidInput(f"{FLAG}: job {item_id} not found")
        if found[item_id][1] != entity:
            raise InvalidInput(f"{FLAG}: job {item_id} is not a job of entity {entity!r}")
    return {item_id: state for item_id, (state, _) in found.items()}


def ended_unfinished(states: Mapping[int, str]) -> tuple[int, str] | None:
    """(id, state) of the first item of ``states`` that failed or was cancelled: a job
    waiting for it can never run. None when there is none."""
    return next(((item_id, state) for item_id, state in sorted(states.items())
                 if state in (FAILED, CANCELLED)), None)


def add_dependencies(conn: Connection, item_ids: Sequence[int], after: Iterable[int]) -> None:
    """Record that each of ``item_ids`` waits for each of ``after``."""
    rows = [{"item_id": item_id, "after_id": dep} for item_id in item_ids
            for dep in sorted(set(after))]
    if rows:
        conn.execute(insert(item_deps), rows)


def dependencies_of(conn: Connection, item_id: int) -> list[tuple[int, str]]:
    """(id, state) of each item ``item_id`` waits for, by id."""
    return [(row.id, row.state) for row in conn.execute(
        select(items.c.id, items.c.state)
        .join(item_deps, item_deps.c.after_id == items.c.id)
        .where(item_deps.c.item_id == item_id).order_by(items.c.id))]


def settle(store: StoreBase, conn: Connection, ended: Mapping[int, str], actor: str) -> None:
    """Items of ``ended`` (id -> final state, or DELETED) have just ended in ``conn``'s
    transaction: release their dependents that now wait for nothing, cancel those of
    the ones that did not finish (and theirs, down the chain)."""
    done = [item_id for item_id, state in ended.items() if state == FINISHED]
    if done:
        _release(store, conn, done, actor)
    frontier = {item_id: state for item_id, state in ended.items() if state != FINISHED}
    while frontier:
        frontier = _cancel_dependents(store, conn, frontier, actor)


def settle_deleted(store: StoreBase, conn: Connection, queue_id: int, actor: str) -> None:
    """The queue ``queue_id`` is about to be deleted with its items: their dependents
    in other queues that still wait for one of them end ``cancelled``."""
    unfinished = conn.execute(select(items.c.id).where(
        items.c.queue_id == queue_id, items.c.state != FINISHED,
        items.c.id.in_(select(item_deps.c.after_id)))).scalars().all()
    settle(store, conn, dict.fromkeys(unfinished, DELETED), actor)


def _release(store: StoreBase, conn: Connection, done: list[int], actor: str) -> None:
    held: list[int] = []
    for chunk in chunks(done):
        held += conn.execute(
            select(items.c.id).join(item_deps, item_deps.c.item_id == items.c.id)
            .where(item_deps.c.after_id.in_(chunk), _queued, items.c.held)
            .order_by(items.c.id).with_for_update(of=items)).scalars().all()
    candidates = sorted(set(held))
    if not candidates:
        return
    waiting: set[int] = set()
    for chunk in chunks(candidates):  # read after the locks: others' ends are visible
        waiting.update(conn.execute(
            select(item_deps.c.item_id).join(items, items.c.id == item_deps.c.after_id)
            .where(item_deps.c.item_id.in_(chunk), items.c.state != FINISHED)).scalars())
    ready = [item_id for item_id in candidates if item_id not in waiting]
    now = store.clock()
    queue_ids: set[int] = set()
    for chunk in chunks(ready):
        queue_ids.update(conn.execute(update(items).where(items.c.id.in_(chunk))
                                      .values(held=False, updated_at=now)
                                      .returning(items.c.queue_id)).scalars())
    notify_claimable(conn, queue_ids)
    store._events(conn, [{"item_id": item_id, "from_state": QUEUED, "to_state": QUEUED,
                          "actor": actor, "message": "dependencies finished"}
                         for item_id in ready])


def _cancel_dependents(store: StoreBase, conn: Connection, frontier: Mapping[int, str],
                       actor: str) -> dict[int, str]:
    """Cancel the queued items waiting for one of ``frontier``; returns them, cancelled."""
    why: dict[int, str] = {}
    for chunk in chunks(sorted(frontier)):
        for row in conn.execute(select(item_deps.c.item_id, item_deps.c.after_id)
                                .join(items, items.c.id == item_deps.c.item_id)
                                .where(item_deps.c.after_id.in_(chunk), _queued)
                                .order_by(item_deps.c.item_id, item_deps.c.after_id)):
            why.setdefault(row.item_id, f"dependency {row.after_id} {frontier[row.after_id]}")
    by_reason: dict[str, list[int]] = {}
    for item_id, reason in sorted(why.items()):
        by_reason.setdefault(reason, []).append(item_id)
    now = store.clock()
    cancelled: list[tuple[int, str]] = []
    for reason, ids in by_reason.items():
        for chunk in chunks(ids):
            moved = conn.execute(update(items).where(items.c.id.in_(chunk), _queued).values(
                state=CANCELLED, reason=reason, finished_at=now, updated_at=now,
                lease_expires_at=None).returning(items.c.id)).scalars().all()
            cancelled += [(item_id, reason) for item_id in moved]
    store._events(conn, [{"item_id": item_id, "from_state": QUEUED, "to_state": CANCELLED,
                          "actor": actor, "message": reason}
                         for item_id, reason in cancelled])
    return {item_id: CANCELLED for item_id, _ in cancelled}


def chunks(ids: Sequence[Any]) -> list[Sequence[Any]]:
    """``ids`` in slices short enough for one ``IN (...)`` list."""
    return [ids[n:n + _CHUNK] for n in range(0, len(ids), _CHUNK)]
