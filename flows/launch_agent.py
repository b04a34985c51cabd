"""The ``launch-agent`` flow: a long-running agent polling relaunch queues."""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, get_run_logger
from prefect.exceptions import TerminationSignal
from prefect.runtime import flow_run

from flows.enqueue_pickup import enqueue_pickup
from flows.job_events import JobEventRelay
from flows.launch_job import run_launch_job
from flows.queue_artifact import queue_pages
from flows.runtime import agent_config_for, register_config, stop_signal_for, store_for
from flows.sweep_scheduler import run_sweep_scheduler
from launch_core.agent.agent import Agent
from launch_core.agent.guard import AgentGuard
from launch_core.api import default_entity
from launch_core.errors import ConfigError
from launch_core.masking import mask_log_handlers
from launch_core.spec.agent_config import load_agent_config
from launch_core.store import QueueItem
from launch_core.store.engine import database_url

# The most concurrent jobs (max_jobs) one agent runs on Prefect's temporary server
# (no PREFECT_API_URL: a server on SQLite started by the agent's process) without
# errors. bench/bench_burst.py (c), 60-job bursts on the default configuration, 2
# cores under load 9-12: max_jobs 4 clean; 8: a 503 (job given back); 16: 503s and
# leases swept (flow runs crashed). Above it the agent warns when it starts.
TEMPORARY_SERVER_MAX_JOBS = 4
SIZING_DOC = "docs/operations.md#sizing-the-prefect-server"


def _run_name() -> str:
    """``agent-<entity>-<queues>``: findable in the UI among the agent's flow runs."""
    params = flow_run.parameters
    queues = ",".join(params.get("queues") or []) or "config"
    return f"agent-{params.get('entity') or default_entity()}-{queues}"


@flow(name="launch-agent", flow_run_name=_run_name, log_prints=True)
async def launch_agent(queues: list[str] | None = None, max_jobs: int | None = None,
                       entity: str | None = None, config_path: str | None = None,
                       config_block: str | None = None, until_idle: bool = False,
                       stop_key: str | None = None, metrics_port: int | None = None) -> int:
    """Poll ``queues`` and launch their jobs until stopped; returns jobs claimed.

    The config comes from ``config_block`` (an AgentConfigBlock name), else the one
    the CLI loaded and registered under ``stop_key``, else from ``config_path`` /
    RELAUNCH_CONFIG / the default file, then env, then these parameters.
    ``stop_key`` names a stop signal registered in this process (the CLI's, which
    handles the signals). Without it (a deployment run by a Prefect
    worker) a SIGTERM (a cancel, or sent to the process) stops the agent as the CLI's
    does and then goes on to Prefect's engine, and a guard process sweeps the agent's
    jobs at once if its process is killed. ``metrics_port`` serves the agent's
    Prometheus metrics there (over the config's ``metrics_port``). Raises ConfigError
    for a bad config or no queue, InvalidInput when the metrics cannot be served on
    that port, AgentFailed when a side task of the agent died.
    """
    loaded = None if config_block else agent_config_for(stop_key)
    if loaded is not None:  # the CLI's, loaded once with its flags
        config, warnings = loaded
    else:
        data = await _block_data(config_block) if config_block else None
        config, warnings = load_agent_config(config_path, data=data, flags={
            "queues": list(queues or []), "max_jobs": max_jobs, "entity": entity,
            "metrics_port": metrics_port})
    mask_log_handlers()  # secret values masked in every log record from here on
    logger = get_run_logger()
    for warning in [*warnings, *_temporary_server_warning(config.max_jobs)]:
        logger.warning(warning)
    if not config.queues:
        raise ConfigError("queues: name at least one queue (-q, or 'queues' in the config)")
    agent: Agent | None = None
    terminated: list[TerminationSignal] = []

    async def run_job(item: QueueItem, resume: bool) -> str:
        assert agent is not None
        register_config(agent.agent_id, config)  # the job's flow takes it from here
        try:
            if item.spec.is_scheduler:  # a sweep's scheduler, not a job
                return await run_sweep_scheduler(item, agent.agent_id)
            return await run_launch_job(item_id=item.id,
                                        queue_name=agent.queue_names[item.queue_id],
                                        actor=agent.agent_id, resume=resume,
                                        claim_token=item.claim_token,
                                        on_api_error=agent.metrics.prefect_api_error)
        except TerminationSignal as signal:
            # Prefect's engine raises SIGTERM wherever the main thread is; here it
            # ended this job's flow run, which must not leave the agent polling.
            terminated.append(signal)
            agent.stop_signal.set()  # stop; the job is released with the others
            raise asyncio.CancelledError from None

    agent = Agent(store_for(config.database), config, config.entity or default_entity(),
                  run_job, logger, stop=stop_signal_for(stop_key), until_idle=until_idle)
    if stop_key is None:  # a deployment's run: guard its jobs and its flow run
        agent.guard = AgentGuard(database_url(config.database), module="flows.agent_guard",
                                 flow_run=str(flow_run.get_id()))
    # Job state changes as Prefect events (relaunch.job.*), from a thread of its own.
    relay = JobEventRelay(database_url(config.database), agent.entity, agent.queue_names,
                          logger)
    await asyncio.to_thread(relay.start)
    try:
        # The queues' pages in the Prefect UI; runs of the entity's job deployments.
        async with queue_pages(agent, logger), enqueue_pickup(agent, logger):
            claimed = await agent.run()
    finally:
        await asyncio.to_thread(relay.stop)
        if agent.guard is not None:
            await asyncio.to_thread(agent.guard.close)
    if terminated:  # the jobs are released: now Prefect's engine ends the run
        raise terminated[0]
    return claimed


def _temporary_server_warning(max_jobs: int) -> list[str]:
    """A warning when Prefect runs its temporary server and ``max_jobs`` (-1:
    unlimited) is more than it carries."""
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value() or 0 <= max_jobs <= TEMPORARY_SERVER_MAX_JOBS:
        return []
    return [f"max_jobs {'unlimited' if max_jobs < 0 else max_jobs}: Prefect's temporary "
            "server (no PREFECT_API_URL) fails under more than "
            f"{TEMPORARY_SERVER_MAX_JOBS} concurrent jobs; run a Prefect server on "
            f"PostgreSQL and set PREFECT_API_URL, see {SIZING_DOC}"]


async def _block_data(name: str) -> dict[str, Any]:
    from blocks.agent_config import AgentConfigBlock

    block: AgentConfigBlock = await AgentConfigBlock.aload(name)
    return block.as_config_data()
