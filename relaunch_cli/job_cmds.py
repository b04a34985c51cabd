"""``relaunch job list|status|cancel|logs``."""

from __future__ import annotations

from typing import Any

import typer

from launch_core import api
from launch_core.errors import LaunchError, NotFound
from launch_core.spec.failure_class import last_retry
from launch_core.store import QueueItem, QueueStore
from relaunch_cli.common import EntityOption, JsonOption
from relaunch_cli.output import ago, duration, item_json, print_json, table

app = typer.Typer(no_args_is_help=True, help="Inspect and cancel jobs.")


@app.command("list")
def list_jobs(
    queue: str | None = typer.Option(None, "-q", "--queue"),
    entity: str | None = EntityOption,
    state: list[str] = typer.Option([], "--state", help="Only these states (repeatable)."),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = JsonOption,
) -> None:
    """List jobs, newest first."""
    store = api.open_store()
    entity = entity or api.default_entity()
    queue_id = store.get_queue(entity, queue).id if queue else None
    found = store.list_items(entity=entity, queue_id=queue_id, states=tuple(state) or None,
                             limit=limit)
    names = {q.id: q.name for q, _ in store.list_queues(entity)}
    if as_json:
        print_json([item_json(item, names.get(item.queue_id)) for item in found])
        return
    table(None, ["job", "queue", "state", "priority", "submitter", "name", "duration", "exit",
                 "stage"], [
        [i.id, names.get(i.queue_id), i.state, i.priority_name, i.submitter or None,
         i.spec.name, duration(i), i.exit_code, i.stage] for i in found])


@app.command("status")
def status(job_id: int, entity: str | None = typer.Option(
               None, "-e", "--entity", help="Only a job of this entity's queues (default: "
               "any)."),
           as_json: bool = JsonOption) -> None:
    """Show a job's state; for a pending job, say why it waits."""
    store = api.open_store()
    item = store.get_item(job_id)
    queue = store.get_queue_by_id(item.queue_id)
    if entity is not None and queue.entity != entity:
        raise NotFound(f"job {job_id} not found in entity {entity!r}")
    position = store.position(item)
    data = item_json(item, queue.name, position)
    if item.state == "queued":
        data["waiting"] = _why_waiting(store, item, queue.entity, queue.name)
    if item.state in ("submitted", "running"):
        data["resource_status"] = _resource_status(store, item)
    data["last_retry"] = last_retry(e.message for e in store.events_for(item.id))
    if as_json:
        print_json(data)
        return
    typer.echo(f"job {item.id} ({item.run_id}) in {queue.entity}/{queue.name}: {item.state}")
    for key in ("stage", "reason", "exit_code", "agent_id", "handle"):
        if data[key] is not None:
            typer.echo(f"  {key}: {data[key]}")
    typer.echo(f"  enqueued {ago(item.enqueued_at)}, duration {duration(item)}")
    if data["last_retry"]:
        typer.echo(f"  {data['last_retry']}")
    if "waiting" in data:
        typer.echo(f"  waiting: {data['waiting']['summary']}")
    if data.get("resource_status"):
        typer.echo(f"  resource says: {data['resource_status']}")


def _resource_status(store: QueueStore, item: QueueItem) -> str | None:
    """What the resource last said of the run since it started (a pending reason)."""
    from launch_core.pipeline.watch import RESOURCE_NOTE

    said = None
    for event in store.events_for(item.id):
        if event.from_state != event.to_state:
            said = None  # a state change: earlier notes are about an earlier phase
        elif event.message and event.message.startswith(RESOURCE_NOTE):
            said = event.message[len(RESOURCE_NOTE):]
    return said


def _why_waiting(store: QueueStore, item: QueueItem, entity: str, queue: str) -> dict[str, Any]:
    from launch_core.backends.table import load_class

    resource = store.get_queue_by_id(item.queue_id).definition.resource
    local = bool(getattr(load_class("resource", resource), "runs_on_agent_host", False))
    held_by = store.waiting_reasons(item, uses_slots=local)
    agents = [a for a in store.live_agents(entity) if queue in a.queues]
    load = store.active_counts([a.id for a in agents])
    free = sum(max(0, a.max_jobs - load[a.id]) if a.max_jobs >= 0 else 1 for a in agents)
    position = store.position(item)
    if not agents:
        summary = f"position {position}; no agent is polling queue {queue!r}"
    elif free == 0:
        summary = f"position {position}; {len(agents)} agent(s) polling, all slots busy"
    else:
        summary = f"position {position}; {len(agents)} agent(s) polling, {free} free slot(s)"
    if held_by:  # a policy holds it, whatever the agents' slots
        summary = f"position {position}; {'; '.join(held_by)}"
    return {"position": position, "agents": len(agents), "free_slots": free,
            "policy": held_by, "summary": summary}


@app.command("cancel")
def cancel(job_id: int) -> None:
    """Cancel a job: a queued one at once, a running one through its agent."""
    item = api.open_store().request_cancel(job_id)
    if item.state == "cancelled":
        typer.echo(f"cancelled job {job_id}")
    else:
        typer.echo(f"cancel requested for job {job_id} ({item.state}); its agent stops it")


@app.command("logs")
def logs(job_id: int,
         follow: bool = typer.Option(False, "--follow", "-f",
                                     help="Keep printing until the job ends.")) -> None:
    """Print a job's output (from its resource); --follow streams it."""
    import sys
    import time

    from launch_core.backends.resource import get_resource
    from launch_core.store.states import TERMINAL

    store = api.open_store()
    item = store.get_item(job_id)
    offset = 0
    while True:
        if item.handle:
            text, offset = get_resource(item.handle["resource"]).read_logs(item.handle, offset)
            sys.stdout.write(text)
            sys.stdout.flush()
        if not follow or item.state in TERMINAL:
            break
        time.sleep(0.5)
        item = store.get_item(job_id)
    if item.handle is None:  # nothing to show is no bad input: exit 1, not 2
        never = "never ran" if item.state in TERMINAL else "has not run"
        raise LaunchError(f"job {job_id} has no logs: it {never} ({item.state})")
