"""``relaunch quota set|list|delete``: limits over every queue of an entity."""

from __future__ import annotations

import typer

from launch_core import api
from launch_core.store.scheduled_claim import ENTITY, Quota
from relaunch_cli.common import JsonOption
from relaunch_cli.output import print_json, table

app = typer.Typer(no_args_is_help=True, help="Limit running jobs and GPUs per entity, "
                  "user or project, over every queue and resource.")

UserOption = typer.Option(None, "--user", help="The quota of this user (the PostgreSQL "
                          "role, or the OS user on SQLite, that enqueues).")
ProjectOption = typer.Option(None, "--project", help="The quota of this project.")


def _who(quota: Quota) -> str:
    return "(entity)" if quota.scope == ENTITY else f"{quota.scope} {quota.name}"


@app.command("set")
def set_quota(entity: str,
              user: str | None = UserOption,
              project: str | None = ProjectOption,
              running: int | None = typer.Option(None, "--running", help="At most N jobs "
                                                 "claimed or running at once."),
              gpus: int | None = typer.Option(None, "--gpus", help="At most N GPUs in use "
                                              "at once (as each resource counts them).")
              ) -> None:
    """Set the quota of ENTITY, or of one of its users or projects (replaces it)."""
    quota = api.open_store().set_quota(entity, user=user, project=project, running=running,
                                       gpus=gpus)
    limits = ", ".join(f"{name} {value}" for name, value in
                       (("running", quota.running), ("gpus", quota.gpus)) if value is not None)
    typer.echo(f"quota of {_who(quota)} in {entity}: {limits}")


@app.command("list")
def list_quotas(entity: str | None = typer.Argument(None, help="Default: your entity."),
                as_json: bool = JsonOption) -> None:
    """List an entity's quotas with what they count now."""
    store = api.open_store()
    entity = entity or api.default_entity()
    rows = store.quota_usage(entity)
    if as_json:
        print_json([{"entity": q.entity, "scope": q.scope, "name": q.name or None,
                     "running": q.running, "gpus": q.gpus, "running_now": running,
                     "gpus_now": used} for q, running, used in rows])
        return
    table(None, ["quota", "running", "gpus"], [
        [_who(q), f"{running} of {q.running}" if q.running is not None else f"{running}",
         f"{used} of {q.gpus}" if q.gpus is not None else f"{used}"]
        for q, running, used in rows])


@app.command("delete")
def delete_quota(entity: str, user: str | None = UserOption,
                 project: str | None = ProjectOption) -> None:
    """Remove the quota of ENTITY, or of one of its users or projects."""
    api.open_store().delete_quota(entity, user=user, project=project)
    typer.echo(f"deleted the quota of {user or project or 'the entity'} in {entity}")
