"""Helpers shared by the test suites (not fixtures)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# The console script under test.
RELAUNCH = str(Path(sys.executable).parent / "relaunch")


def require_service(name: str, reason: str) -> None:
    """Skip locally, fail in CI, when a service a test needs is absent."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{name} is required in CI: {reason}")
    pytest.skip(f"{name} not available: {reason}")


def fresh_postgres_database(admin_url: str) -> Iterator[str]:
    import psycopg

    name = f"relaunch_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')




def wait_for(predicate: Callable[[], Any], what: str | Callable[[], str],
             timeout: float = 120.0, interval: float = 0.2) -> Any:
    """Poll ``predicate`` until it returns something true (returned); fail after
    ``timeout`` seconds naming ``what`` (or what ``what()`` says then)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            said = what() if callable(what) else what
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {said}")
        time.sleep(interval)


def write(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` (creating its folder); returns the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@contextlib.contextmanager
def serving(cmd: list[str], log_path: Path, probe: str, name: str, *,
            env: dict[str, str] | None = None, cwd: Path | None = None) -> Iterator[None]:
    """Run a test double's server (``cmd``, output to ``log_path``) until ``probe``
    answers over HTTP; stop it by PID (SIGTERM, then SIGKILL) when done."""
    import httpx

    with open(log_path, "ab") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited: {log_path.read_text()[-2000:]}")
                try:
                    httpx.get(probe, timeout=2)
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"{name} did not answer within 60 s") from None
                    time.sleep(0.2)
            yield
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=20)


