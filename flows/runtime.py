"""Per-process objects the flows share: stores and agent configs."""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import Any

from flows import credentials
from launch_core.agent.agent import StopSignal
from launch_core.errors import one_line
from launch_core.spec.agent_config import AgentConfig, load_agent_config
from launch_core.store import QueueStore

credentials.install()  # every backend loads its credentials blocks through Prefect

# Agent configs by actor (agent id or CLI run): a launch-job flow started in this
# process takes its config from here, so the queue-store URL (which may hold a
# password) never becomes a flow-run parameter visible in the Prefect UI.
_CONFIGS: dict[str, AgentConfig] = {}


def register_config(actor: str, config: AgentConfig) -> None:
    """Make ``config`` the one launch-job flows of ``actor`` run with in this process."""
    _CONFIGS[actor] = config


def config_for(actor: str, fallback: dict[str, Any] | None) -> AgentConfig:
    """The config registered for ``actor``, else one built from ``fallback`` (a flow
    parameter, e.g. for a deployed launch-job) and the environment."""
    if actor in _CONFIGS:
        return _CONFIGS[actor]
    return load_agent_config(data=dict(fallback or {}))[0]


# Stop signals by key: the CLI registers one and names it in the agent flow's
# parameters (a flow parameter must be plain data).
_STOPS: dict[str, StopSignal] = {}
# Agent configs the CLI loaded (with their warnings), by the same key: the agent flow
# takes its config from here rather than loading it again.
_AGENT_CONFIGS: dict[str, tuple[AgentConfig, list[str]]] = {}


def register_agent_config(key: str, config: AgentConfig, warnings: list[str]) -> None:
    """Make ``config`` (loaded and validated by the CLI) the config of the agent flow
    started with ``stop_key=key``; its ``warnings`` are logged by that flow."""
    _AGENT_CONFIGS[key] = (config, list(warnings))


def agent_config_for(key: str | None) -> tuple[AgentConfig, list[str]] | None:
    """The agent config (and warnings) registered under ``key``, if any."""
    return _AGENT_CONFIGS.get(key) if key else None


def register_stop(key: str, stop: StopSignal) -> None:
    """Make ``stop`` the stop signal of the agent flow started with ``stop_key=key``."""
    _STOPS[key] = stop


def stop_signal_for(key: str | None) -> StopSignal | None:
    """The stop signal registered under ``key`` (None: the agent makes its own)."""
    return _STOPS.get(key) if key else None


@functools.cache
def store_for(url: str | None) -> QueueStore:
    """One QueueStore (engine and pool) per database URL per process."""
    return QueueStore(url)



def run_logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    """The current flow run's logger (its lines reach the agent's output and the
    Prefect UI); outside a flow run, relaunch's own."""
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("relaunch.flows")


_SYNC_CLIENTS: list[Any] = []  # this process's one SyncClientContext, once opened


async def share_sync_client() -> None:
    """Make this process's one synchronous Prefect client the current task's: a flow
    run that is not a child resolves its result storage twice, each time with a sync
    client Prefect creates anew when the context has none (about 80 ms each on a
    busy 2-core machine). Opened once (it checks the server's version then); if that
    fails, Prefect goes on making its own."""
    from prefect.context import SyncClientContext

    if not _SYNC_CLIENTS:
        shared = SyncClientContext()
        try:
            await asyncio.to_thread(shared.__enter__)
        except Exception as exc:
            run_logger().info("no shared Prefect client: %s", one_line(exc))
            return
        _SYNC_CLIENTS.append(shared)
    SyncClientContext.__var__.set(_SYNC_CLIENTS[0])
