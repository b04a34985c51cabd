"""A launch job published as a Prefect deployment (its launch form) on a Prefect
server, with a running agent of its entity: the scene of the tests of
"Launching from the Prefect UI" (docs/jobs.md)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support import RELAUNCH, wait_for

MAIN = """import os
print("RUN", os.environ["RELAUNCH_RUN_ID"], "CONFIG", os.environ["RELAUNCH_RUN_CONFIG"])
"""
INPUTS = {"lr": {"type": "number", "minimum": 0.0001, "maximum": 1, "default": 0.01,
                 "description": "learning rate"},
          "epochs": {"type": "integer", "minimum": 1, "maximum": 100,
                     "description": "passes over the data"}}
QUEUE = "form"


@dataclass
class FormScene:
    """The job ``name`` of ``entity`` and its deployment on the server at ``api``."""

    api: str
    entity: str
    name: str
    deployment: dict[str, Any]
    run: Callable[..., Any]  # relaunch(*args) with the scene's environment
    agent_log: Path

    def flow_run(self, flow_run_id: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.api}/flow_runs/{flow_run_id}", timeout=30)
        answer.raise_for_status()
        return dict(answer.json())

    def items(self) -> list[dict[str, Any]]:
        result = self.run("job", "list", "-q", QUEUE, "--json")
        assert result.code == 0, result.err[-2000:]
        return list(json.loads(result.out))

    def log(self) -> str:
        return self.agent_log.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def form_scene(relaunch: Any, cli_env: dict[str, str], api: str, tmp_path: Path
               ) -> Iterator[FormScene]:
    """Queue ``form`` (local-process), a code job with INPUTS created (so published)
    under a new entity and job name (the Prefect server is shared by the session), and
    an agent of that entity polling the queue until the scene ends."""
    entity, name = f"form-{uuid.uuid4().hex[:8]}", f"train-{uuid.uuid4().hex[:8]}"
    env = {"PREFECT_API_URL": api, "RELAUNCH_ENTITY": entity}

    def run(*args: str, timeout: float = 60) -> Any:
        return relaunch(*args, env=env, timeout=timeout)

    def ok(*args: str) -> Any:
        result = run(*args)
        assert result.code == 0, result.err[-3000:]
        return result

    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text(MAIN)
    (tmp_path / "inputs.json").write_text(json.dumps(INPUTS))
    ok("queue", "create", QUEUE, "-r", "local-process")
    made = ok("job", "create", "code", str(code), "-n", name, "-E", "python3 main.py",
              "--inputs", str(tmp_path / "inputs.json"))
    assert f"published Prefect deployment enqueue/{name}" in made.err, made.err
    answer = httpx.get(f"{api}/deployments/name/enqueue/{name}", timeout=30)
    answer.raise_for_status()
    log = tmp_path / "agent.log"
    with open(log, "wb") as out:
        agent = subprocess.Popen([RELAUNCH, "launch-agent", "-q", QUEUE],
                                 env={**cli_env, **env}, cwd=tmp_path, stdout=out,
                                 stderr=subprocess.STDOUT)
    try:
        yield FormScene(api, entity, name, answer.json(), run, log)
    finally:
        agent.terminate()
        try:
            agent.wait(timeout=60)
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.wait(timeout=30)


def finished_run(scene: FormScene, flow_run_id: str) -> dict[str, Any]:
    """Wait for the enqueue flow run to complete and its job to finish; the job."""
    wait_for(lambda: scene.flow_run(flow_run_id)["state_type"] == "COMPLETED",
             lambda: f"flow run {flow_run_id} completed (now "
                     f"{scene.flow_run(flow_run_id)['state_type']}); agent log: "
                     f"{scene.log()}", timeout=120)
    return dict(wait_for(lambda: next((item for item in scene.items()
                                       if item["state"] == "finished"), None),
                         lambda: f"the job finished: {scene.items()}; agent log: "
                                 f"{scene.log()}", timeout=180))
