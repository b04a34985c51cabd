"""Shared helpers for the bench scripts: throwaway databases, bulk setup, percentiles.

Only talks to 127.0.0.1. PostgreSQL admin URL: RELAUNCH_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:55432/postgres, see scripts/start-postgres.sh).
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy.engine import make_url  # noqa: E402

DEFAULT_PG = "postgresql://postgres@127.0.0.1:55432/postgres"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}


def pg_admin_url() -> str:
    url = os.environ.get("RELAUNCH_TEST_POSTGRES_URL") or DEFAULT_PG
    host = make_url(url).host or ""
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing non-local PostgreSQL host {host!r}")
    return url


@contextlib.contextmanager
def temp_pg_database() -> Iterator[str]:
    """A fresh database on the local server (dropped afterwards); yields its URL."""
    import psycopg

    admin = pg_admin_url()
    name = f"relaunch_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def temp_sqlite() -> Iterator[str]:
    """A SQLite file URL in a temporary directory (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="relaunch-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'relaunch.db'}"


def make_queue(store, name: str = "bench"):  # type: ignore[no-untyped-def]
    from launch_core.models import QueueDefinition

    return store.create_queue(QueueDefinition(entity="bench", name=name,
                                              resource="local-process"))


def bulk_insert_items(store, queue, n: int, chunk: int = 5000) -> None:  # type: ignore[no-untyped-def]
    """Insert ``n`` queued items shaped like QueueStore.enqueue writes them (no events)."""
    from sqlalchemy import insert

    from launch_core.models import LaunchSpec
    from launch_core.store.schema import items

    spec = LaunchSpec(image="img", author="bench").model_dump(mode="json", exclude_none=True)
    base = time.time()
    prefix = uuid.uuid4().hex[:4]
    for start in range(0, n, chunk):
        rows = [{"queue_id": queue.id, "state": "queued", "priority": 2,
                 "enqueued_at": base + i * 1e-6, "run_id": f"{prefix}{i:08d}", "spec": spec,
                 "max_attempts": 3, "updated_at": base}
                for i in range(start, min(n, start + chunk))]
        with store.engine.begin() as conn:
            conn.execute(insert(items), rows)


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100)."""
    data = sorted(values)
    if not data:
        return math.nan
    k = (len(data) - 1) * p / 100.0
    lo, hi = math.floor(k), math.ceil(k)
    return data[lo] + (data[hi] - data[lo]) * (k - lo)


def verdict(ok: bool) -> str:
    return "OK" if ok else "MISS"


def machine() -> str:
    """CPU count and 1-minute load average, so readers can judge the figures."""
    return f"cpus {os.cpu_count()}, load avg {os.getloadavg()[0]:.1f}"
