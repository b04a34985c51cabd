"""An unchanged W&B training script under relaunch, with the real ``wandb`` client
(offline): the launched run config and run id reach ``wandb.init()`` through W&B's
variables. The pipeline runs without Prefect on SQLite, on local-process."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from launch_core import api
from launch_core.pipeline.pipeline import JobPipeline, resource_for
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore

# A stock W&B script: nothing in it knows about relaunch.
TRAIN = """\
import json
import wandb

run = wandb.init(project="stock-project", config={"lr": 0.01, "epochs": 2})
print("RESULT " + json.dumps({"lr": run.config.lr, "epochs": run.config.epochs,
                              "id": run.id, "name": run.name,
                              "notes": len(run.config.get("notes", ""))}), flush=True)
run.finish()
"""


def run_training(store: QueueStore, config: AgentConfig, tmp_path: Path,
                 **spec: Any) -> tuple[str, dict[str, Any]]:
    """Enqueue the script with ``spec``, run it through the pipeline; return its run id
    and what the script saw."""
    script = tmp_path / "train.py"
    script.write_text(TRAIN)
    wandb_dirs = {name: str(tmp_path / name.lower()) for name in
                  ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR")}
    for folder in wandb_dirs.values():
        Path(folder).mkdir(exist_ok=True)
    queue = api.create_queue(store, "wandb", "local-process", entity="team", config={
        "env": {"WANDB_MODE": "offline", "WANDB_SILENT": "true", **wandb_dirs}})
    item = store.enqueue(queue, LaunchSpec.model_validate(
        {"image": "local", "entry_point": [sys.executable, str(script)], **spec}))
    [claimed] = store.claim("agent-a", [queue.id])
    lines: list[str] = []
    pipeline = JobPipeline(store, config, "agent-a", lines.append)
    state = asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token))
    assert state == "finished", lines[-20:]
    [result] = [line.removeprefix("RESULT ") for line in lines if line.startswith("RESULT ")]
    return item.run_id, json.loads(result)


def test_wandb_init_sees_the_launched_run_config_and_the_relaunch_run_id(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    run_id, seen = run_training(sqlite_store, agent_config, tmp_path,
                                run_config={"lr": 0.5}, name="resnet-lr-0.5")
    assert seen["lr"] == 0.5
    assert seen["epochs"] == 2  # the script's own value, not launched, stays
    assert seen["id"] == run_id
    assert seen["name"] == "resnet-lr-0.5"


def test_a_run_config_past_the_resources_limit_reaches_wandb_in_pieces(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    limit = resource_for("local-process").env_value_limit
    assert limit is not None
    notes = "n" * (limit + 100)  # WANDB_CONFIG_0 and WANDB_CONFIG_1
    _, seen = run_training(sqlite_store, agent_config, tmp_path,
                           run_config={"lr": 0.5, "notes": notes})
    assert (seen["lr"], seen["notes"]) == (0.5, len(notes))


def test_with_wandb_env_off_the_script_keeps_its_own_config_and_id(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    config = agent_config.model_copy(update={"wandb_env": False})
    run_id, seen = run_training(sqlite_store, config, tmp_path, run_config={"lr": 0.5})
    assert seen["lr"] == 0.01
    assert seen["id"] != run_id

