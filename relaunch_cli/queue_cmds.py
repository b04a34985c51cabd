"""``relaunch queue create|list|show|stats|update|delete``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import typer

from launch_core import api
from launch_core.errors import InvalidInput, NotFound
from launch_core.spec.policy import parse_duration
from launch_core.store import QueueStore
from relaunch_cli.common import EntityOption, JsonOption, mapping_option
from relaunch_cli.output import ago, item_json, print_json, queue_json, table
from relaunch_cli.policy_flags import (
    FairShareOption,
    FallbackOption,
    MaxPendingOption,
    MaxRunningOption,
    MaxRuntimeOption,
    RetryOnOption,
    RetryOption,
    RetryRaiseOption,
    describe_policy,
    name_flags,
    policy_flags,
)
from relaunch_cli.stats_output import print_stats, stats_json

app = typer.Typer(no_args_is_help=True, help="Create, inspect and change queues.")

ConfigOption = typer.Option(None, "--config", help="Resource config: FILE, JSON or YAML.")
VariablesOption = typer.Option(None, "--template-variables",
                               help="Template variables: FILE, JSON or YAML.")
AllowFieldOption = typer.Option(None, "--allow-field", help="A guarded field of the config "
                                "this queue may set (e.g. privileged, hostPath); repeatable.")


@app.command("create")
def create(
    name: str,
    resource: str = typer.Option(..., "-r", "--resource", help="Where its jobs run "
                                 "(a resource name, e.g. local-process, kubernetes)."),
    entity: str | None = EntityOption,
    prioritization: bool = typer.Option(False, "--prioritization"),
    config: str | None = ConfigOption,
    template_variables: str | None = VariablesOption,
    allow_resource_args: bool = typer.Option(False, "--allow-resource-args"),
    allow_field: list[str] | None = AllowFieldOption,
    description: str = typer.Option("", "--description"),
    max_running: str | None = MaxRunningOption,
    fair_share: str | None = FairShareOption,
    retry: int | None = RetryOption,
    retry_on: list[str] | None = RetryOnOption,
    retry_raise: list[str] | None = RetryRaiseOption,
    max_runtime: str | None = MaxRuntimeOption,
    max_pending: str | None = MaxPendingOption,
    fallback_queue: str | None = FallbackOption,
    as_json: bool = JsonOption,
) -> None:
    """Create a queue."""
    fields = _definition_fields(config, template_variables)
    if allow_field:
        fields["allow_fields"] = allow_field
    policy = policy_flags(max_running=max_running, fair_share=fair_share, retry=retry,
                          retry_on=retry_on, retry_raise=retry_raise, max_runtime=max_runtime,
                          max_pending=max_pending, fallback_queue=fallback_queue)
    store = api.open_store()
    if policy is not None:
        _check_fallback(store, policy, name, entity)
        fields["policy"] = policy
    with policy_errors():
        queue = api.create_queue(
            store, name, resource, entity=entity, source="queue create",
            prioritization=prioritization, allow_resource_args=allow_resource_args,
            description=description, **fields)
    if as_json:
        print_json(queue_json(queue))
    else:
        typer.echo(f"created queue {queue.entity}/{queue.name} ({queue.definition.resource})")


@contextlib.contextmanager
def policy_errors() -> Iterator[None]:
    """A policy the queue definition refuses is named by its flag."""
    try:
        yield
    except InvalidInput as exc:
        raise InvalidInput(name_flags(str(exc))) from None


def _check_fallback(store: QueueStore, policy: dict[str, Any], name: str,
                    entity: str | None) -> None:
    """A fallback queue must be another queue of the same entity."""
    fallback = policy.get("fallback_queue")
    if fallback is None:
        return
    if fallback == name:
        raise InvalidInput("--fallback-queue: a queue cannot fall back to itself")
    try:
        store.get_queue(entity or api.default_entity(), fallback)
    except NotFound as exc:
        raise InvalidInput(f"--fallback-queue: {exc}") from None


def _definition_fields(config: str | None, variables: str | None) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    if (parsed := mapping_option(config, "--config")) is not None:
        fields["config"] = parsed
    if (parsed := mapping_option(variables, "--template-variables")) is not None:
        fields["template_variables"] = parsed
    return fields


@app.command("list")
def list_queues(entity: str | None = EntityOption, as_json: bool = JsonOption) -> None:
    """List queues with their queued and running counts."""
    rows = api.open_store().list_queues(entity or api.default_entity())
    if as_json:
        print_json([queue_json(queue, counts) for queue, counts in rows])
        return
    table(None, ["entity", "queue", "resource", "queued", "active", "prioritization"], [
        [q.entity, q.name, q.definition.resource, c.get("queued", 0),
         sum(n for s, n in c.items() if s != "queued"), q.definition.prioritization]
        for q, c in rows])


@app.command("show")
def show(name: str, entity: str | None = EntityOption, as_json: bool = JsonOption,
         limit: int = typer.Option(50, "--limit", help="Pending items to list.")) -> None:
    """Show a queue's definition and its pending items with their positions."""
    store = api.open_store()
    queue = store.get_queue(entity or api.default_entity(), name)
    pending = store.pending(queue.id, limit=limit)
    if as_json:
        data = queue_json(queue)
        data["pending"] = [item_json(item, queue.name, pos) for pos, item in pending]
        print_json(data)
        return
    typer.echo(f"queue {queue.entity}/{queue.name}  resource={queue.definition.resource}  "
               f"prioritization={queue.definition.prioritization}")
    if queue.definition.description:
        typer.echo(queue.definition.description)
    if queue.definition.allow_fields:  # guarded fields its admin allows (guardrails)
        typer.echo(f"allowed guarded fields: {', '.join(queue.definition.allow_fields)}")
    if policy := describe_policy(queue.definition.policy):
        typer.echo(f"policy: {'; '.join(policy)}")
    print_json({"config": queue.definition.config,
                "template_variables": queue_json(queue)["template_variables"]})
    table("pending", ["position", "job", "priority", "name", "enqueued"], [
        [pos, item.id, item.priority_name, item.spec.name, ago(item.enqueued_at)]
        for pos, item in pending])


@app.command("stats")
def stats(name: str | None = typer.Argument(None, metavar="[QUEUE]", help="One queue "
                                            "(default: every queue of the entity)."),
          entity: str | None = EntityOption,
          since: str = typer.Option("24h", "--since", help="The window of the ended, wait, "
                                    "run and failure figures: 90s, 30m, 24h, 7d..."),
          as_json: bool = JsonOption) -> None:
    """Figures of a queue (or of each queue of the entity): queued by priority, running,
    ended in the window by state, wait and run p50/p95, the oldest queued job's age,
    the top failure reasons, and running per user or project under fair share."""
    try:
        window = parse_duration(since)
    except ValueError as exc:
        raise InvalidInput(f"--since: {exc}") from None
    store = api.open_store()
    entity = entity or api.default_entity()
    queues = ([store.get_queue(entity, name)] if name is not None
              else [queue for queue, _ in store.list_queues(entity)])
    figures = store.queue_stats(queues, window)
    if as_json:
        print_json(stats_json(figures[0]) if name is not None
                   else [stats_json(one) for one in figures])
    else:
        print_stats(figures, entity)


@app.command("update")
def update(
    name: str,
    entity: str | None = EntityOption,
    resource: str | None = typer.Option(None, "-r", "--resource"),
    prioritization: bool | None = typer.Option(None, "--prioritization/--no-prioritization"),
    config: str | None = ConfigOption,
    template_variables: str | None = VariablesOption,
    allow_resource_args: bool | None = typer.Option(
        None, "--allow-resource-args/--no-allow-resource-args"),
    allow_field: list[str] | None = typer.Option(
        None, "--allow-field", help="Replaces the queue's allowed guarded fields; "
        "repeatable ('' for none)."),
    description: str | None = typer.Option(None, "--description"),
    max_running: str | None = MaxRunningOption,
    fair_share: str | None = FairShareOption,
    retry: int | None = RetryOption,
    retry_on: list[str] | None = RetryOnOption,
    retry_raise: list[str] | None = RetryRaiseOption,
    max_runtime: str | None = MaxRuntimeOption,
    max_pending: str | None = MaxPendingOption,
    fallback_queue: str | None = FallbackOption,
    as_json: bool = JsonOption,
) -> None:
    """Change a queue; pending jobs get the new config when they are dequeued."""
    changes: dict[str, Any] = {k: v for k, v in {
        "resource": resource, "prioritization": prioritization,
        "allow_resource_args": allow_resource_args, "description": description,
        "allow_fields": [f for f in allow_field if f] if allow_field is not None else None,
    }.items() if v is not None}
    changes.update(_definition_fields(config, template_variables))
    store = api.open_store()
    current = store.get_queue(entity or api.default_entity(), name).definition.policy
    policy = policy_flags(current, max_running=max_running, fair_share=fair_share, retry=retry,
                          retry_on=retry_on, retry_raise=retry_raise, max_runtime=max_runtime,
                          max_pending=max_pending, fallback_queue=fallback_queue)
    if policy is not None:
        _check_fallback(store, policy, name, entity)
        changes["policy"] = policy
    with policy_errors():
        queue = api.update_queue(store, name, entity=entity, source="queue update",
                                 **changes)
    if as_json:
        print_json(queue_json(queue))
    else:
        typer.echo(f"updated queue {queue.entity}/{queue.name}")


@app.command("delete")
def delete(name: str, entity: str | None = EntityOption,
           force: bool = typer.Option(False, "--force", help="Delete even with queued or "
                                      "running items (they are removed, not cancelled).")) -> None:
    """Delete a queue (refused while it has queued or running items)."""
    removed = api.open_store().delete_queue(entity or api.default_entity(), name, force=force)
    typer.echo(f"deleted queue {name} ({removed} item(s) removed)")
