"""Groups of items: an array (``relaunch launch --array``) enqueues one job per index,
all in one new group and one transaction; a sweep puts its trials in one group
(``enqueue(..., group=...)``). ``job list --group`` and ``job cancel --group`` act on
the group's items in one entity's queues."""

from __future__ import annotations

import secrets
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update

from launch_core.errors import InvalidInput, NotFound
from launch_core.spec.arrays import MAX_ARRAY
from launch_core.spec.models import LaunchSpec
from launch_core.store.dependencies import chunks, dependencies_of, settle
from launch_core.store.items import ItemOps
from launch_core.store.records import QueueItem, QueueRecord
from launch_core.store.schema import items, queues
from launch_core.store.states import ACTIVE, CANCELLED, QUEUED

_GROUP_ALPHABET = string.ascii_lowercase + string.digits


def new_group_id() -> str:
    """A random 8-character group id (lowercase letters and digits, like W&B's sweep
    ids)."""
    return "".join(secrets.choice(_GROUP_ALPHABET) for _ in range(8))


@dataclass(frozen=True)
class GroupCancel:
    """What ``cancel_group`` did, by item id: cancelled at once (they were queued), and
    flagged for their agents to stop (active)."""

    cancelled: list[int]
    requested: list[int]


class GroupOps(ItemOps):
    """Arrays, groups and the dependencies a job waits for."""

    def enqueue_array(self, queue: QueueRecord, spec: LaunchSpec, indices: Sequence[int], *,
                      code_blob: bytes | None = None, max_attempts: int = 3,
                      actor: str = "user", gpus: int = 0, after: Iterable[int] = ()
                      ) -> list[QueueItem]:
        """One job of ``spec`` per array index, in index order, all in a new group and
        one transaction (all or nothing). Each job's run sees its index as
        RELAUNCH_ARRAY_INDEX; with ``after``, every one waits for the same jobs (see
        ``enqueue``). Raises InvalidInput naming --array: no index, a repeated one,
        or more than MAX_ARRAY."""
        if not indices:
            raise InvalidInput("--array: no index given")
        if len(indices) > MAX_ARRAY:
            raise InvalidInput(f"--array: at most {MAX_ARRAY:,} jobs, not {len(indices):,}")
        if len(set(indices)) != len(indices):
            raise InvalidInput("--array: an index is repeated")
        return self._enqueue(queue, spec, list(indices), code_blob=code_blob,
                             max_attempts=max_attempts, actor=actor, gpus=gpus,
                             group=new_group_id(), after=after)

    def dependencies(self, item_id: int) -> list[tuple[int, str]]:
        """(id, state) of each job ``item_id`` waits for (launch --after), by id."""
        with self._read() as conn:
            return dependencies_of(conn, item_id)

    def cancel_group(self, entity: str, group: str, *, actor: str = "user") -> GroupCancel:
        """Cancel every unfinished job of ``group`` in ``entity``'s queues, in one
        transaction: a queued one at once (and the jobs waiting for it, as any cancel
        does), an active one flagged ``cancel_requested`` for its agent to stop.

        Raises NotFound naming --group when the entity has no job in that group."""
        with self._write() as conn:
            rows = conn.execute(select(items.c.id, items.c.state, items.c.cancel_requested)
                                .where(items.c.group_id == group, items.c.queue_id.in_(
                                    select(queues.c.id).where(queues.c.entity == entity)))
                                .order_by(items.c.id)).all()
            if not rows:
                raise NotFound(f"--group: no jobs in group {group!r} of entity {entity!r}")
            queued = [row.id for row in rows if row.state == QUEUED]
            active = [row.id for row in rows if row.state in ACTIVE and not row.cancel_requested]
            now = self.clock()
            cancelled: list[int] = []
            for chunk in chunks(queued):
                cancelled += conn.execute(update(items).where(
                    items.c.id.in_(chunk), items.c.state == QUEUED).values(
                    state=CANCELLED, finished_at=now, updated_at=now, lease_expires_at=None,
                ).returning(items.c.id)).scalars().all()
            self._events(conn, [{"item_id": item_id, "from_state": QUEUED,
                                 "to_state": CANCELLED, "actor": actor,
                                 "message": f"cancelled with group {group}"}
                                for item_id in cancelled])
            settle(self, conn, dict.fromkeys(cancelled, CANCELLED), actor)
            requested: list[tuple[int, str]] = []
            for chunk in chunks(active):
                requested += [(row.id, row.state) for row in conn.execute(
                    update(items).where(items.c.id.in_(chunk), items.c.state.in_(ACTIVE))
                    .values(cancel_requested=True, updated_at=now)
                    .returning(items.c.id, items.c.state))]
            self._events(conn, [{"item_id": item_id, "from_state": state, "to_state": state,
                                 "actor": actor, "message": "cancel requested"}
                                for item_id, state in requested])
        return GroupCancel(sorted(cancelled), sorted(item_id for item_id, _ in requested))
