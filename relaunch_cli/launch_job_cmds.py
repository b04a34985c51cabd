"""``relaunch job create|describe|versions|alias|delete|rerun``: launch jobs, an
entity's named and versioned recipes (W&B's ``wandb job``), and launching a past
run again. They join the ``job`` group of job_cmds.py (``register``)."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import typer

from launch_core import api
from launch_core.errors import InvalidInput
from launch_core.job_api import create_job, rerun_request
from launch_core.spec.inputs import load_mapping
from launch_core.spec.job_inputs import read_inputs
from launch_core.spec.job_refs import JobRef, parse_job_ref, parse_version_ref
from launch_core.spec.models import TemplateVariable
from launch_core.store.jobs import JobVersion
from relaunch_cli.common import EntityOption, JsonOption
from relaunch_cli.job_publish import publish_job_form
from relaunch_cli.launch_cmd import _entry_point, enqueue_and_report
from relaunch_cli.output import ago, print_json, table


def create(
    kind: str = typer.Argument(..., metavar="{code|git|image}", help="What SOURCE is."),
    source: str = typer.Argument(..., help="A code directory, a git URL or an image."),
    name: str = typer.Option(..., "-n", "--name", help="The job's name."),
    entity: str | None = EntityOption,
    alias: list[str] = typer.Option([], "-a", "--alias", help="An alias for this version "
                                    "(repeatable); it moves here from another version."),
    entry_point: str | None = typer.Option(None, "-E", "--entry-point", help='Command, '
                                           'split like a shell: "python3 train.py".'),
    dockerfile: str | None = typer.Option(None, "-D", "--dockerfile",
                                          help="Dockerfile inside the code/repo."),
    base_image: str | None = typer.Option(None, "-B", "--base-image",
                                          help="Base image of the generated Dockerfile."),
    build_context: str | None = typer.Option(None, "-b", "--build-context", help="Subdirectory "
                                             "of the code or repo that is the job's root."),
    git_hash: str | None = typer.Option(None, "-g", "--git-hash",
                                        help="Branch, tag or commit of a git job."),
    inputs: str | None = typer.Option(None, "--inputs", help="The run config keys the job "
                                      "takes: template variables or a JSON schema (FILE, "
                                      "JSON or YAML)."),
    as_json: bool = JsonOption,
) -> None:
    """Create a job, or a new version of it when its content changed."""
    store = api.open_store()
    made = create_job(store, kind, source, name=name, entity=entity,
                      aliases=alias, entry_point=_entry_point(entry_point),
                      dockerfile=dockerfile, base_image=base_image,
                      build_context=build_context, git_hash=git_hash,
                      inputs=_inputs(inputs))
    version = made.version
    publish_job_form(store, version.entity, version.name)
    if as_json:
        print_json({**version_json(version), "created": made.created, "moved": {
            alias: None if before is None else f"v{before}"
            for alias, before in made.moved.items()}})
        return
    moved = [f"{a} (was v{b})" if b is not None and b != version.version else a
             for a, b in made.moved.items()]
    if made.created:
        shown = ", ".join(version.all_aliases)
        typer.echo(f"created job {version.label} in entity {version.entity} "
                   f"(aliases: {shown})")
    else:
        typer.echo(f"job {version.name}: same content as v{version.version}, no new version"
                   + (f"; alias {', '.join(moved)} now names it" if moved else ""))


def _inputs(value: str | None) -> dict[str, TemplateVariable] | None:
    if value is None:
        return None
    where = f"--inputs ({value})" if Path(value).is_file() else "--inputs"
    return read_inputs(load_mapping(value, "--inputs"), where)


def _locate(text: str, entity: str | None, source: str) -> tuple[str, JobRef]:
    """The entity and the reference of a ``[ENTITY/PROJECT/]NAME[:ALIAS|:vN]``."""
    ref = parse_job_ref(text, source)
    if ref.entity and entity and ref.entity != entity:
        raise InvalidInput(f"{source}: {text!r} names entity {ref.entity!r}, -e says "
                           f"{entity!r}")
    return entity or ref.entity or api.default_entity(), ref


def describe(job: str = typer.Argument(..., metavar="JOB", help="[ENTITY/PROJECT/]NAME"
                                       "[:ALIAS|:vN] (default: latest)."),
             entity: str | None = EntityOption, as_json: bool = JsonOption) -> None:
    """Show a job version: its source, entry point, inputs and aliases."""
    owner, ref = _locate(job, entity, "JOB")
    version = api.open_store().get_job_version(owner, ref.name, ref.selector)
    if as_json:
        print_json(version_json(version))
        return
    typer.echo(f"job {version.label} in entity {version.entity}")
    typer.echo(f"  aliases: {', '.join(version.all_aliases) or '-'}")
    recipe = version.recipe
    typer.echo(f"  kind: {recipe.kind}")
    for key, value in _source(version).items():
        typer.echo(f"  {key.replace('_', ' ')}: {value}")
    typer.echo(f"  digest: {version.digest}")
    typer.echo(f"  created {ago(version.created_at)}")
    if recipe.inputs:
        typer.echo("  inputs:")
        for input_name, var in recipe.inputs.items():
            typer.echo(f"    {input_name}: {_rules(var)}")
    else:
        typer.echo("  inputs: none (any run config)")


def _source(version: JobVersion, *, joined: bool = True) -> dict[str, Any]:
    """The recipe's launch fields, as shown (``joined``: an entry point as one command
    line, else its argv list)."""
    from launch_core.pipeline.workspace import redact_url

    shown: dict[str, Any] = version.recipe.launch_fields()
    if "entry_point" in shown and joined:
        shown["entry_point"] = shlex.join(shown["entry_point"])
    if "uri" in shown:
        shown["uri"] = redact_url(shown["uri"])
    return shown


def _rules(var: TemplateVariable) -> str:
    parts: list[str] = [var.type]
    for key in ("minimum", "maximum", "enum", "pattern", "default"):
        value = getattr(var, key)
        if value is not None:
            parts.append(f"{key} {value!r}" if key == "pattern" else f"{key} {value}")
    return ", ".join(parts) + (f" ({var.description})" if var.description else "")


def version_json(version: JobVersion) -> dict[str, Any]:
    """A JSON-ready view of a job version."""
    return {"entity": version.entity, "name": version.name, "version": f"v{version.version}",
            "job": version.label, "aliases": list(version.all_aliases),
            "digest": version.digest, "created_at": version.created_at,
            "kind": version.recipe.kind, "source": _source(version, joined=False),
            "inputs": {key: var.model_dump(mode="json", exclude_none=True)
                       for key, var in version.recipe.inputs.items()}}


def versions(name: str = typer.Argument(..., metavar="NAME"),
             entity: str | None = EntityOption, as_json: bool = JsonOption) -> None:
    """List a job's versions, newest first, with their aliases."""
    owner, ref = _locate(name, entity, "NAME")
    if ref.selector is not None:
        raise InvalidInput(f"NAME: {name!r} names a version; give the job's name")
    found = api.open_store().job_versions(owner, ref.name)
    if as_json:
        print_json([version_json(v) for v in found])
        return
    table(f"job {ref.name} in entity {owner}", ["version", "aliases", "kind", "source",
                                                "inputs", "created"], [
        [f"v{v.version}", ", ".join(v.all_aliases) or None, v.recipe.kind,
         next(iter(_source(v).values())), ", ".join(v.recipe.inputs) or None,
         ago(v.created_at)] for v in found], whole=("version",))


def alias(job: str = typer.Argument(..., metavar="NAME:vN"),
          name: str = typer.Argument(..., metavar="ALIAS"),
          entity: str | None = EntityOption) -> None:
    """Point ALIAS at a version (it moves from the version it named)."""
    job_name, number = parse_version_ref(job, "NAME:vN")
    if number is None:
        raise InvalidInput(f"NAME:vN: {job!r} names no version; give NAME:vN")
    store = api.open_store()
    version, before = store.set_job_alias(entity or api.default_entity(), job_name, number,
                                          name)
    was = f" (was v{before})" if before is not None and before != number else ""
    typer.echo(f"alias {name} names {version.label}{was}")
    publish_job_form(store, version.entity, version.name)


def delete(job: str = typer.Argument(..., metavar="NAME[:vN]"),
           entity: str | None = EntityOption) -> None:
    """Delete a job (every version and alias) or one version. Runs already enqueued
    keep running: they hold their own spec."""
    job_name, number = parse_version_ref(job, "NAME[:vN]")
    gone = api.open_store().delete_job(entity or api.default_entity(), job_name, number)
    if number is not None and gone == [number]:
        typer.echo(f"deleted {job_name}:v{number}")
    else:
        typer.echo(f"deleted job {job_name} ({len(gone)} version(s): "
                   f"{', '.join(f'v{n}' for n in gone)})")


def rerun(job_id: int = typer.Argument(..., metavar="ID"),
          queue: str | None = typer.Option(None, "-q", "--queue", help="Another queue of "
                                           "the job's entity (default: its own)."),
          as_json: bool = JsonOption) -> None:
    """Enqueue a past run's spec again, as a new run (checked against the queue again)."""
    store = api.open_store()
    request, target = rerun_request(store, job_id, queue)
    enqueue_and_report(store, target, request, as_json, f": a rerun of job {job_id}")


def register(app: typer.Typer) -> None:
    """Add these commands to the ``job`` group."""
    for command in (create, describe, versions, alias, delete, rerun):
        app.command(command.__name__, no_args_is_help=True)(command)
