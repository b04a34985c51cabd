"""Fixtures of the flow tests: console scripts pointed at the session's Prefect server
(tests/conftest.py `prefect_api`, see tests/prefect_server.py) and a private store."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.flows.fault_proxy import FaultProxy, fault_proxy
from tests.prefect_server import PrefectAPI, free_port
from tests.support import require_service

JOBS = Path(__file__).parent / "jobs"


@pytest.fixture
def cli_env(tmp_path: Path, prefect_api: str) -> dict[str, str]:
    """Console-script environment: private SQLite store, the session's Prefect server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RELAUNCH_", "PREFECT_"))}
    env.update(RELAUNCH_DATA_DIR=str(tmp_path / "data"), RELAUNCH_ENTITY="team",
               DO_NOT_TRACK="1", HOME=str(tmp_path / "home"), PREFECT_API_URL=prefect_api,
               PREFECT_HOME=str(tmp_path / "prefect-home"))
    return env


@pytest.fixture
def proxy(prefect_api: str) -> Iterator[FaultProxy]:
    """A loopback fault proxy in front of the session's Prefect server."""
    with fault_proxy(prefect_api) as started:
        yield started


@pytest.fixture
def api(prefect_api: str) -> PrefectAPI:
    return PrefectAPI(prefect_api)


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    """Where test jobs write what they saw."""
    path = tmp_path / "out"
    path.mkdir()
    return path


def read_records(out_dir: Path, item_id: int) -> list[dict[str, Any]]:
    """The records a test job appended (one per run)."""
    import json

    path = out_dir / f"{item_id}.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()]


ROOT = Path(__file__).resolve().parents[2]
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))


def pg_ctl(data: Path, *args: str) -> None:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    # Output to the server log, never to pipes: a (re)started server would hold them open.
    subprocess.run([*prefix, str(PGBIN / "pg_ctl"), "-D", str(data), "-l",
                    str(data / "server.log"), *args], check=True, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


@pytest.fixture
def private_postgres() -> Iterator[tuple[str, Path]]:
    """(URL, data dir) of a PostgreSQL server of this test's own (scripts/start-postgres.sh
    on a private port and data dir), so restarting it disturbs no other test."""
    if not (PGBIN / "initdb").exists():
        require_service("PostgreSQL server binaries", f"{PGBIN} not found")
    data = Path(f"/var/tmp/relaunch-test-pg-{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "RELAUNCH_PGDATA": str(data), "RELAUNCH_PGPORT": str(free_port())}
    started = subprocess.run(["bash", str(ROOT / "scripts/start-postgres.sh")], env=env,
                             capture_output=True, text=True, timeout=180)
    if started.returncode != 0:
        require_service("a private PostgreSQL server", started.stderr[-500:])
    try:
        yield started.stdout.strip(), data
    finally:
        try:
            pg_ctl(data, "stop", "-m", "immediate")
        finally:
            shutil.rmtree(data, ignore_errors=True)
