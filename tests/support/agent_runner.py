"""An agent without Prefect whose jobs run through the real pipeline (the agent
tests' ``make_agent``)."""

from __future__ import annotations

import logging
from typing import Any

from launch_core.agent.agent import Agent
from launch_core.pipeline.pipeline import JobPipeline
from launch_core.spec.agent_config import AgentConfig
from launch_core.store import QueueItem, QueueStore

LOG = logging.getLogger("relaunch.test.agent")


def pipeline_runner(store: QueueStore, config: AgentConfig, agent: list[Agent],
                    before: Any = None) -> Any:
    """A run_job that runs the real pipeline for the agent in ``agent[0]``."""

    async def run_job(item: QueueItem, resume: bool) -> str:
        if before is not None:
            await before(item)
        pipeline = JobPipeline(store, config, agent[0].agent_id, LOG.info)
        return await pipeline.run(item.id, claim_token=item.claim_token, resume=resume)

    return run_job


def make_agent(store: QueueStore, config: AgentConfig, **kwargs: Any) -> Agent:
    holder: list[Agent] = []
    before = kwargs.pop("before", None)
    agent = Agent(store, config, "team", pipeline_runner(store, config, holder, before), LOG,
                  **kwargs)
    holder.append(agent)
    return agent
