"""``relaunch launch``: validate a job against its queue and enqueue it, or (without
-q) run it here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from launch_core import api
from launch_core.errors import InvalidInput
from launch_core.job_api import job_request
from launch_core.spec.arrays import parse_after, parse_array
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueStore
from relaunch_cli.common import (
    EntityOption,
    JsonOption,
    mapping_option,
    parse_assignments,
    split_command,
)
from relaunch_cli.launch_request import build_request
from relaunch_cli.output import item_json, print_json, spec_json


def launch(
    queue: str | None = typer.Option(None, "-q", "--queue", help="Queue to enqueue into "
                                     "(-q alone: the queue 'default'). Without -q: run here."),
    job: str | None = typer.Option(None, "-j", "--job", help="Source: a launch job "
                                   "(relaunch job create), [ENTITY/PROJECT/]NAME[:ALIAS|:vN]."),
    docker_image: str | None = typer.Option(None, "-d", "--docker-image",
                                            help="Source: a prebuilt image."),
    uri: str | None = typer.Option(None, "-u", "--uri", help="Source: a git repository, "
                                   "or a local directory (a code job, like --code)."),
    git_version: str | None = typer.Option(None, "-g", "--git-version",
                                           help="Branch, tag or commit of --uri."),
    code: Path | None = typer.Option(None, "--code", help="Source: a local code directory."),
    build_context: str | None = typer.Option(None, "--build-context", help="Subdirectory "
                                             "of the code directory to use as its root."),
    entry_point: str | None = typer.Option(None, "-E", "--entry-point",
                                           help='Command, split like a shell: "python t.py".'),
    args: list[str] = typer.Option([], "-a", "--args", help="Arguments (repeatable)."),
    dockerfile: str | None = typer.Option(None, "-D", "--dockerfile",
                                          help="Dockerfile inside the code/repo to build with."),
    base_image: str | None = typer.Option(None, "-B", "--base-image",
                                          help="Base image of the generated Dockerfile."),
    config: str | None = typer.Option(None, "-c", "--config", help="W&B launch spec "
                                      "(overrides.run_config, resource_args...): FILE, JSON "
                                      "or YAML."),
    run_config: str | None = typer.Option(None, "--run-config", help="Run config: FILE, "
                                          "JSON or YAML (replaces overrides.run_config)."),
    set_var: list[str] = typer.Option([], "-v", "--set-var", help="Template value KEY=VALUE."),
    priority: str | None = typer.Option(None, "-P", "--priority",
                                        help="critical, high, medium or low."),
    resource_args: str | None = typer.Option(None, "-R", "--resource-args", help="Resource "
                                             'args keyed by resource ({"local-container": '
                                             "{...}}): FILE, JSON or YAML."),
    resource: str | None = typer.Option(None, "-r", "--resource", help="Without -q: where "
                                        "to run here (local-process, local-container)."),
    run_async: bool = typer.Option(False, "--async", help="Without -q: return once the "
                                   "job is enqueued; it runs in the background."),
    project: str | None = typer.Option(None, "-p", "--project", help="Project the run "
                                       "belongs to (default: RELAUNCH_PROJECT, else "
                                       "WANDB_PROJECT)."),
    name: str | None = typer.Option(None, "--name", help="Run name."),
    job_name: str | None = typer.Option(None, "-J", "--job-name", hidden=True,
                                        help="W&B's name for a created job: unused."),
    entity: str | None = EntityOption,
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the resolved resource "
                                 "config; enqueue nothing."),
    array: str | None = typer.Option(None, "--array", help="One job per index, A-B[:STEP] "
                                     "(inclusive) or N, in one group; each job gets "
                                     "RELAUNCH_ARRAY_INDEX."),
    after: list[str] = typer.Option([], "--after", help="Wait until these jobs finished: "
                                    "ID[,ID]; cancelled if one fails or is cancelled."),
    as_json: bool = JsonOption,
) -> None:
    """Enqueue a job into a queue (validated against its guardrails); without -q, run
    it here (local-process, or -r local-container) through the same pipeline."""
    if job_name is not None:
        typer.echo("warning: -J/--job-name: relaunch creates no W&B job, the name is "
                   "not used", err=True)
    flags: dict[str, Any] = {
        "image": docker_image, "uri": uri, "ref": git_version, "job": job,
        "entry_point": _entry_point(entry_point),
        "args": [part for arg in args for part in split_command(arg, "-a/--args")],
        "dockerfile": dockerfile, "base_image": base_image,
        "run_config": mapping_option(run_config, "--run-config"),
        "resource_args": mapping_option(resource_args, "-R/--resource-args"),
        "template_values": parse_assignments(set_var, "-v/--set-var"),
        "priority": priority, "project": project, "name": name, "entity": entity,
        "resource": resource,
    }
    indices = None if array is None else parse_array(array)
    waits = parse_after(after) if after else []
    if queue is None and (indices is not None or waits):
        flag = "--array" if indices is not None else "--after"
        raise InvalidInput(f"{flag}: needs -q/--queue (a direct launch runs one job here)")
    request = build_request(flags, config, code, build_context)
    store = api.open_store()
    request = job_request(store, request)  # -j: the job version's recipe
    if queue is None:
        _run_here(store, request, dry_run=dry_run, run_async=run_async, as_json=as_json)
    elif run_async:
        raise InvalidInput("--async: applies to a direct launch (without -q); a queued "
                           "launch never waits")
    elif dry_run:
        _dry_run(store, queue, request)
    elif indices is not None or waits:
        from relaunch_cli.arrays import enqueue_group

        enqueue_group(store, queue, request, indices, waits, as_json)
    else:
        enqueue_and_report(store, queue, request, as_json)


def _entry_point(value: str | None) -> list[str] | None:
    """``-E`` as an argv list (None when not given). An empty command is refused: it
    would silently mean "the image's own entry point"."""
    if value is None:
        return None
    argv = split_command(value, "-E/--entry-point")
    if not argv:
        raise InvalidInput("-E/--entry-point: the command is empty; give the command to "
                           'run ("python train.py"), or leave -E out')
    return argv


def _dry_run(store: QueueStore, queue: str, request: LaunchRequest) -> None:
    from launch_core.masking import mask_data
    from launch_core.preview import preview_request

    prepared = api.prepare_request(store, queue, request)
    result: dict[str, Any] = {"queue": prepared.queue.name, "entity": prepared.queue.entity,
              "resource": prepared.queue.definition.resource,
              "resource_config": prepared.resource_config,
              "gpus": api.launch_gpus(prepared),  # what quotas and GPU slots count
              "spec": spec_json(prepared.spec)}
    body = preview_request(prepared)
    if body is not None:  # with an example run id (the real one is set at enqueue)
        result["request"] = mask_data(body)  # ${ENV} values filled here are secrets
    typer.echo(json.dumps(result, indent=2))


def enqueue_and_report(store: QueueStore, queue: str, request: LaunchRequest,
                       as_json: bool, note: str = "") -> None:
    """Enqueue ``request`` and print the job (``--json``: its fields) and position."""
    item = api.enqueue(store, queue, request)
    position = store.position(item)
    if as_json:
        print_json(item_json(item, queue, position))
    else:
        typer.echo(f"enqueued job {item.id} (run {item.run_id}) in queue {queue} "
                   f"at position {position}{note}")


def _run_here(store: QueueStore, request: LaunchRequest, *, dry_run: bool, run_async: bool,
              as_json: bool) -> None:
    from relaunch_cli import direct

    if dry_run:
        raise InvalidInput("--dry-run: needs -q/--queue")
    if run_async:
        item, queue, log = direct.start_direct(store, request)
        if as_json:
            print_json(item_json(item, queue, store.position(item)))
        else:
            typer.echo(f"started job {item.id} (run {item.run_id}) in the background; "
                       f"see relaunch job status {item.id} (agent log: {log})")
        return
    item, queue = direct.run_direct(store, request)
    if as_json:
        print_json(item_json(item, queue))
    else:
        typer.echo(f"job {item.id} {item.state}")
