"""``relaunch agent list|stop``: the agents of an entity, and stopping one wherever it
runs (starting one is ``relaunch launch-agent``)."""

from __future__ import annotations

import time

import typer

from launch_core import api
from launch_core.store.agents import agent_state
from relaunch_cli.common import EntityOption, JsonOption
from relaunch_cli.output import ago, print_json, table

app = typer.Typer(no_args_is_help=True, help="List and stop agents (start one with "
                  "relaunch launch-agent).")


@app.command("list")
def list_agents(entity: str | None = EntityOption, as_json: bool = JsonOption) -> None:
    """List an entity's agents, newest first: running jobs, last heartbeat, state."""
    rows = api.open_store().list_agents(entity or api.default_entity())
    now = time.time()
    if as_json:
        print_json([{**agent.__dict__, "running": running,
                     "state": agent_state(agent, running, now)} for agent, running in rows])
        return
    table(None, ["id", "host", "pid", "queues", "running", "heartbeat", "state"], [
        [agent.id, agent.hostname, agent.pid, ",".join(agent.queues),
         f"{running} of {'∞' if agent.max_jobs == -1 else agent.max_jobs}",
         ago(agent.heartbeat_at), agent_state(agent, running, now)]
        for agent, running in rows], whole=("id", "pid", "running", "heartbeat", "state"))


@app.command("stop")
def stop_agent(agent_id: str = typer.Argument(..., metavar="ID", help="The agent's id "
                                              "(relaunch agent list)."),
               now: bool = typer.Option(False, "--now", help="Release its running jobs "
                                        "for re-adoption instead of letting them finish.")
               ) -> None:
    """Ask an agent to stop, wherever it runs: it takes no more jobs, lets its running
    ones finish (or with --now releases them) and exits, within one poll."""
    agent = api.open_store().request_stop(agent_id, now=now)
    how = ("release its jobs and exit" if agent.stop_requested == "now"
           else "finish its jobs, then exit")
    typer.echo(f"stop requested of agent {agent.id} on {agent.hostname}: it will {how}")
