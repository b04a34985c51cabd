"""`relaunch queue create/update` policy flags and `relaunch quota` through the CLI."""

from __future__ import annotations

import getpass

import pytest


def one_line(result) -> str:
    assert result.code == 2, (result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return lines[0]


def test_policy_flags_are_stored_shown_and_changed_one_by_one(relaunch):
    assert relaunch("queue", "create", "other", "-r", "local-process").code == 0
    created = relaunch("queue", "create", "q", "-r", "local-process", "--max-running", "2",
                       "--fair-share", "project", "--retry", "2", "--retry-on", "exit:3,oom",
                       "--retry-on", "infra", "--max-runtime", "2h", "--json")
    assert created.code == 0, created.err
    assert created.json()["policy"] == {
        "max_running": 2, "fair_share": "project", "retry": 2,
        "retry_on": ["exit:3", "oom", "infra"], "retry_raise": [], "max_runtime": 7200.0,
        "max_pending": None, "fallback_queue": None}
    assert relaunch("queue", "update", "q", "--max-pending", "30m",
                    "--fallback-queue", "other").code == 0
    shown = relaunch("queue", "show", "q")
    assert ("policy: max-running 2; fair share by project; retry 2 time(s) on exit:3, oom, "
            "infra; max runtime 2h; max pending 30m, then to queue other") in shown.out
    assert relaunch("queue", "update", "q", "--max-running", "none", "--retry", "0").code == 0
    policy = relaunch("queue", "show", "q", "--json").json()["policy"]
    assert (policy["max_running"], policy["retry"], policy["retry_on"]) == (None, 0, [])
    assert policy["fallback_queue"] == "other"  # untouched


@pytest.mark.parametrize(("flags", "message"), [
    (["--max-running", "x"], "error: --max-running: expected a number or 'none', not 'x'"),
    (["--max-running", "0"], "error: --max-running: Input should be greater than or equal to 1"),
    (["--retry-on", "sometimes", "--retry", "1"],
     "error: --retry-on: 'sometimes' is not a failure class (infra, preempted, oom or "
     "exit:CODE)"),
    (["--retry", "2"], "error: --retry needs --retry-on (which failures to try again)"),
    (["--max-runtime", "soon"],
     "error: --max-runtime: 'soon' is not a duration (say 90s, 30m, 2h or 1d)"),
    (["--fair-share", "everyone"], "error: --fair-share: Input should be 'none', 'user' or "
     "'project'"),
    (["--max-pending", "1h", "--fallback-queue", "nope"],
     "error: --fallback-queue: queue 'nope' not found in entity 'team'"),
    (["--max-pending", "1h", "--fallback-queue", "q"],
     "error: --fallback-queue: a queue cannot fall back to itself"),
    (["--fallback-queue", "other"],
     "error: --fallback-queue needs --max-pending (how long to wait first)"),
    (["--retry", "1", "--retry-on", "oom", "--retry-raise", "memory"],
     "error: --retry-raise: 'memory' is not a template variable of this queue"),
    (["--retry", "1", "--retry-on", "exit:300"],
     "error: --retry-on: 'exit:300': an exit code is between -255 and 255"),
    (["--max-runtime", "400d"], "error: --max-runtime: '400d': a duration must be at most 366d"),
])
def test_a_bad_policy_flag_is_one_line_exit_2_and_nothing_stored(relaunch, flags, message):
    relaunch("queue", "create", "other", "-r", "local-process")
    assert one_line(relaunch("queue", "create", "q", "-r", "local-process", *flags)) == message
    assert [q["name"] for q in relaunch("queue", "list", "--json").json()] == ["other"]


def test_quota_set_list_delete_and_the_waiting_reason(relaunch):
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    set_ = relaunch("quota", "set", "team", "--project", "a", "--running", "1", "--gpus", "2")
    assert set_.code == 0, set_.err
    assert set_.out.strip() == "quota of project a in team: running 1, gpus 2"
    assert relaunch("quota", "set", "team", "--running", "5").code == 0
    listed = relaunch("quota", "list", "team", "--json").json()
    assert [(q["scope"], q["name"], q["running"], q["gpus"], q["running_now"])
            for q in listed] == [("entity", None, 5, None, 0), ("project", "a", 1, 2, 0)]
    job = relaunch("launch", "-q", "q", "-d", "img", "-p", "a", "--json").json()
    assert job["submitter"] == getpass.getuser() and job["project"] == "a"
    assert one_line(relaunch("quota", "set", "team", "--user", "u", "--project", "p",
                             "--running", "1")).startswith("error: --user and --project")
    assert one_line(relaunch("quota", "set", "team", "--project", "a")) == (
        "error: quota set: give --running N, --gpus N or both")
    assert one_line(relaunch("quota", "set", "team", "--gpus", "3000000000")) == (
        "error: --gpus: must be between 0 and 1,000,000, not 3000000000")
    assert relaunch("quota", "delete", "team", "--project", "a").code == 0
    assert one_line(relaunch("quota", "delete", "team", "--project", "a")) == (
        "error: no quota for project 'a' in entity 'team'")
