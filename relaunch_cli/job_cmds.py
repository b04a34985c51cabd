"""``relaunch job list|status|cancel|logs``."""

from __future__ import annotations

from typing import Any

import typer

from launch_core import api
from launch_core.errors import InvalidInput, LaunchError, NotFound
from launch_core.spec.failure_class import last_retry
from launch_core.store import QueueItem, QueueStore
from relaunch_cli.common import EntityOption, JsonOption
from relaunch_cli.output import ago, duration, item_json, print_json, table

app = typer.Typer(no_args_is_help=True, help="Launch jobs (named, versioned recipes: "
                  "create, describe, versions, alias, delete) and runs (list, status, "
                  "logs, cancel, rerun).")


@app.command("list")
def list_jobs(
    queue: str | None = typer.Option(None, "-q", "--queue"),
    entity: str | None = EntityOption,
    state: list[str] = typer.Option([], "--state", help="Only these states (repeatable)."),
    group: str | None = typer.Option(None, "--group", help="Only the jobs of this group "
                                     "(an --array's), with their array indices."),
    limit: int = typer.Option(50, "--limit"),
    as_json: bool = JsonOption,
) -> None:
    """List jobs, newest first."""
    store = api.open_store()
    entity = entity or api.default_entity()
    queue_id = store.get_queue(entity, queue).id if queue else None
    found = store.list_items(entity=entity, queue_id=queue_id, states=tuple(state) or None,
                             group=group, limit=limit)
    if group is not None and not found and not store.list_items(entity=entity, group=group,
                                                                limit=1):
        raise NotFound(f"--group: no jobs in group {group!r} of entity {entity!r}")
    names = {q.id: q.name for q, _ in store.list_queues(entity)}
    if as_json:
        print_json([item_json(item, names.get(item.queue_id)) for item in found])
        return
    columns = ["job", "queue", "state", "priority", "submitter", "name", "duration", "exit",
               "stage"]
    rows: list[list[Any]] = [
        [i.id, names.get(i.queue_id), i.state, i.priority_name, i.submitter or None,
         i.spec.name, duration(i), i.exit_code, i.stage] for i in found]
    if group is not None:  # the jobs of an array: their indices
        columns.insert(1, "index")
        for row, item in zip(rows, found, strict=True):
            row.insert(1, item.array_index)
    table(None, columns, rows)


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
    data["after"] = [{"id": i, "state": s} for i, s in store.dependencies(item.id)]
    if item.state == "queued" and item.held:  # its dependencies hold it, not its queue
        data["waiting"] = _held(data["after"])
    elif item.state == "queued":
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
    if item.spec.job:  # the launch job version it was launched from (-j)
        typer.echo(f"  launched from job {item.spec.job}")
    if item.group_id is not None:
        index = "" if item.array_index is None else f", array index {item.array_index}"
        typer.echo(f"  group: {item.group_id}{index}")
    if data["after"]:
        typer.echo("  after: " + ", ".join(f"{d['id']} ({d['state']})" for d in data["after"]))
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


def _held(after: list[dict[str, Any]]) -> dict[str, Any]:
    """Why a held job waits: the jobs it waits for that have not finished."""
    from relaunch_cli.arrays import waiting_for

    pending = [d for d in after if d["state"] != "finished"]
    return {"position": None, "after": pending,
            "summary": waiting_for([(d["id"], d["state"]) for d in pending])}


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
def cancel(job_id: int | None = typer.Argument(None),
           group: str | None = typer.Option(None, "--group", help="Cancel every unfinished "
                                            "job of this group (an --array's) instead."),
           entity: str | None = EntityOption) -> None:
    """Cancel a job: a queued one at once, a running one through its agent."""
    if group is not None:
        if job_id is not None:
            raise InvalidInput("--group: give a job ID or --group GROUP, not both")
        _cancel_group(group, entity or api.default_entity())
        return
    if job_id is None:
        raise InvalidInput("job cancel: give a job ID, or --group GROUP")
    item = api.open_store().request_cancel(job_id)
    if item.state == "cancelled":
        typer.echo(f"cancelled job {job_id}")
    else:
        typer.echo(f"cancel requested for job {job_id} ({item.state}); its agent stops it")


def _cancel_group(group: str, entity: str) -> None:
    done = api.open_store().cancel_group(entity, group)
    if not done.cancelled and not done.requested:
        typer.echo(f"group {group}: no unfinished jobs to cancel")
        return
    typer.echo(f"group {group}: cancelled {len(done.cancelled)} queued job(s); cancel "
               f"requested for {len(done.requested)} active job(s), their agents stop them")


@app.command("logs")
def logs(job_id: int,
         follow: bool = typer.Option(False, "--follow", "-f",
                                     help="Keep printing until the job ends.")) -> None:
    """Print a job's output (from its resource); --follow streams it, with a status
    line (state, stage, elapsed) on stderr when that is a terminal."""
    import sys
    import time

    from launch_core.backends.resource import get_resource
    from launch_core.store.states import TERMINAL
    from relaunch_cli.status_line import StatusLine, job_status

    store = api.open_store()
    item = store.get_item(job_id)
    offset = 0
    with StatusLine(wanted=follow) as status:
        out = status.through(sys.stdout)
        while True:
            if item.handle:
                text, offset = get_resource(item.handle["resource"]).read_logs(item.handle,
                                                                               offset)
                out.write(text)
                out.flush()
            if not follow or item.state in TERMINAL:
                break
            status.show(job_status(item, store.clock()))
            time.sleep(0.5)
            item = store.get_item(job_id)
    if item.handle is None:  # nothing to show is no bad input: exit 1, not 2
        never = "never ran" if item.state in TERMINAL else "has not run"
        raise LaunchError(f"job {job_id} has no logs: it {never} ({item.state})")
