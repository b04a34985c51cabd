"""`relaunch launch-agent` input errors, caught before Prefect starts."""

from __future__ import annotations


def test_unwritable_log_file_is_exit_2_naming_the_flag(relaunch, tmp_path):
    result = relaunch("launch-agent", "-q", "q", "-l", str(tmp_path / "missing" / "a.log"))
    assert result.code == 2
    assert result.err.startswith("error: -l/--log-file: cannot open ")
    assert len(result.err.strip().splitlines()) == 1


def test_short_max_jobs_flag_is_validated_like_the_long_one(relaunch):
    result = relaunch("launch-agent", "-q", "q", "-j", "-5")
    assert result.code == 2 and "max_jobs" in result.err
