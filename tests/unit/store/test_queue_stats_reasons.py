"""How relaunch queue stats groups failure reasons and takes percentiles."""

from __future__ import annotations

import pytest

from launch_core.store.stats import FailureReason, nearest_rank, reason_key, top_reasons


@pytest.mark.parametrize(("reason", "key"), [
    ("exit code 1", "exit code 1"),  # exit codes, counts and durations stay
    ("exit code 137", "exit code 137"),
    ("waited longer than 30m", "waited longer than 30m"),
    ("not launched after 3 attempts; last: lease of agent agent-1a2b3c4d5e6f expired",
     "not launched after 3 attempts; last: lease of agent <id> expired"),
    ("pull of sha256:9f86d081884c7d65 failed", "pull of sha256:<id> failed"),
    ("run 0f8fad5b-d9cb-469f-a165-70867728950e lost", "run <id> lost"),
    ("timed out after 12.5s on port 5432 (pid 123456)",
     "timed out after <n>s on port <n> (pid <n>)"),
    ("OOMKilled (exit code 137)", "OOMKilled (exit code 137)"),
    ("no image for python3", "no image for python3"),  # short words with digits stay
])
def test_reason_key_sets_aside_ids_and_long_numbers_only(reason: str, key: str) -> None:
    assert reason_key(reason) == key


def test_top_reasons_groups_by_stage_and_key_most_first() -> None:
    rows = [("run", "exit code 1", 3), ("run", "exit code 137", 4),
            ("build", "exit code 1", 1),  # another stage: another group
            ("agent", "lost agent-aaaa1111", 2), ("agent", "lost agent-bbbb2222", 2),
            ("agent", "lost agent-cccc3333", 1), ("run", None, 1)]
    assert top_reasons(rows, limit=4) == [
        FailureReason("agent", "lost <id>", 5, "lost agent-aaaa1111"),
        FailureReason("run", "exit code 137", 4, "exit code 137"),
        FailureReason("run", "exit code 1", 3, "exit code 1"),
        FailureReason("build", "exit code 1", 1, "exit code 1"),
    ]
    assert top_reasons([("run", None, 2)]) == [FailureReason("run", "failed", 2, "failed")]


@pytest.mark.parametrize(("data", "p", "value"), [
    ([], 50, None),
    ([7.0], 95, 7.0),
    ([1.0, 2.0, 3.0, 4.0], 50, 2.0),  # rank ceil(0.5 * 4) = 2
    ([1.0, 2.0, 3.0, 4.0, 5.0], 50, 3.0),  # rank 3
    ([float(n) for n in range(1, 21)], 95, 19.0),  # rank 19 of 20
    ([float(n) for n in range(1, 22)], 95, 20.0),  # rank ceil(19.95) = 20 of 21
])
def test_nearest_rank(data: list[float], p: float, value: float | None) -> None:
    assert nearest_rank(data, p) == value
