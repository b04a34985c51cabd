"""Fixtures for the queue-store tests: a store whose clock the test controls."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# store_helpers sits next to this file; make it importable under any import mode.
if str(Path(__file__).parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).parent))

from store_helpers import FakeClock  # noqa: E402

from launch_core.store import QueueStore  # noqa: E402


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed_store(store_url: str, clock: FakeClock) -> Iterator[QueueStore]:
    """Like ``store`` (SQLite and PostgreSQL) but on ``clock``."""
    opened = QueueStore(store_url, clock=clock)
    yield opened
    opened.dispose()
