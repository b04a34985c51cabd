"""W&B's variables in a run's environment (launch_core.pipeline.workspace.job_env): what W&B
Launch gives a run, the split of WANDB_CONFIG past a resource's limit, the switch that
turns them off, and what is never injected. Items come from a real SQLite sqlite_store."""

from __future__ import annotations

import json

import pytest

from launch_core.backends.resource import get_resource
from launch_core.pipeline.workspace import job_env
from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.store import QueueItem, QueueStore


def enqueue(sqlite_store: QueueStore, **fields: object) -> QueueItem:
    queue = sqlite_store.create_queue(QueueDefinition.model_validate(
        {"entity": "team", "name": "gpu", "resource": "local-process"}))
    return sqlite_store.enqueue(queue, LaunchSpec.model_validate({"image": "img", **fields}))


def wandb_names(env: dict[str, str]) -> set[str]:
    return {name for name in env if name.startswith("WANDB_")}


def test_a_run_gets_wandbs_launch_variables(sqlite_store: QueueStore) -> None:
    item = enqueue(sqlite_store, project="vision", name="resnet", run_config={"lr": 0.5})
    env = job_env(item, "gpu", "team", {}, "registry.example.com/team/app:abc")
    assert env["WANDB_LAUNCH"] == "True"
    assert env["WANDB_RUN_ID"] == item.run_id == env["RELAUNCH_RUN_ID"]
    assert (env["WANDB_PROJECT"], env["WANDB_NAME"]) == ("vision", "resnet")
    assert env["WANDB_ENTITY"] == "team"
    assert json.loads(env["WANDB_CONFIG"]) == {"lr": 0.5}
    assert (env["WANDB_LAUNCH_QUEUE_NAME"], env["WANDB_LAUNCH_QUEUE_ENTITY"]) == ("gpu", "team")
    assert env["WANDB_DOCKER"] == "registry.example.com/team/app:abc"
    assert "WANDB_RESUME" not in env


def test_without_project_or_name_wandb_chooses_its_own(sqlite_store: QueueStore) -> None:
    env = job_env(enqueue(sqlite_store), "gpu", "team", {}, None)
    assert not {"WANDB_PROJECT", "WANDB_NAME", "WANDB_DOCKER"} & env.keys()
    assert json.loads(env["WANDB_CONFIG"]) == {}


def test_a_resumed_run_gets_wandb_resume_allow(sqlite_store: QueueStore) -> None:
    item = enqueue(sqlite_store)
    [claimed] = sqlite_store.claim("agent-1", [item.queue_id])
    sqlite_store.transition(claimed.id, "submitted", actor="agent-1", handle={"pid": 1})
    sqlite_store.preempt(claimed.id, actor="agent-1", reason="spot reclaim")
    env = job_env(sqlite_store.get_item(item.id), "gpu", "team", {}, None)
    assert env["WANDB_RESUME"] == "allow"
    assert env["WANDB_RUN_ID"] == item.run_id


def test_no_api_key_or_base_url_is_ever_injected(sqlite_store: QueueStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", "agent-key")
    monkeypatch.setenv("WANDB_BASE_URL", "https://wandb.example.com")
    item = enqueue(sqlite_store)
    for agent_basics in (True, False):
        env = job_env(item, "gpu", "team", {}, None, agent_basics=agent_basics)
        assert not {"WANDB_API_KEY", "WANDB_BASE_URL"} & env.keys()
        assert "agent-key" not in env.values()


@pytest.mark.parametrize("limit", [1, 7, 32])
def test_config_past_the_limit_is_split_into_numbered_pieces(sqlite_store: QueueStore,
                                                             limit: int) -> None:
    run_config = {"lr": 0.5, "layers": [64, 128, 256], "name": "ünïcode"}
    text = json.dumps(run_config)
    env = job_env(enqueue(sqlite_store, run_config=run_config), "gpu", "team", {}, None,
                  value_limit=limit)
    assert "WANDB_CONFIG" not in env
    pieces = [env[f"WANDB_CONFIG_{n}"] for n in range(len(env)) if f"WANDB_CONFIG_{n}" in env]
    assert len(pieces) == -(-len(text) // limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert json.loads("".join(pieces)) == run_config


def test_config_at_the_limit_or_without_one_stays_whole(sqlite_store: QueueStore) -> None:
    item = enqueue(sqlite_store, run_config={"blob": "x" * 100_000})
    text = json.dumps(item.spec.run_config)
    for limit in (len(text), None):
        env = job_env(item, "gpu", "team", {}, None, value_limit=limit)
        assert env["WANDB_CONFIG"] == text
        assert "WANDB_CONFIG_0" not in env


def test_resources_declare_wandbs_limit() -> None:
    for name in ("local-process", "local-container"):
        assert get_resource(name).env_value_limit == 32670


def test_wandb_variables_can_be_turned_off(sqlite_store: QueueStore) -> None:
    env = job_env(enqueue(sqlite_store, project="p", run_config={"lr": 1}), "gpu", "team",
                  {"env": {"WANDB_MODE": "offline"}}, None, wandb=False)
    assert wandb_names(env) == {"WANDB_MODE"}  # the queue's own env is kept
    assert env["RELAUNCH_RUN_ID"]


def test_the_queue_env_wins_over_wandb_variables_not_over_relaunch_ones(
        sqlite_store: QueueStore) -> None:
    config = {"env": {"WANDB_PROJECT": "pinned", "WANDB_ENTITY": "ml-org",
                      "RELAUNCH_RUN_ID": "spoofed"}}
    item = enqueue(sqlite_store, project="asked")
    env = job_env(item, "gpu", "team", config, None)
    assert (env["WANDB_PROJECT"], env["WANDB_ENTITY"]) == ("pinned", "ml-org")
    assert env["RELAUNCH_RUN_ID"] == item.run_id


def test_wandbs_env_list_form_reaches_the_run(sqlite_store: QueueStore) -> None:
    config = {"env": ["WANDB_MODE=offline", "EQ=a=b", "EMPTY="]}
    env = job_env(enqueue(sqlite_store), "gpu", "team", config, None)
    assert (env["WANDB_MODE"], env["EQ"], env["EMPTY"]) == ("offline", "a=b", "")
