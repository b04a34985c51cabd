"""Schema migrations: the code's head matches alembic's, and opening is idempotent."""

from __future__ import annotations

import threading
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

import launch_core.store.engine as engine_module
from launch_core.store import QueueStore
from launch_core.store.engine import SCHEMA_HEAD
from launch_core.store.schema import declare_indexes
from tests.support.store_helpers import enqueue, make_queue

MIGRATIONS = Path(engine_module.__file__).parent / "migrations"


def alembic_heads() -> list[str]:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return list(ScriptDirectory.from_config(config).get_heads())


def stored_revisions(store: QueueStore) -> list[str]:
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))]


def test_schema_head_is_alembics_single_head() -> None:
    assert alembic_heads() == [SCHEMA_HEAD]


def test_a_fresh_store_is_migrated_to_head(store: QueueStore) -> None:
    assert stored_revisions(store) == [SCHEMA_HEAD]


def test_migrated_schema_matches_the_table_definitions(store: QueueStore) -> None:
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), declare_indexes())
    assert diff == []


def test_two_stores_on_the_same_fresh_database_share_it(store_url: str) -> None:
    first = QueueStore(store_url)
    second = QueueStore(store_url)
    try:
        queue = make_queue(first, "shared")
        item = enqueue(second, second.get_queue("team", "shared"))
        assert first.get_item(item.id).queue_id == queue.id
        assert stored_revisions(first) == stored_revisions(second) == [SCHEMA_HEAD]
    finally:
        first.dispose()
        second.dispose()


def test_stores_opened_at_once_on_a_fresh_database_migrate_it_once(store_url: str) -> None:
    gate = threading.Barrier(3)
    opened: list[QueueStore] = []
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            gate.wait(timeout=30)
            opened.append(QueueStore(store_url))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    try:
        assert errors == []
        assert len(opened) == 3
        assert stored_revisions(opened[0]) == [SCHEMA_HEAD]
        make_queue(opened[0], "after")
        assert opened[2].get_queue("team", "after").name == "after"
    finally:
        for store in opened:
            store.dispose()
