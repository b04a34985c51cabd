"""End-to-end tests: every console script and agent here talks to the session's
Prefect server, so ``cli_env`` (tests/conftest.py's, a private SQLite store) also
points at it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


@pytest.fixture
def cli_env(tmp_path: Path, prefect_api: str) -> dict[str, str]:
    """Console-script environment: private SQLite store, the session's Prefect server."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RELAUNCH_", "PREFECT_"))}
    env.update(RELAUNCH_DATA_DIR=str(tmp_path / "data"), RELAUNCH_ENTITY="team",
               DO_NOT_TRACK="1", HOME=str(tmp_path / "home"), PREFECT_API_URL=prefect_api,
               PREFECT_HOME=str(tmp_path / "prefect-home"))
    return env
