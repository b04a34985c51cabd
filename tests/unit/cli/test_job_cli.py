"""`relaunch job ...` through the console script."""

from __future__ import annotations


def _enqueue(relaunch, name: str = "j") -> int:
    return relaunch("launch", "-q", "q", "-d", "img", "--name", name, "--json").json()["id"]


def test_status_says_why_a_job_waits(relaunch):
    relaunch("queue", "create", "q", "-r", "local-process")
    _enqueue(relaunch, "first")
    second = _enqueue(relaunch, "second")
    status = relaunch("job", "status", str(second), "--json").json()
    assert status["state"] == "queued" and status["position"] == 2
    assert status["waiting"]["agents"] == 0
    text = relaunch("job", "status", str(second))
    assert "position 2; no agent is polling queue 'q'" in text.out


def test_cancel_queued_job_then_cancel_again_fails(relaunch):
    relaunch("queue", "create", "q", "-r", "local-process")
    job = _enqueue(relaunch)
    assert relaunch("job", "cancel", str(job)).code == 0
    assert relaunch("job", "status", str(job), "--json").json()["state"] == "cancelled"
    again = relaunch("job", "cancel", str(job))
    assert again.code == 2 and "already ended (cancelled)" in again.err


def test_list_filters_by_state_and_queue(relaunch):
    relaunch("queue", "create", "q", "-r", "local-process")
    relaunch("queue", "create", "other", "-r", "local-process")
    keep = _enqueue(relaunch, "keep")
    gone = _enqueue(relaunch, "gone")
    relaunch("job", "cancel", str(gone))
    queued = relaunch("job", "list", "--state", "queued", "--json").json()
    assert [j["id"] for j in queued] == [keep]
    assert relaunch("job", "list", "-q", "other", "--json").json() == []


def test_unknown_job_is_exit_2(relaunch):
    relaunch("queue", "create", "q", "-r", "local-process")
    result = relaunch("job", "status", "12345")
    assert result.code == 2 and result.err.strip() == "error: job 12345 not found"


def test_status_with_entity_shows_only_that_entitys_job(relaunch):
    relaunch("queue", "create", "q", "-r", "local-process", "-e", "team-a")
    job = relaunch("launch", "-q", "q", "-d", "img", "-e", "team-a", "--json").json()["id"]
    shown = relaunch("job", "status", str(job), "-e", "team-a", "--json").json()
    assert shown["id"] == job
    other = relaunch("job", "status", str(job), "--entity", "team-b")
    assert other.code == 2 and other.err.strip() == f"error: job {job} not found in entity 'team-b'"
