"""`relaunch queue stats` through the console script, on the CLI's SQLite store (items
written through the store two hours back, on a clock the test moves)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launch_core.store import QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue

AGENT = "agent-cli"
KEYS = ["entity", "queue", "now", "since_seconds", "queued", "queued_by_priority",
        "oldest_queued_age_seconds", "running", "finished", "failed", "cancelled",
        "wait_seconds", "run_seconds", "failure_reasons", "fair_share", "running_by"]


@pytest.fixture
def base(cli_env: dict[str, str]) -> Iterator[float]:
    """Queue ``q`` (priorities, fair share by user) with a job that waited 60 s and
    ran 120 s, one that failed at build, one queued (high) since ``base`` + 200, all
    about two hours ago; and an empty queue ``r``. Yields ``base``."""
    start = float(int(time.time()) - 7200)  # whole seconds: exact differences
    clock = FakeClock(start)
    store = QueueStore(f"sqlite:///{Path(cli_env['RELAUNCH_DATA_DIR']) / 'relaunch.db'}",
                       clock=clock)
    queue = make_queue(store, prioritization=True, policy={"fair_share": "user"})
    make_queue(store, "r")
    done = enqueue(store, queue)
    clock.advance(60)
    held = store.claim_item(done.id, AGENT)
    for state in ("submitted", "running"):
        store.transition(done.id, state, actor=AGENT, claim=held.claim)
    clock.advance(40)
    failed = enqueue(store, queue)
    claim = store.claim_item(failed.id, AGENT).claim
    store.fail(failed.id, "build", "docker build failed: exit code 2", actor=AGENT, claim=claim)
    clock.advance(80)
    store.transition(done.id, "finished", actor=AGENT, claim=held.claim)
    clock.now = start + 200
    enqueue(store, queue, priority="high")
    store.dispose()
    yield start


def one_line(result: Any) -> str:
    lines = result.err.strip().splitlines()
    assert result.code == 2 and len(lines) == 1 and "Traceback" not in result.err, result.err
    return str(lines[0])


def test_json_of_one_queue_has_every_figure_under_stable_keys(
        relaunch: Any, base: float) -> None:
    result = relaunch("queue", "stats", "q", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert list(data) == KEYS
    age = data.pop("oldest_queued_age_seconds")
    assert data.pop("now") - base - 200 == pytest.approx(age)
    assert 7000 - 60 < age < 7000 + 60  # enqueued at base + 200, base two hours back
    assert data == {
        "entity": "team", "queue": "q", "since_seconds": 86400.0, "queued": 1,
        "queued_by_priority": {"critical": 0, "high": 1, "medium": 0, "low": 0},
        "running": 0, "finished": 1, "failed": 1, "cancelled": 0,
        "wait_seconds": {"count": 1, "p50": 60.0, "p95": 60.0},
        "run_seconds": {"count": 1, "p50": 120.0, "p95": 120.0},
        "failure_reasons": [{"stage": "build", "reason": "docker build failed: exit code 2",
                             "count": 1, "example": "docker build failed: exit code 2"}],
        "fair_share": "user", "running_by": {}}


def test_since_narrows_the_window(relaunch: Any, base: float) -> None:
    data = relaunch("queue", "stats", "q", "--since", "1h", "--json").json()
    assert data["since_seconds"] == 3600.0
    assert (data["finished"], data["failed"], data["failure_reasons"]) == (0, 0, [])
    assert data["wait_seconds"] == data["run_seconds"] == {"count": 0, "p50": None,
                                                           "p95": None}
    assert data["queued"] == 1  # what the queue holds now does not depend on it


def test_text_shows_each_figure_on_its_line(relaunch: Any, base: float) -> None:
    result = relaunch("queue", "stats", "q")
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == "queue team/q  (window: the last 1d; fair share by user)"
    assert re.fullmatch(r"  queued     1 \(critical 0, high 1, medium 0, low 0\); "
                        r"oldest 1h 5\dm", lines[1]), lines[1]
    assert lines[2:] == [
        "  running    0 (by user: none)",
        "  finished   1",
        "  failed     1",
        "  cancelled  0",
        "  wait       p50 1m 00s, p95 1m 00s (1 started)",
        "  run        p50 2m 00s, p95 2m 00s (1 ended after running)",
        "  top failure reasons:",
        "           1  build: docker build failed: exit code 2",
    ]


def test_without_a_queue_every_queue_of_the_entity(relaunch: Any, base: float) -> None:
    listed = relaunch("queue", "stats", "--json")
    assert listed.code == 0, listed.err
    assert [(q["queue"], q["queued"], q["finished"]) for q in listed.json()] == [
        ("q", 1, 1), ("r", 0, 0)]
    text = relaunch("queue", "stats", "-e", "team")
    assert text.code == 0, text.err
    headings = [line for line in text.out.splitlines() if line.startswith("queue ")]
    assert headings == ["queue team/q  (window: the last 1d; fair share by user)",
                        "queue team/r  (window: the last 1d)"]
    assert "  wait       - (none started)" in text.out.split("queue team/r")[1]
    assert relaunch("queue", "stats", "-e", "nobody", "--json").json() == []
    none = relaunch("queue", "stats", "-e", "nobody")
    assert (none.code, none.out) == (0, "no queues in entity 'nobody'\n")


@pytest.mark.parametrize("since", ["soon", "0", "-5m", "400d", ""])
def test_a_bad_since_is_one_line_naming_the_flag(relaunch: Any, base: float,
                                                 since: str) -> None:
    result = relaunch("queue", "stats", "q", "--since", since)
    assert one_line(result).startswith("error: --since: ")
    assert result.out == ""


def test_an_unknown_queue_is_the_error_the_other_queue_commands_give(
        relaunch: Any, base: float) -> None:
    result = relaunch("queue", "stats", "nope")
    assert one_line(result) == "error: queue 'nope' not found in entity 'team'"
    assert one_line(relaunch("queue", "show", "nope")) == one_line(result)
