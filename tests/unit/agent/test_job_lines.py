"""The agent's start and end lines per job (launch_core/agent/job_lines.py)."""

from __future__ import annotations

from launch_core.agent.job_lines import ended_line, failed_line, took
from launch_core.errors import Unavailable
from launch_core.pipeline.pipeline import StageFailed


def test_an_end_line_says_the_state_and_how_long_the_agent_had_the_job() -> None:
    assert ended_line(12, "finished", 3.44) == "job 12 finished in 3.4 s"
    assert ended_line(12, "cancelled", 61) == "job 12 cancelled after 1m 01s"
    assert ended_line(12, "lost", 3725) == "job 12 lost to another agent after 1h 02m 05s"
    assert ended_line(12, "failed", 1) == "job 12 ended failed after 1.0 s"


def test_a_failed_stage_is_named_and_a_launch_given_back_says_so() -> None:
    assert failed_line(12, StageFailed("build", "no such image"), None) == (
        "job 12 failed at build: no such image")
    assert failed_line(12, Unavailable("HTTP 503\nmore"), "queued") == (
        "job 12 failed to launch: Unavailable: HTTP 503; given back for another attempt "
        "(now queued)")
    assert failed_line(12, RuntimeError("boom"), None) == "job 12 failed: RuntimeError: boom"


def test_took_reads_like_a_duration() -> None:
    assert [took(s) for s in (0, 59.94, 60, 3600)] == ["0.0 s", "59.9 s", "1m 00s",
                                                       "1h 00m 00s"]
