"""Helpers shared by the test suites (not fixtures)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest


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


