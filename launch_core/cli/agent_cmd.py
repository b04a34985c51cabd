"""``relaunch launch-agent`` (alias ``agent``): run the polling agent flow."""

from __future__ import annotations

import asyncio
import logging

import typer

from launch_core.cli.common import EntityOption


def launch_agent(
    queues: list[str] = typer.Option([], "-q", "--queue", help="Queue to poll (repeatable)."),
    max_jobs: int | None = typer.Option(None, "--max-jobs", help="Concurrent jobs; -1 = "
                                        "unlimited."),
    config: str | None = typer.Option(None, "-c", "--config", help="launch-config.yaml path."),
    config_block: str | None = typer.Option(None, "--config-block",
                                            help="Load the config from this Prefect block."),
    entity: str | None = EntityOption,
    verbose: int = typer.Option(0, "-v", "--verbose", count=True, help="More logs."),
    until_idle: bool = typer.Option(False, "--until-idle", help="Exit once the queues have "
                                    "nothing queued or running."),
) -> None:
    """Poll queues and launch their jobs, each as a launch-job flow run."""
    from launch_core.config import load_agent_config

    # Validate the config before Prefect starts, so bad input is a quick exit 2.
    load_agent_config(config, flags={"queues": queues, "max_jobs": max_jobs, "entity": entity})
    if verbose:
        logging.getLogger("prefect").setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
    from flows.launch_agent import launch_agent as agent_flow

    launched = asyncio.run(agent_flow(queues=queues, max_jobs=max_jobs, entity=entity,
                                      config_path=config, config_block=config_block,
                                      until_idle=until_idle))
    typer.echo(f"agent stopped after launching {launched} job(s)")
