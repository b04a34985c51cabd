"""The store's connection handling, shared by its operation mixins."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert

from launch_core.store.engine import create_store_engine, ensure_schema
from launch_core.store.schema import events


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
            conn.execute(insert(events), [{"at": now, "message": None, **row} for row in rows])

    def dispose(self) -> None:
        """Close pooled connections."""
        self.engine.dispose()
