"""``relaunch launch-agent``: run the polling agent flow."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from typing import Any

import typer

from launch_core.errors import InvalidInput
from relaunch_cli.common import EntityOption

# The agent's and its jobs' flow-run logs come through Prefect's loggers.
LOGGERS = ("prefect", "launch_core")
LOG_FORMAT = "%(asctime)s %(levelname)-7s %(name)s - %(message)s"
# Seconds a stopped agent waits for blocking calls still running in its threads.
EXIT_GRACE = 10.0


def launch_agent(
    queues: list[str] = typer.Option([], "-q", "--queue", help="Queue to poll (repeatable)."),
    max_jobs: int | None = typer.Option(None, "-j", "--max-jobs", help="Concurrent jobs; "
                                        "-1 = unlimited."),
    config: str | None = typer.Option(None, "-c", "--config", help="launch-config.yaml path."),
    config_block: str | None = typer.Option(None, "--config-block",
                                            help="Load the config from this Prefect block."),
    entity: str | None = EntityOption,
    verbose: int = typer.Option(0, "-v", "--verbose", count=True,
                                help="Debug logs with -vv (or verbosity: 2 in the config)."),
    until_idle: bool = typer.Option(False, "--until-idle", help="Exit once the queues have "
                                    "nothing queued or running."),
    log_file: str | None = typer.Option(None, "-l", "--log-file", help="Also write the "
                                        "agent's logs to this file ('-': the console only)."),
    gpus: str | None = typer.Option(None, "--gpus", help="GPU devices to share out to "
                                    "local-process and local-container jobs, e.g. 0,1,2,3 "
                                    "(or gpus: in the config)."),
    metrics_port: int | None = typer.Option(None, "--metrics-port", min=1, max=65535,
                                            help="Serve Prometheus metrics on /metrics "
                                            "at this port (or metrics_port: in the config)."),
) -> None:
    """Poll queues and launch their jobs, each as a launch-job flow run."""
    from launch_core.spec.agent_config import load_agent_config

    # Validate the config before Prefect starts, so bad input is a quick exit 2.
    # Loaded once: the agent flow takes this config (registered below), unless it
    # reads a config block.
    loaded, warnings = load_agent_config(config, flags={"queues": queues,
                                                        "max_jobs": max_jobs,
                                                        "entity": entity, "gpus": gpus,
                                                        "metrics_port": metrics_port})
    if loaded.metrics_port is not None and not config_block:  # a port in use: exit 2 now
        from launch_core.agent.metrics import check_metrics_address

        check_metrics_address(loaded.metrics_host, loaded.metrics_port)
    log_handler = open_log_file(log_file)
    if config_block:
        typer.echo(f"launch config: Prefect block {config_block}")
    else:
        typer.echo(f"launch config: {loaded.source or 'none (built-in defaults)'}")
    from flows.launch_agent import launch_agent as agent_flow
    # After Prefect's import: it configures logging once, then only incrementally
    # (a level set before it would be reset to INFO).
    if max(verbose, loaded.verbosity) >= 2:  # -v -v or verbosity: 2: debug logs
        logging.getLogger("prefect").setLevel(logging.DEBUG)
    if log_handler is not None:
        for name in LOGGERS:
            logging.getLogger(name).addHandler(log_handler)
    from flows.runtime import register_agent_config, register_stop
    from launch_core.agent.agent import StopSignal

    outcome: dict[str, Any] = {}
    stop, stop_key = StopSignal(), f"cli-{os.getpid()}"
    register_stop(stop_key, stop)
    if not config_block:
        register_agent_config(stop_key, loaded, warnings)

    # The queues and entity as loaded (file, env, flags) name the agent's flow run;
    # a config block is read by the flow itself.
    if not config_block:
        queues, entity = loaded.queues, loaded.entity or entity

    flow_done = threading.Event()

    async def agent() -> None:
        try:
            outcome["launched"] = await agent_flow(
                queues=queues, max_jobs=max_jobs, entity=entity, config_path=config,
                config_block=config_block, until_idle=until_idle, stop_key=stop_key,
                metrics_port=metrics_port)
        except BaseException as exc:  # re-raised in the main thread below
            outcome["error"] = exc
        finally:
            flow_done.set()

    def run() -> None:
        try:
            asyncio.run(agent())
        except BaseException as exc:
            outcome.setdefault("error", exc)

    # The main thread keeps the signals (Prefect's engine owns SIGTERM in flow
    # threads): SIGINT/SIGTERM stop claiming, give running monitors a moment and
    # release leases (jobs keep running; another agent adopts).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    worker = threading.Thread(target=run, name="relaunch-agent")
    worker.start()
    while worker.is_alive() and not flow_done.is_set():
        worker.join(0.2)
    # The agent has released its jobs. A blocking call still running in a worker
    # thread (a resource's API call that hangs) must not keep the process alive:
    # another agent re-adopts its job, by the run's name.
    worker.join(EXIT_GRACE)
    if worker.is_alive():
        _abandon_worker(outcome)
    if "error" in outcome:
        raise outcome["error"]
    typer.echo(f"agent stopped after launching {outcome['launched']} job(s)")


def _abandon_worker(outcome: dict[str, Any]) -> None:
    """Exit now, without the worker thread still blocked in a call (the interpreter
    would wait for it at exit)."""
    from launch_core.masking import mask

    typer.echo(f"a blocking call still running {EXIT_GRACE:.0f} s after the agent stopped "
               "was abandoned", err=True)
    code = 0
    if "error" in outcome:
        code = getattr(outcome["error"], "exit_code", 1)
        typer.echo(f"error: {mask(str(outcome['error']))}", err=True)
    else:
        typer.echo(f"agent stopped after launching {outcome['launched']} job(s)")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def open_log_file(path: str | None) -> logging.Handler | None:
    """A handler appending to ``path`` (None for no file, or ``-``: the console
    already shows the logs). Raises InvalidInput when it cannot be opened."""
    if path is None or path == "-":
        return None
    try:
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput(f"-l/--log-file: cannot open {path}: {exc.strerror}") from None
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    return handler
