"""A real Prefect server (on PostgreSQL) for end-to-end tests of the flows.

The server runs once per session on 127.0.0.1; the console scripts talk to it
through PREFECT_API_URL. Its database is PostgreSQL because Prefect's server on
SQLite reports `database is locked` under concurrent flow runs.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import fresh_postgres_database

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def prefect_api(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[str]:
    """URL of a Prefect server started for this session (stopped at the end)."""
    home = tmp_path_factory.mktemp("prefect-home")
    databases = fresh_postgres_database(postgres_admin_url)
    db_url = next(databases).replace("postgresql://", "postgresql+asyncpg://", 1)
    port = _free_port()
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": db_url, "PREFECT_UI_ENABLED": "false"}
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port), "--no-ui"], env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    api = f"http://127.0.0.1:{port}/api"
    try:
        _wait_healthy(api, proc, home / "server.log")
        yield api
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        next(databases, None)


def _wait_healthy(api: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"prefect server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{api}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"prefect server not healthy after 120 s: {log.read_text()[-2000:]}")


class PrefectAPI:
    """The few read calls the tests make against the Prefect REST API."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30)

    def flow_runs(self, name: str) -> list[dict[str, Any]]:
        body = {"flow_runs": {"name": {"any_": [name]}}}
        return list(self.client.post("/flow_runs/filter", json=body).json())

    def task_runs(self, flow_run_id: str) -> list[dict[str, Any]]:
        body = {"flow_runs": {"id": {"any_": [flow_run_id]}}, "limit": 200}
        return list(self.client.post("/task_runs/filter", json=body).json())

    def logs(self, flow_run_id: str) -> list[str]:
        body = {"logs": {"flow_run_id": {"any_": [flow_run_id]}}, "limit": 200}
        return [entry["message"] for entry in self.client.post("/logs/filter", json=body).json()]

    def artifacts(self, flow_run_id: str) -> list[dict[str, Any]]:
        body = {"artifacts": {"flow_run_id": {"any_": [flow_run_id]}}}
        return list(self.client.post("/artifacts/filter", json=body).json())


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
