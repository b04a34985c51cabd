"""Quotas over every queue of an entity (``relaunch quota``), and why an item waits."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from launch_core.errors import InvalidInput, NotFound
from launch_core.store.base import StoreBase
from launch_core.store.records import QueueItem
from launch_core.store.scheduled_claim import (
    ENTITY,
    PROJECT,
    USER,
    Quota,
    read_usage,
    waiting_reasons,
)
from launch_core.store.schema import queues, quotas

SCOPES = (ENTITY, USER, PROJECT)
MAX_QUOTA = 1_000_000


def _scope(user: str | None, project: str | None) -> tuple[str, str]:
    if user is not None and project is not None:
        raise InvalidInput("--user and --project: give one of them, or neither for the "
                           "whole entity")
    if user is not None:
        return USER, user
    if project is not None:
        return PROJECT, project
    return ENTITY, ""


class QuotaOps(StoreBase):
    """Limits on running items and GPUs, per entity, user or project."""

    def set_quota(self, entity: str, *, user: str | None = None, project: str | None = None,
                  running: int | None = None, gpus: int | None = None) -> Quota:
        """Set (or replace) the quota of ``entity``, or of one of its users or projects.

        Raises InvalidInput when neither limit is given or one is negative."""
        scope, name = _scope(user, project)
        if running is None and gpus is None:
            raise InvalidInput("quota set: give --running N, --gpus N or both")
        for flag, value in (("--running", running), ("--gpus", gpus)):
            if value is not None and not 0 <= value <= MAX_QUOTA:
                raise InvalidInput(f"{flag}: must be between 0 and {MAX_QUOTA:,}, not {value}")
        values = {"entity": entity, "scope": scope, "name": name, "running": running,
                  "gpus": gpus, "updated_at": self.clock()}
        dialect = postgresql if self.is_postgres else sqlite
        upsert = dialect.insert(quotas).values(**values)
        upsert = upsert.on_conflict_do_update(
            index_elements=["entity", "scope", "name"],
            set_={"running": running, "gpus": gpus, "updated_at": values["updated_at"]})
        with self._write() as conn:
            conn.execute(upsert)
        self.forget_policies()
        return Quota(entity, scope, name, running, gpus)

    def list_quotas(self, entity: str) -> list[Quota]:
        """The quotas of ``entity``: the entity's own first, then users, then projects."""
        with self._read() as conn:
            rows = conn.execute(select(quotas).where(quotas.c.entity == entity)).all()
        found = [Quota(r.entity, r.scope, r.name, r.running, r.gpus) for r in rows]
        return sorted(found, key=lambda q: (SCOPES.index(q.scope), q.name))

    def quota_usage(self, entity: str) -> list[tuple[Quota, int, int]]:
        """Each quota of ``entity`` with the items and GPUs it counts now."""
        with self._read() as conn:
            usage = read_usage(conn, [entity])
        return [(quota, usage.running[key], usage.gpus[key])
                for quota in self.list_quotas(entity)
                for key in [(quota.scope, quota.entity, quota.name)]]

    def delete_quota(self, entity: str, *, user: str | None = None,
                     project: str | None = None) -> None:
        """Remove a quota. Raises NotFound when there is none."""
        scope, name = _scope(user, project)
        with self._write() as conn:
            gone = conn.execute(delete(quotas).where(
                quotas.c.entity == entity, quotas.c.scope == scope,
                quotas.c.name == name)).rowcount
        if not gone:
            who = "entity" if scope == ENTITY else f"{scope} {name!r}"
            raise NotFound(f"no quota for {who} in entity {entity!r}")
        self.forget_policies()

    def waiting_reasons(self, item: QueueItem, *, uses_slots: bool = False) -> list[str]:
        """Why a queued item is not claimed now (see scheduled_claim.waiting_reasons)."""
        with self._read() as conn:
            entity = conn.execute(select(queues.c.entity).where(
                queues.c.id == item.queue_id)).scalar_one()
            return waiting_reasons(conn, item, entity, uses_slots=uses_slots)
