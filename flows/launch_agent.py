"""The ``launch-agent`` flow: a long-running agent polling relaunch queues."""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger

from flows.agent_loop import AgentLoop
from launch_core.config import load_agent_config
from launch_core.errors import ConfigError


@flow(name="launch-agent", log_prints=True)
async def launch_agent(queues: list[str] | None = None, max_jobs: int | None = None,
                       entity: str | None = None, config_path: str | None = None,
                       config_block: str | None = None, until_idle: bool = False) -> int:
    """Poll ``queues`` and launch their jobs until stopped; returns jobs launched.

    The config comes from ``config_block`` (an AgentConfigBlock name) or from
    ``config_path`` / RELAUNCH_CONFIG / the default file, then env, then these
    parameters. Raises ConfigError for a bad config or no queue.
    """
    data = await _block_data(config_block) if config_block else None
    config, warnings = load_agent_config(config_path, data=data, flags={
        "queues": list(queues or []), "max_jobs": max_jobs, "entity": entity})
    for warning in warnings:
        get_run_logger().warning(warning)
    if not config.queues:
        raise ConfigError("queues: name at least one queue (-q, or 'queues' in the config)")
    return await AgentLoop(config, until_idle=until_idle).run()


async def _block_data(name: str) -> dict[str, Any]:
    from blocks.agent_config import AgentConfigBlock

    block: AgentConfigBlock = await AgentConfigBlock.aload(name)
    return block.as_config_data()
