"""A launch job's Prefect deployment ``enqueue/<job name>``: its parameter schema is
the job's launch form (launch_core.spec.job_form), its runs enqueue the job
(flows/enqueue_job.py). No work pool: the agent of the job's entity runs them."""

from __future__ import annotations

from typing import Any
from uuid import UUID

FLOW_NAME = "enqueue"  # the flow of flows/enqueue_job.py
ENTITY_TAG = "relaunch-entity:"
JOB_TAG = "relaunch-job"


def entity_tag(entity: str) -> str:
    """The tag naming the entity whose agents run a job deployment's flow runs."""
    return ENTITY_TAG + entity


def publish_job(entity: str, name: str, schema: dict[str, Any]) -> UUID:
    """Create or update the deployment ``enqueue/<name>`` with ``schema``; returns its
    id. Its default parameters are the schema's top-level defaults (the job, the
    priority, the queue when the entity has one): Prefect fills a run's parameters
    from these, not from the schema. Raises the Prefect client's errors (the API
    away, refused)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_id = client.create_flow_from_name(FLOW_NAME)
        return client.create_deployment(
            flow_id, name, parameters={
                key: prop["default"] for key, prop in schema["properties"].items()
                if "default" in prop}, parameter_openapi_schema=schema,
            enforce_parameter_schema=True, tags=[JOB_TAG, entity_tag(entity)],
            entrypoint="flows/enqueue_job.py:enqueue",
            description=f"Launch relaunch job {name} of entity {entity}: a run enqueues "
                        "it; the entity's running agent picks the run up.")
