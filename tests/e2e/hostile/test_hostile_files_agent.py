"""A background launch (``launch --async``) through a real agent on the session's
Prefect server leaves only private files: the data dir, the agent's log, the store and
the run's own files (see tests/unit/hostile/test_hostile_files.py for the rest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.support import wait_for
from tests.support.file_modes import modes, run_files, write_code_dir


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    return write_code_dir(tmp_path)


def test_a_background_launch_leaves_only_private_files(
        relaunch: Any, cli_env: dict[str, str], code_dir: Path) -> None:
    result = relaunch("launch", "--code", str(code_dir), "-E", "python3 main.py", "--async",
                      "--json", env=cli_env)
    assert result.code == 0, result.err
    job = result.json()

    def ended() -> dict[str, Any] | None:
        status = relaunch("job", "status", str(job["id"]), "--json", env=cli_env)
        data: dict[str, Any] = status.json()
        return data if data["state"] in ("finished", "failed", "cancelled") else None

    assert wait_for(ended, "the background job to end", timeout=180)["state"] == "finished"
    data = Path(cli_env["RELAUNCH_DATA_DIR"])
    log = data / "logs" / f"direct-job-{job['id']}.log"
    # the agent exits once its queue is idle: its log is complete then
    wait_for(lambda: "agent stopped" in log.read_text(), "the background agent to stop",
             timeout=120)
    found = modes(data)
    assert {path: found[path] for path in (".", "logs", f"logs/direct-job-{job['id']}.log",
                                           "relaunch.db")} == {
        ".": 0o700, "logs": 0o700, f"logs/direct-job-{job['id']}.log": 0o600,
        "relaunch.db": 0o600}
    own = run_files(found, job["run_id"])
    assert f"runs/{job['run_id']}/output.log" in own
    assert {path: mode for path, mode in own.items()
            if mode != (0o700 if path == f"runs/{job['run_id']}" else 0o600)} == {}
