"""Shared fixtures: real SQLite files and real PostgreSQL databases, one per test.

PostgreSQL comes from RELAUNCH_TEST_POSTGRES_URL (`.ci/run` and `make test` start a
server with scripts/start-postgres.sh). Without it, PostgreSQL tests skip locally
and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from launch_core.models import QueueDefinition  # noqa: E402
from launch_core.store import QueueRecord, QueueStore  # noqa: E402
from tests.support import fresh_postgres_database, require_service  # noqa: E402


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    url = os.environ.get("RELAUNCH_TEST_POSTGRES_URL")
    if not url:
        require_service("PostgreSQL", "RELAUNCH_TEST_POSTGRES_URL is not set")
    return url  # type: ignore[return-value]


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    admin = request.getfixturevalue("postgres_admin_url")
    yield from fresh_postgres_database(admin)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The same test on a fresh SQLite file and on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from fresh_postgres_database(request.getfixturevalue("postgres_admin_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[QueueStore]:
    opened = QueueStore(store_url)
    yield opened
    opened.dispose()


def make_queue(store: QueueStore, name: str = "q", **fields: object) -> QueueRecord:
    """Create a local-process queue in entity ``team`` (fields override)."""
    data = {"entity": "team", "name": name, "resource": "local-process", **fields}
    return store.create_queue(QueueDefinition.model_validate(data))


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Environment for running the console script against a private SQLite store."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RELAUNCH_")}
    env.update(RELAUNCH_DATA_DIR=str(tmp_path / "data"), RELAUNCH_ENTITY="team",
               DO_NOT_TRACK="1", HOME=str(tmp_path / "home"))
    return env


RELAUNCH = str(Path(sys.executable).parent / "relaunch")


@dataclass
class Result:
    """What a console-script run printed and returned."""

    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def relaunch(cli_env: dict[str, str], tmp_path: Path):
    """Call ``relaunch(*args)`` -> Result: the real console script in a subprocess."""

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        proc = subprocess.run([RELAUNCH, *args], capture_output=True, text=True,
                              timeout=timeout, env={**cli_env, **(env or {})}, cwd=tmp_path)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run


@pytest.fixture(scope="session")
def prefect_api(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """URL of the one Prefect server of this test session (stopped at the end)."""
    from tests.prefect_server import run_prefect_server

    yield from run_prefect_server(postgres_admin_url, tmp_path_factory.mktemp("prefect-home"))
