"""Connecting to the queue store: URL resolution, engines, schema migrations."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from launch_core.backends.table import EXTRA_MODULES, has_module
from launch_core.errors import MissingExtra, PermissionDenied, StoreError
from launch_core.masking import add_secret
from launch_core.private_files import open_private, private_dir, touch_private

# Bump together with a new file in migrations/versions (a test checks they agree).
SCHEMA_HEAD = "0009"
_MIGRATIONS = Path(__file__).parent / "migrations"
_PG_MIGRATION_LOCK = 7_305_551_021


def data_dir() -> Path:
    """Where relaunch keeps its embedded database and code blobs."""
    configured = os.environ.get("RELAUNCH_DATA_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "relaunch"


def private_data_dir() -> Path:
    """The data dir, made (or made again) 0700: only its user reads what is in it."""
    return private_dir(data_dir(), tighten=True)


def database_url(url: str | None = None) -> str:
    """The store URL: ``url``, else RELAUNCH_DATABASE_URL, else the embedded SQLite file."""
    url = url or os.environ.get("RELAUNCH_DATABASE_URL")
    if not url:
        return f"sqlite:///{data_dir() / 'relaunch.db'}"
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def create_store_engine(url: str | None = None) -> Engine:
    """An engine for the store. SQLite gets WAL, a busy timeout and explicit BEGINs."""
    resolved = make_url(database_url(url))
    add_secret(resolved.password)
    if resolved.get_backend_name() == "sqlite":
        return _sqlite_engine(resolved)
    if resolved.get_backend_name() == "postgresql":
        if not has_module(EXTRA_MODULES["postgres"]):
            raise MissingExtra("queue store", "postgresql", "postgres")
        engine = create_engine(resolved, pool_pre_ping=True, pool_size=2, max_overflow=8)
        event.listen(engine, "handle_error", _permission_denied)
        return engine
    raise StoreError(f"database: unsupported URL scheme {resolved.drivername!r} "
                     "(use sqlite:/// or postgresql://)")


def _permission_denied(context: Any) -> None:
    """Turn PostgreSQL's insufficient_privilege (a role without the grant for this
    action, docs/access.md) into a one-line PermissionDenied."""
    original = context.original_exception
    if getattr(original, "sqlstate", None) == "42501":
        user = context.engine.url.username if context.engine is not None else None
        detail = str(original).strip().splitlines()[0] if str(original).strip() else "denied"
        raise PermissionDenied(f"queue store: {detail} (database user {user!r}; "
                               "see docs/access.md)") from None


def _sqlite_engine(url: Any) -> Engine:
    path = Path(url.database) if url.database and url.database != ":memory:" else None
    read_only = path is not None and is_read_only(path)
    if path is not None and not read_only:
        _create_private(path)
    options: dict[str, Any] = {"connect_args": {"timeout": 30, "check_same_thread": False}}
    if path is not None and read_only:
        options = {"creator": functools.partial(_connect_read_only, path)}
    engine = create_engine(url, **options)
    if path is not None:
        event.listen(engine, "handle_error", functools.partial(_sqlite_error, path))

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (below)
        cursor = dbapi_conn.cursor()
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock up front so two claimers never both read
        # the same head of the queue (and no deadlock on lock upgrade).
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def is_read_only(path: Path) -> bool:
    """Whether the SQLite store at ``path`` exists but may only be read: the file or
    its folder (where SQLite keeps its -wal, -shm and our lock file) is not writable,
    as on a read-only mount."""
    return path.exists() and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def _create_private(path: Path) -> None:
    """The store's folder and file, made private (0700, 0600) if missing. SQLite
    gives the -wal and -shm files it makes the mode of the database file."""
    try:
        private_dir(path.parent, tighten=path.parent == data_dir())
        touch_private(path)
    except OSError as exc:
        raise StoreError(f"queue store {path}: cannot create it: {exc.strerror}") from None


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection. With a -wal file (a writer's last commits) SQLite reads
    it too (``mode=ro``); without one the file is the whole database, opened
    ``immutable`` (SQLite cannot make the -shm a WAL database needs in a read-only
    folder)."""
    option = "mode=ro" if Path(f"{path}-wal").exists() else "immutable=1"
    uri = f"file:{quote(str(path.absolute()))}?{option}"
    return sqlite3.connect(uri, uri=True, timeout=30, check_same_thread=False)


def _sqlite_error(path: Path, context: Any) -> None:
    """Name the store's file in the errors that are about it: a read-only store asked
    to write, a file that is no database."""
    original = context.original_exception
    name = str(getattr(original, "sqlite_errorname", ""))
    if name.startswith("SQLITE_READONLY"):
        raise StoreError(f"queue store {path} is read-only: this command writes to it "
                         f"({original})") from None
    if name == "SQLITE_NOTADB":
        raise StoreError(f"queue store {path}: not a SQLite database ({original})") from None


def ensure_schema(engine: Engine) -> None:
    """Apply pending migrations (once per process; cheap when already at head)."""
    if _current_revision(engine) == SCHEMA_HEAD:
        return
    database = engine.url.database
    if engine.dialect.name == "sqlite" and database not in (None, "", ":memory:") \
            and is_read_only(Path(str(database))):
        raise StoreError(f"queue store {database} is read-only: its schema needs "
                         f"migrations to {SCHEMA_HEAD}, which only a writable store takes")
    with _migration_lock(engine) as conn:
        if _current_revision(engine) == SCHEMA_HEAD:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        config.attributes["connection"] = conn
        try:
            command.upgrade(config, "head")
        except PermissionDenied as exc:  # e.g. a submitter's role after an upgrade
            raise PermissionDenied(f"the queue store's schema needs migrations to "
                                   f"{SCHEMA_HEAD}, which this role may not apply; run "
                                   f"any relaunch command as an admin first ({exc})") from None
        if conn.in_transaction():
            conn.commit()


def _current_revision(engine: Engine) -> str | None:
    try:
        with engine.connect() as conn:
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
            return row[0] if row else None
    except StoreError:  # a role that may not read it may not migrate either; no database
        raise
    except Exception:  # table missing: a new database
        return None


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Any]:
    """Serialise migrations across processes (advisory lock or lock file)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_MIGRATION_LOCK})
                conn.commit()
        return
    if engine.url.database in (None, "", ":memory:"):  # one process's own database
        with engine.connect() as conn:
            yield conn
        return
    lock_path = Path(engine.url.database).with_suffix(".migrate.lock")
    try:
        lock_file = open_private(lock_path)
    except OSError as exc:
        raise StoreError(f"queue store: cannot open its lock file {lock_path}: "
                         f"{exc.strerror}") from None
    with lock_file, engine.connect() as conn:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        yield conn
