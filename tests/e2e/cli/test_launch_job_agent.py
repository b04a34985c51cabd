"""A launch job end to end: ``relaunch job create code``, ``launch -j NAME:ALIAS``, a
real ``launch-agent`` (the session's Prefect server) runs it on a local-process queue
to ``finished`` with the run config the job's inputs filled, then ``job rerun`` runs
the same spec again under a new run id."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

MAIN = """import os
print("RUN", os.environ["RELAUNCH_RUN_ID"], "CONFIG", os.environ["RELAUNCH_RUN_CONFIG"])
"""
INPUTS = {"lr": {"type": "number", "minimum": 0.0001, "maximum": 1, "default": 0.01},
          "epochs": {"type": "integer", "minimum": 1, "maximum": 100}}


def test_an_agent_runs_a_job_version_and_its_rerun(relaunch: Any, tmp_path: Path) -> None:
    def ok(*args: str, timeout: float = 60) -> Any:
        result = relaunch(*args, timeout=timeout)
        assert result.code == 0, result.err[-3000:]
        return result

    def run_agent() -> None:
        ok("launch-agent", "-q", "jobs", "--until-idle", timeout=240)

    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text(MAIN)
    (tmp_path / "inputs.json").write_text(json.dumps(INPUTS))
    ok("queue", "create", "jobs", "-r", "local-process")
    ok("job", "create", "code", str(code), "-n", "train", "-E", "python3 main.py",
       "-a", "prod", "--inputs", str(tmp_path / "inputs.json"))
    shutil.rmtree(code)  # the agent runs the version's tarball
    first = ok("launch", "-q", "jobs", "-j", "train:prod", "--run-config", '{"epochs": 2}',
               "--json").json()
    run_agent()
    status = ok("job", "status", str(first["id"]), "--json").json()
    assert status["state"] == "finished", status
    assert status["spec"]["job"] == "train:v0"
    out = ok("job", "logs", str(first["id"])).out
    line = next(x for x in out.splitlines() if x.startswith("RUN "))
    assert line.split(" CONFIG ", 1) == [f"RUN {first['run_id']}",
                                         json.dumps({"lr": 0.01, "epochs": 2})]

    again = ok("job", "rerun", str(first["id"]), "--json").json()
    assert again["run_id"] != first["run_id"]
    run_agent()
    assert ok("job", "status", str(again["id"]), "--json").json()["state"] == "finished"
    rerun_out = ok("job", "logs", str(again["id"])).out
    assert f"RUN {again['run_id']} CONFIG " in rerun_out
    assert json.dumps({"lr": 0.01, "epochs": 2}) in rerun_out
