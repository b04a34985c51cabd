"""Helpers of the code-ownership tests (a code tarball belongs to the entity that
uploaded it): a code directory, and a job row written without relaunch's checks."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from launch_core.store.engine import create_store_engine
from launch_core.store.items import new_run_id
from launch_core.store.schema import items

ENTRY = ["python3", "main.py"]


def write_code(root: Path, says: str) -> Path:
    """A code directory whose main.py prints ``says``."""
    root.mkdir(parents=True)
    (root / "main.py").write_text(f"print({says!r})\n")
    return root


def write_item(url: str, queue_id: int, code: str, at: float = 0.0) -> int:
    """A queued job naming ``code``, inserted as the URL's user with plain SQL, as a
    submitter's own SQL (or a release without the owner check) could have stored it."""
    engine = create_store_engine(url)
    try:
        with engine.begin() as conn:
            return int(conn.execute(insert(items).values(
                queue_id=queue_id, state="queued", priority=2, enqueued_at=at,
                run_id=new_run_id(), spec={"code": code, "entry_point": ENTRY},
                max_attempts=3, updated_at=at).returning(items.c.id)).scalar_one())
    finally:
        engine.dispose()
