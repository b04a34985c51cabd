"""Fixtures for the queue-store tests: a store whose clock the test controls."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from store_helpers import FakeClock

from launch_core.store import QueueStore


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed_store(store_url: str, clock: FakeClock) -> Iterator[QueueStore]:
    """Like ``store`` (SQLite and PostgreSQL) but on ``clock``."""
    opened = QueueStore(store_url, clock=clock)
    yield opened
    opened.dispose()
