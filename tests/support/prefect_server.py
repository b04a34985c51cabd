"""A real Prefect server (on PostgreSQL) for end-to-end tests, and the few REST calls
the tests make against it. The session fixture ``prefect_api`` in tests/conftest.py
starts one server for the whole run; Prefect's server on SQLite reports `database is
locked` under concurrent flow runs, hence PostgreSQL."""

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

from tests.support import fresh_postgres_database

BIN = Path(sys.executable).parent


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_prefect_server(postgres_admin_url: str, home: Path, *, ui: bool = False
                       ) -> Iterator[str]:
    """Yield the API URL of a Prefect server on 127.0.0.1; stop it (by PID) after.

    Without ``ui`` (the default) it serves the API only. With it, it also serves the
    web UI at the API URL without ``/api``, told where its API is
    (``PREFECT_UI_API_URL``), its built pages kept under ``home``."""
    databases = fresh_postgres_database(postgres_admin_url)
    db_url = next(databases).replace("postgresql://", "postgresql+asyncpg://", 1)
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {**os.environ, "PREFECT_HOME": str(home), "DO_NOT_TRACK": "1",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_API_DATABASE_CONNECTION_URL": db_url,
           "PREFECT_UI_ENABLED": "true" if ui else "false"}
    if ui:  # the UI's pages call this API from the browser
        env.update(PREFECT_UI_API_URL=api, PREFECT_UI_STATIC_DIRECTORY=str(home / "ui"))
    env.pop("PREFECT_API_URL", None)
    log = open(home / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1",
                             "--port", str(port), *([] if ui else ["--no-ui"])], env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
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
