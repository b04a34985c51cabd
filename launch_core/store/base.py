"""The store's connection handling, shared by its operation mixins."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from launch_core.errors import IllegalTransition, LostClaim, NotFound
from launch_core.masking import mask, mask_data
from launch_core.store.dependencies import settle
from launch_core.store.engine import create_store_engine, ensure_schema
from launch_core.store.records import Claim, QueueItem
from launch_core.store.schema import MAX_ID, events, items
from launch_core.store.states import TERMINAL

# Item columns people read (job status, job list): secret values are masked in them.
_SHOWN = frozenset({"reason", "handle", "stage"})


def _masked(row: dict[str, Any]) -> str | None:
    message = row.get("message")
    return mask(message) if isinstance(message, str) else None


class StoreBase:
    """Owns the engine; gives read and write transactions and writes events."""

    def __init__(self, url: str | None = None, *, clock: Callable[[], float] = time.time,
                 engine: Engine | None = None) -> None:
        self.engine = engine or create_store_engine(url)
        self.clock = clock
        ensure_schema(self.engine)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextlib.contextmanager
    def _write(self) -> Iterator[Connection]:
        """A transaction that holds the write lock on SQLite from its first statement."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(sqlite_immediate=True)
            with conn.begin():
                yield conn

    @contextlib.contextmanager
    def _read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def _events(self, conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Append audit events: dicts with item_id, from_state, to_state, actor, message."""
        if rows:
            now = self.clock()
            conn.execute(insert(events), [{"at": now, **row, "message": _masked(row)}
                                          for row in rows])

    def _get(self, conn: Connection, item_id: int, *, lock: bool = False) -> QueueItem:
        if not 0 < item_id <= MAX_ID:  # past a 64-bit column: no query could say
            raise NotFound(f"job {item_id} not found: job ids go from 1 to {MAX_ID}")
        query = select(items).where(items.c.id == item_id)
        row = conn.execute(query.with_for_update() if lock else query).first()
        if row is None:
            raise NotFound(f"job {item_id} not found")
        return QueueItem.from_row(row)

    def _move(self, conn: Connection, item: QueueItem, target: str, actor: str,
              message: str | None, values: dict[str, Any], claim: Claim | None = None
              ) -> QueueItem:
        """The one guarded write of an item: it happens only if the item is still in
        the state we read and, with ``claim``, still held under that claim (fencing).

        Raises LostClaim when the claim no longer holds, IllegalTransition when
        another process moved the item first. Logs the event in the same transaction;
        an item that ends settles its dependents there too (dependencies.py).
        """
        query = update(items).where(items.c.id == item.id, items.c.state == item.state)
        if claim is not None:
            query = query.where(items.c.agent_id == claim.agent_id,
                                items.c.claim_token == claim.token)
        values = {key: mask_data(value) if key in _SHOWN else value
                  for key, value in values.items()}
        row = conn.execute(query.values(state=target, **values).returning(*items.c)).first()
        if row is None:
            current = self._get(conn, item.id)
            if claim is not None and current.claim != claim:
                raise LostClaim(item.id, claim.agent_id, claim.token)
            raise IllegalTransition(item.id, current.state, target)
        self._events(conn, [{"item_id": item.id, "from_state": item.state, "to_state": target,
                             "actor": actor, "message": message}])
        if target in TERMINAL:
            settle(self, conn, {item.id: target}, actor)
        return QueueItem.from_row(row)

    @staticmethod
    def _check_holds(item: QueueItem, claim: Claim | None) -> None:
        """Raise LostClaim when ``claim`` is given and no longer holds ``item``."""
        if claim is not None and item.claim != claim:
            raise LostClaim(item.id, claim.agent_id, claim.token)

    def forget_policies(self) -> None:
        """Make this store object's next claim read queue policies and quotas again
        (claims.py remembers them for a second)."""
        self.__dict__.pop("_policy_cache", None)

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
