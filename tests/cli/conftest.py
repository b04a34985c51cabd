"""Runs the real ``relaunch`` console script in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

RELAUNCH = str(Path(sys.executable).parent / "relaunch")


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def relaunch(cli_env: dict[str, str], tmp_path: Path):
    """Call ``relaunch(*args)`` -> Result, against a private SQLite store."""

    def run(*args: str, env: dict[str, str] | None = None) -> Result:
        proc = subprocess.run([RELAUNCH, *args], capture_output=True, text=True, timeout=60,
                              env={**cli_env, **(env or {})}, cwd=tmp_path)
        return Result(proc.returncode, proc.stdout, proc.stderr)

    return run
