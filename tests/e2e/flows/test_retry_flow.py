"""End to end: a queue made with `relaunch queue create --retry/--retry-on` retries a
job whose run exits with a listed code; a real agent (launch-agent, the session's
Prefect server) runs it twice under the same run id, and `relaunch job status` says so."""

from __future__ import annotations

from pathlib import Path

# Exits 3 unless resumed (RELAUNCH_RESUME=1), which a retried run is.
FLAKY = """import os, sys
print("resume", os.environ.get("RELAUNCH_RESUME", "0"), flush=True)
sys.exit(0 if os.environ.get("RELAUNCH_RESUME") == "1" else 3)
"""


def test_a_listed_exit_code_is_retried_and_job_status_says_so(relaunch, api, tmp_path: Path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "flaky.py").write_text(FLAKY)
    created = relaunch("queue", "create", "retry-exit", "-r", "local-process",
                       "--retry", "2", "--retry-on", "exit:3")
    assert created.code == 0, created.err
    launched = relaunch("launch", "-q", "retry-exit", "--code", str(code), "-E",
                        "python3 flaky.py", "--json")
    assert launched.code == 0, launched.err
    job = int(launched.json()["id"])
    agent = relaunch("launch-agent", "-q", "retry-exit", "--until-idle", timeout=180)
    assert agent.code == 0, agent.err[-3000:]

    status = relaunch("job", "status", str(job), "--json").json()
    assert (status["state"], status["exit_code"]) == ("finished", 0), status
    assert (status["retries"], status["resume_count"]) == (1, 1)
    assert status["last_retry"] == "retry 1 of 2 after exit code 3"
    shown = relaunch("job", "status", str(job))
    assert "  retry 1 of 2 after exit code 3\n" in shown.out, shown.out
    # One flow run a try, both completed: the first ended by sending the job back.
    runs = api.flow_runs(f"retry-exit-{job}")
    assert sorted(run["state_type"] for run in runs) == ["COMPLETED", "COMPLETED"]
    assert "resume 1" in relaunch("job", "logs", str(job)).out
