"""Fixtures of the flow tests: console scripts pointed at the session's Prefect server
(tests/conftest.py `prefect_api`, see tests/prefect_server.py) and a private store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.prefect_server import PrefectAPI

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
