"""End to end: a stock ``wandb`` script, run offline, as a sweep's trial. A real agent
runs the scheduler and each trial (a code job on a local-process queue); the script
takes its parameter from ``wandb.config`` and logs its loss with ``run.log``, printing
no JSON. The queue sets WANDB_LAUNCH=false, so ``wandb.init()`` ignores WANDB_CONFIG and
the parameters can only come through WANDB_SWEEP_PARAM_PATH; the metric can only come
from the summary in the run's offline directory."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

TRAIN = """import json, os, wandb
run = wandb.init()
x = run.config["x"]
with open(run.config["marker"], "a") as out:
    out.write(json.dumps({"x": x, "path": os.environ["WANDB_SWEEP_PARAM_PATH"],
                          "run": os.environ["RELAUNCH_RUN_ID"]}) + "\\n")
run.log({"loss": (x - 2) ** 2})
run.finish()
"""


def test_a_stock_wandb_script_gets_its_parameters_and_its_summary_is_read(
        relaunch: Callable[..., Any], tmp_path: Path) -> None:
    env: dict[str, str] = {}
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text(TRAIN)
    wandb_home = tmp_path / "wandb-home"
    queue_config = {"env": {
        "WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_LAUNCH": "false",
        **{f"WANDB_{name}_DIR": str(wandb_home / name.lower())
           for name in ("CACHE", "CONFIG", "DATA")}}}
    made = relaunch("queue", "create", "sw", "-r", "local-process", "--config",
                    json.dumps(queue_config), env=env)
    assert made.code == 0, made.err
    made = relaunch("job", "create", "code", str(code), "-n", "trainer", "-E",
                    f"{sys.executable} train.py", env=env)
    assert made.code == 0, made.err
    marker = tmp_path / "ran.jsonl"
    config = tmp_path / "sweep.yaml"
    config.write_text("job: trainer\nmethod: grid\nmetric:\n  name: loss\n  goal: minimize\n"
                      "parameters:\n  x:\n    values: [1, 2, 3]\n"
                      f"  marker:\n    value: {json.dumps(str(marker))}\n")
    started = relaunch("launch-sweep", str(config), "-q", "sw", "--json", env=env)
    assert started.code == 0, started.err
    sweep = started.json()["id"]

    agent = relaunch("launch-agent", "-q", "sw", "-j", "2", "--until-idle", timeout=300,
                     env=env)
    assert agent.code == 0, agent.err[-3000:]

    runs = [json.loads(line) for line in marker.read_text().splitlines()]
    assert sorted(run["x"] for run in runs) == [1, 2, 3]  # through wandb.config
    for run in runs:  # the file of the trial's own run
        assert Path(run["path"]).parent.name == run["run"]
    data = relaunch("sweep", "show", sweep, "--json", env=env).json()
    assert data["state"] == "finished"
    trials = sorted((t["params"]["x"], t["metric"], t["state"]) for t in data["trials"])
    assert trials == [(1, 1.0, "finished"), (2, 0.0, "finished"), (3, 1.0, "finished")]
    assert data["best"]["params"]["x"] == 2
