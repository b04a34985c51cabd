"""The test tree: pytest imports test modules by their file name (no __init__.py in
the test folders), so two test files of one name anywhere in tests/ make the full
run fail to collect one of them ("import file mismatch"), though each runs alone."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2]


def test_no_two_test_files_share_a_name() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert [name for name, count in names.items() if count > 1] == []
