"""``job create`` / ``job alias`` with a Prefect API configured (PREFECT_API_URL):
the job's Prefect deployment ``enqueue/<job name>``, its launch form in the Prefect
UI (docs/jobs.md, "Launching from the Prefect UI"). Prefect is imported only here,
only when publishing. Lines go to stderr, so ``--json`` output stays JSON."""

from __future__ import annotations

import os

import typer

from launch_core.errors import one_line
from launch_core.store import QueueStore


def publish_job_form(store: QueueStore, entity: str, name: str) -> bool:
    """Create or update the deployment of ``entity``'s job ``name`` from its newest
    version's inputs and the entity's queues; returns whether it was published.
    Never raises: the job version stays stored whatever happens here."""
    deployment = f"enqueue/{name}"
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo(f"note: no Prefect API (PREFECT_API_URL unset): no deployment "
                   f"{deployment}", err=True)
        return False
    try:
        from flows.job_deployment import publish_job
        from launch_core.spec.job_form import job_form_schema

        version = store.get_job_version(entity, name)
        queues = {queue.name: queue.definition.template_variables
                  for queue, _ in store.list_queues(entity)}
        publish_job(entity, name, job_form_schema(name, version.recipe.inputs, queues))
    except Exception as exc:
        typer.echo(f"warning: job {name} is stored, but its Prefect deployment "
                   f"{deployment} was not published: {one_line(exc)}", err=True)
        return False
    typer.echo(f"published Prefect deployment {deployment}", err=True)
    return True
