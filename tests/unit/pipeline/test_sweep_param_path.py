"""WANDB_SWEEP_PARAM_PATH of a sweep trial (launch_core.pipeline.workspace): the file of
the trial's parameters in the classic ``wandb agent``'s format, read back by the stock
``wandb`` client's own reader; set for a local process only. Items come from a real
SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
from wandb.sdk.lib.config_util import dict_from_config_file

from launch_core.pipeline.workspace import (
    SWEEP_PARAMS,
    job_env,
    prepare_workdir,
    sweep_params_yaml,
)
from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.store import QueueItem, QueueStore
from launch_core.store.engine import data_dir

CONFIG = {"x": 2, "lr": 0.001, "name": "résumé", "layers": [64, 32],
          "optimizer": {"type": "adam", "beta": 0.9}, "flag": True}


@pytest.fixture(autouse=True)
def own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(tmp_path / "data"))


def enqueue(store: QueueStore, **fields: object) -> QueueItem:
    queue = store.create_queue(QueueDefinition.model_validate(
        {"entity": "team", "name": "sw", "resource": "local-process"}))
    return store.enqueue(queue, LaunchSpec.model_validate(
        {"image": "img", "run_config": CONFIG, **fields}))


def test_wandb_reads_the_trials_parameters_back(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(sweep_params_yaml(CONFIG))
    assert dict_from_config_file(str(path), must_exist=True) == CONFIG
    path.write_text(sweep_params_yaml({}))
    assert not dict_from_config_file(str(path), must_exist=True)


def test_a_local_trial_gets_the_file_and_its_path(sqlite_store: QueueStore) -> None:
    item = enqueue(sqlite_store, sweep_id="sw1")
    env = job_env(item, "sw", "team", {}, None)
    path = Path(env["WANDB_SWEEP_PARAM_PATH"])
    assert path == data_dir() / "runs" / item.run_id / SWEEP_PARAMS
    assert env["WANDB_SWEEP_ID"] == "sw1"
    prepare_workdir(sqlite_store, item, [])
    assert dict_from_config_file(str(path), must_exist=True) == CONFIG
    assert path.stat().st_mode & 0o077 == 0  # private, as the rest of the run dir


def test_no_path_for_a_container_or_outside_a_sweep(sqlite_store: QueueStore) -> None:
    trial = enqueue(sqlite_store, sweep_id="sw1")
    assert "WANDB_SWEEP_PARAM_PATH" not in job_env(trial, "sw", "team", {}, "img",
                                                   agent_basics=False)
    assert "WANDB_SWEEP_PARAM_PATH" not in job_env(trial, "sw", "team", {}, None,
                                                   wandb=False)
    plain = sqlite_store.enqueue(sqlite_store.get_queue("team", "sw"),
                                 LaunchSpec.model_validate({"image": "img"}))
    assert "WANDB_SWEEP_PARAM_PATH" not in job_env(plain, "sw", "team", {}, None)
    prepare_workdir(sqlite_store, plain, [])
    assert not (data_dir() / "runs" / plain.run_id / SWEEP_PARAMS).exists()
