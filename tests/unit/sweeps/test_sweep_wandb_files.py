"""Where the scheduler finds a trial's stock ``wandb`` run
(launch_core.sweep_runs.wandb_files): in the working directory of a local process
(``code``, ``repo[/build context]`` or ``work`` in its run dir), of the trial's own run
id; never for a container. Items and their handles come from a real SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.store import QueueItem, QueueStore
from launch_core.sweep_runs.wandb_files import local_wandb_run
from launch_core.sweeps.metrics import wandb_value


def submitted(store: QueueStore, resource: str, run_dir: Path, **fields: object
              ) -> QueueItem:
    queue = store.create_queue(QueueDefinition.model_validate(
        {"entity": "team", "name": resource, "resource": resource}))
    item = store.enqueue(queue, LaunchSpec.model_validate(fields or {"image": "img"}))
    [claimed] = store.claim("agent-1", [queue.id])
    handle = {"resource": resource, "log": str(run_dir / item.run_id / "output.log")}
    return store.transition(claimed.id, "submitted", actor="agent-1", handle=handle)


def wandb_run(workdir: Path, run_id: str, stamp: str, loss: float) -> Path:
    found = workdir / "wandb" / f"offline-run-{stamp}-{run_id}"
    (found / "files").mkdir(parents=True)
    (found / "files" / "wandb-summary.json").write_text(json.dumps({"loss": loss}))
    return found


def test_a_local_process_trials_run_is_found_in_its_workdir(sqlite_store: QueueStore,
                                                            tmp_path: Path) -> None:
    trial = submitted(sqlite_store, "local-process", tmp_path,
                      uri="https://example.com/team/repo.git", build_context="sub")
    base = tmp_path / trial.run_id
    assert local_wandb_run(trial) is None
    wandb_run(base / "code", "another-run", "20260102_000000", 9.0)
    assert local_wandb_run(trial) is None  # another run's directory
    wandb_run(base / "repo" / "sub", trial.run_id, "20260101_000000", 1.0)
    newest = wandb_run(base / "repo" / "sub", trial.run_id, "20260101_120000", 0.5)
    assert local_wandb_run(trial) == newest
    found = local_wandb_run(trial)
    assert found is not None and wandb_value(found, "loss") == 0.5


def test_a_containers_run_is_never_looked_for(sqlite_store: QueueStore,
                                              tmp_path: Path) -> None:
    trial = submitted(sqlite_store, "local-container", tmp_path)
    wandb_run(tmp_path / trial.run_id / "work", trial.run_id, "20260101_000000", 1.0)
    assert local_wandb_run(trial) is None
