"""Migration 0003 gives every stored code tarball an owner (entity): the entity of the
job whose enqueue uploaded it, the job enqueued closest in time to the tarball's
creation (both are written in one transaction). SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy import insert, select

import launch_core.store.engine as engine_module
from launch_core.errors import NotFound
from launch_core.store import QueueStore
from launch_core.store.blobs import blob_digest
from launch_core.store.engine import create_store_engine
from launch_core.store.schema import items, queues

MIGRATIONS = Path(engine_module.__file__).parent / "migrations"
# blobs as revision 0002 made it: no owner, the digest alone is the key
OLD_BLOBS = sa.table("blobs", sa.column("digest"), sa.column("size"), sa.column("data"),
                     sa.column("created_at"))
A, B, ORPHAN, B_ONLY = (blob_digest(bytes([n])) for n in range(4))


def migrate(url: str, revision: str, *, down: bool = False) -> None:
    engine = create_store_engine(url)
    with engine.connect() as conn:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)
        conn.commit()
    engine.dispose()


def fill_0002(url: str) -> None:
    """Two entities' queues, jobs and tarballs, as a store at 0002 holds them."""
    engine = create_store_engine(url)
    with engine.begin() as conn:
        for queue_id, entity in ((1, "team-a"), (2, "team-b")):
            conn.execute(insert(queues).values(
                id=queue_id, entity=entity, name="cpu", created_at=0, updated_at=0,
                definition={"entity": entity, "name": "cpu", "resource": "local-process"}))
        # (queue, enqueued_at, code): team-b names A before and after team-a uploads it
        jobs = [(2, 50.0, A), (1, 100.0, A), (2, 200.0, A), (2, 400.0, B_ONLY)]
        for n, (queue_id, at, code) in enumerate(jobs):
            conn.execute(insert(items).values(
                queue_id=queue_id, state="queued", priority=2, enqueued_at=at,
                run_id=f"migration{n:03d}", spec={"code": code, "entry_point": ["x"]},
                updated_at=at))
        for digest, created in ((A, 100.001), (ORPHAN, 300.0), (B_ONLY, 400.0)):
            conn.execute(insert(OLD_BLOBS).values(digest=digest, size=1, data=b"x",
                                                  created_at=created))
    engine.dispose()


def owners(store: QueueStore) -> set[tuple[str, str]]:
    query = sa.text("SELECT entity, digest FROM blobs")
    with store.engine.connect() as conn:
        return {(row.entity, row.digest) for row in conn.execute(query)}


def test_the_migration_gives_each_tarball_its_uploaders_entity(store_url: str) -> None:
    migrate(store_url, "0002")
    fill_0002(store_url)
    store = QueueStore(store_url)  # migrates to the head
    try:
        assert owners(store) == {("team-a", A), ("(unowned)", ORPHAN), ("team-b", B_ONLY)}
        assert store.get_code("team-a", A) == b"x"
        with pytest.raises(NotFound):
            store.get_code("team-b", A)
        with store.engine.connect() as conn:  # the jobs are as they were
            assert conn.execute(select(sa.func.count()).select_from(items)).scalar() == 4
    finally:
        store.dispose()


def test_the_migration_goes_back_to_one_tarball_per_digest(store_url: str) -> None:
    QueueStore(store_url).dispose()
    store = QueueStore(store_url)
    try:
        with store.engine.begin() as conn:
            for entity in ("team-a", "team-b"):
                conn.execute(sa.text("INSERT INTO blobs (entity, digest, size, data, "
                                     "created_at) VALUES (:e, :d, 1, :x, 0)"),
                             {"e": entity, "d": A, "x": b"x"})
    finally:
        store.dispose()
    migrate(store_url, "0002", down=True)
    engine = create_store_engine(store_url)
    with engine.connect() as conn:
        assert conn.execute(select(OLD_BLOBS.c.digest)).scalars().all() == [A]
    engine.dispose()
