"""The agent enforces the queue's admin-only fields on the final config, whatever the
store holds: a job spec written straight into the store (as a submitter's SQL could,
bypassing enqueue's checks) that asks for the host's network or root in a
local-container queue fails at the agent's ``agent`` stage, and no container is
created. Real pipeline on SQLite (no Prefect), real Docker daemon."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from launch_core import api
from launch_core.backends.resource import RunRef
from launch_core.pipeline.pipeline import JobPipeline, StageFailed
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from tests.support.docker import DockerEnv


@pytest.mark.parametrize("payload", [{"network": "host"}, {"user": "0:0"},
                                     {"memory": None}])
def test_the_agent_refuses_a_stored_spec_with_an_admin_only_field_and_runs_nothing(
        sqlite_store: QueueStore, agent_config: AgentConfig, docker_env: DockerEnv,
        payload: dict[str, Any]) -> None:
    queue = api.create_queue(sqlite_store, "q", "local-container", entity="team",
                             config={"memory": "256m"})
    spec = LaunchSpec(image=docker_env.base_image, entry_point=["python3", "-c", "1"],
                      resource_args=payload)
    item = sqlite_store.enqueue(queue, spec)  # the store's own insert: no enqueue checks
    [claimed] = sqlite_store.claim("agent-a", [queue.id])
    pipeline = JobPipeline(sqlite_store, agent_config, "agent-a", lambda line: None)

    with pytest.raises(StageFailed):
        asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token))
    ended = sqlite_store.get_item(item.id)
    assert (ended.state, ended.stage) == ("failed", "agent")
    assert f"{next(iter(payload))}:" in (ended.reason or "")
    name = RunRef(item.run_id).name
    assert docker_env.client.containers.list(all=True, filters={"name": name}) == []
