"""``relaunch launch``: validate a job against its queue and enqueue it."""

from __future__ import annotations

import getpass
import json
from pathlib import Path

import typer

from launch_core import api
from launch_core.cli.common import (
    EntityOption,
    JsonOption,
    mapping_option,
    parse_assignments,
    split_command,
)
from launch_core.cli.output import item_json, print_json
from launch_core.errors import InvalidInput


def launch(
    queue: str | None = typer.Option(None, "-q", "--queue", help="Queue to enqueue into."),
    docker_image: str | None = typer.Option(None, "-d", "--docker-image",
                                            help="Source: a prebuilt image."),
    uri: str | None = typer.Option(None, "-u", "--uri", help="Source: a git repository."),
    git_version: str | None = typer.Option(None, "-g", "--git-version",
                                           help="Branch, tag or commit of --uri."),
    code: Path | None = typer.Option(None, "--code", help="Source: a local code directory."),
    entry_point: str | None = typer.Option(None, "-E", "--entry-point",
                                           help='Command, split like a shell: "python t.py".'),
    args: list[str] = typer.Option([], "-a", "--args", help="Arguments (repeatable)."),
    dockerfile: str | None = typer.Option(None, "-D", "--dockerfile",
                                          help="Dockerfile inside --code/-u to build with."),
    base_image: str | None = typer.Option(None, "--base-image",
                                          help="Base image of the generated Dockerfile."),
    config: str | None = typer.Option(None, "-c", "--config",
                                      help="Run config: FILE, JSON or YAML."),
    set_var: list[str] = typer.Option([], "-v", "--set-var", help="Template value KEY=VALUE."),
    priority: str | None = typer.Option(None, "-P", "--priority",
                                        help="critical, high, medium or low."),
    resource_args: str | None = typer.Option(None, "-R", "--resource-args",
                                             help="Resource config overrides: FILE, JSON, YAML."),
    project: str | None = typer.Option(None, "-p", "--project"),
    name: str | None = typer.Option(None, "--name", help="Run name."),
    entity: str | None = EntityOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved resource "
                                 "config; enqueue nothing."),
    as_json: bool = JsonOption,
) -> None:
    """Enqueue a job into a queue (validated against its guardrails); without -q, run
    it here on local-process through the same pipeline."""
    fields = {
        "image": docker_image, "uri": uri, "ref": git_version,
        "entry_point": split_command(entry_point, "-E/--entry-point") if entry_point else None,
        "args": [part for arg in args for part in split_command(arg, "-a/--args")],
        "dockerfile": dockerfile, "base_image": base_image,
        "run_config": mapping_option(config, "-c/--config"),
        "resource_args": mapping_option(resource_args, "-R/--resource-args"),
        "template_values": parse_assignments(set_var, "-v/--set-var"),
        "priority": priority, "project": project, "name": name, "author": getpass.getuser(),
    }
    store = api.open_store()
    if queue is None and not dry_run:
        from launch_core.cli.direct import run_direct

        job_id, state = run_direct(store, fields, entity=entity, code_dir=code)
        typer.echo(f"job {job_id} {state}")
        return
    if queue is None:
        raise InvalidInput("--dry-run: needs -q/--queue")
    if dry_run:
        prepared = api.prepare_launch(store, queue, fields, entity=entity, code_dir=code)
        result = {"queue": prepared.queue.name, "resource": prepared.queue.definition.resource,
                  "resource_config": prepared.resource_config,
                  "spec": prepared.spec.model_dump(mode="json", exclude_none=True)}
        typer.echo(json.dumps(result, indent=2))
        return
    item = api.launch(store, queue, fields, entity=entity, code_dir=code)
    position = store.position(item)
    if as_json:
        print_json(item_json(item, queue, position))
    else:
        typer.echo(f"enqueued job {item.id} (run {item.run_id}) in queue {queue} "
                   f"at position {position}")
