"""Queue create/get/list/update/delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from launch_core.errors import Conflict, InvalidInput, NotFound
from launch_core.spec.inputs import describe_validation_error
from launch_core.spec.models import QueueDefinition
from launch_core.store.base import StoreBase
from launch_core.store.dependencies import settle_deleted
from launch_core.store.records import QueueRecord
from launch_core.store.schema import items, queues
from launch_core.store.states import ACTIVE, QUEUED


def _record(row: Any) -> QueueRecord:
    return QueueRecord(id=row.id, definition=QueueDefinition.model_validate(row.definition),
                       created_at=row.created_at, updated_at=row.updated_at)


class QueueOps(StoreBase):
    """Queue definitions in the store."""

    def create_queue(self, definition: QueueDefinition) -> QueueRecord:
        """Store a new queue. Raises Conflict when the entity already has that name."""
        now = self.clock()
        try:
            with self._write() as conn:
                queue_id = conn.execute(insert(queues).values(
                    entity=definition.entity, name=definition.name,
                    definition=definition.model_dump(mode="json"),
                    created_at=now, updated_at=now,
                ).returning(queues.c.id)).scalar_one()
        except IntegrityError:
            raise Conflict(f"queue {definition.name!r} already exists in entity "
                           f"{definition.entity!r}") from None
        return QueueRecord(queue_id, definition, now, now)

    def get_queue(self, entity: str, name: str) -> QueueRecord:
        """The queue ``entity/name``. Raises NotFound."""
        with self._read() as conn:
            row = conn.execute(select(queues).where(
                queues.c.entity == entity, queues.c.name == name)).first()
        if row is None:
            raise NotFound(f"queue {name!r} not found in entity {entity!r}")
        return _record(row)

    def get_queue_by_id(self, queue_id: int) -> QueueRecord:
        """The queue with this id. Raises NotFound."""
        with self._read() as conn:
            row = conn.execute(select(queues).where(queues.c.id == queue_id)).first()
        if row is None:
            raise NotFound(f"queue id {queue_id} not found")
        return _record(row)

    def list_queues(self, entity: str | None = None) -> list[tuple[QueueRecord, dict[str, int]]]:
        """Queues (of ``entity`` if given) by name, each with its item counts by state."""
        query = select(queues).order_by(queues.c.entity, queues.c.name)
        if entity is not None:
            query = query.where(queues.c.entity == entity)
        counts = (select(items.c.queue_id, items.c.state, func.count())
                  .where(items.c.state.in_((QUEUED, *ACTIVE)))
                  .group_by(items.c.queue_id, items.c.state))
        with self._read() as conn:
            rows = conn.execute(query).all()
            tally: dict[int, dict[str, int]] = {}
            for queue_id, state, count in conn.execute(counts):
                tally.setdefault(queue_id, {})[state] = count
        return [(_record(row), tally.get(row.id, {})) for row in rows]

    def update_queue(self, entity: str, name: str, /, *,
                     check: Callable[[QueueDefinition], None] | None = None,
                     **changes: Any) -> QueueRecord:
        """Change fields of a queue's definition; the result is validated as a whole
        (and by ``check``, the resource's own checks).

        Raises NotFound, or InvalidInput naming the field (nothing is written then).
        """
        current = self.get_queue(entity, name)
        if {"entity", "name"} & changes.keys():
            raise InvalidInput("entity and name of a queue cannot be changed")
        merged = {**current.definition.model_dump(mode="json"), **changes}
        try:
            definition = QueueDefinition.model_validate(merged)
        except ValidationError as exc:
            raise InvalidInput(describe_validation_error(exc, "queue update")) from None
        if check is not None:
            try:
                check(definition)
            except InvalidInput as exc:
                raise InvalidInput(f"queue update: config: {exc}") from None
        now = self.clock()
        with self._write() as conn:
            conn.execute(update(queues).where(queues.c.id == current.id).values(
                definition=definition.model_dump(mode="json"), updated_at=now))
        self.forget_policies()
        return QueueRecord(current.id, definition, current.created_at, now)

    def delete_queue(self, entity: str, name: str, *, force: bool = False) -> int:
        """Delete a queue and its items; returns how many items went with it. Items of
        other queues that wait for one of them that had not finished end ``cancelled``.

        Raises Conflict while items are queued or running, unless ``force``.
        """
        with self._write() as conn:
            row = conn.execute(select(queues.c.id).where(
                queues.c.entity == entity, queues.c.name == name)).first()
            if row is None:
                raise NotFound(f"queue {name!r} not found in entity {entity!r}")
            pending = conn.execute(select(func.count()).where(
                items.c.queue_id == row.id, items.c.state.in_((QUEUED, *ACTIVE)))).scalar_one()
            if pending and not force:
                raise Conflict(f"queue {name!r} has {pending} queued or running item(s); "
                               "cancel them or use --force")
            settle_deleted(self, conn, row.id, "user")  # their dependents elsewhere end
            removed = conn.execute(delete(items).where(items.c.queue_id == row.id)).rowcount
            conn.execute(delete(queues).where(queues.c.id == row.id))
        return int(removed or 0)
