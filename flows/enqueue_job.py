"""The ``enqueue`` flow: a run of a job's deployment (``enqueue/<job name>``, see
flows/job_deployment.py), from the Prefect UI's form, ``prefect deployment run`` or
the API, enqueues that job. The running agent of the job's entity runs these flow
runs itself (flows/enqueue_pickup.py); the queue's agent then runs the job as the
launch-job flow run ``{queue}-{item_id}``."""

from __future__ import annotations

import asyncio
import contextvars
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from flows.job_deployment import FLOW_NAME
from launch_core.api import default_entity
from launch_core.api import enqueue as enqueue_request
from launch_core.job_api import job_request
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueStore

# The store and entity of the agent running this flow run (set by its pickup);
# outside an agent, the environment's.
AGENT_STORE: contextvars.ContextVar[tuple[QueueStore, str] | None] = \
    contextvars.ContextVar("relaunch_enqueue_store", default=None)


def enqueue_in(store: QueueStore, entity: str, job: str, queue: str, priority: str,
               run_config: dict[str, Any] | None, template_values: dict[str, Any] | None
               ) -> tuple[int, str]:
    """Enqueue ``entity``'s job ``job`` into ``queue`` (values None or left out: not
    given); returns the item id and the version launched (``NAME:vN``). Raises
    InvalidInput / NotFound naming the key, with nothing enqueued."""
    fields = {"job": job, "priority": priority,
              "run_config": _given(run_config), "template_values": _given(template_values)}
    request = job_request(store, LaunchRequest(fields, entity, None))
    item = enqueue_request(store, queue, request)
    return item.id, str(item.spec.job)


def _given(values: dict[str, Any] | None) -> dict[str, Any]:
    """The values filled in (a form leaves the others empty: None)."""
    return {key: value for key, value in (values or {}).items() if value is not None}


@flow(name=FLOW_NAME, flow_run_name="enqueue-{job}", log_prints=True, persist_result=False)
async def enqueue(job: str, queue: str, priority: str = "medium",
                  run_config: dict[str, Any] | None = None,
                  template_values: dict[str, Any] | None = None) -> int:
    """Enqueue the launch job ``job`` (NAME, NAME:ALIAS or NAME:vN) into ``queue`` with
    this run config and these template values; returns the job (item) id. A value
    the job or the queue refuses fails this flow run, naming the key."""
    store, entity = AGENT_STORE.get() or (QueueStore(None), default_entity())
    item_id, label = await asyncio.to_thread(enqueue_in, store, entity, job, queue,
                                             priority, run_config, template_values)
    logger = get_run_logger()
    logger.info("enqueued job %s (%s) in queue %s/%s: its agent runs it as the "
                "launch-job flow run %s-%s", item_id, label, entity, queue, queue, item_id)
    try:
        await acreate_markdown_artifact(
            key=f"relaunch-enqueued-{item_id}", description=f"relaunch job {item_id}",
            markdown="\n".join([
                f"# Job {item_id} enqueued", f"- job: `{label}` of entity `{entity}`",
                f"- queue: `{queue}`, priority `{priority}`",
                f"- runs as the launch-job flow run `{queue}-{item_id}`",
                f"- status: `relaunch job status {item_id}`"]))
    except Exception as exc:  # the job is enqueued; the artifact is a convenience
        logger.warning("could not publish the enqueue artifact: %s", exc)
    return item_id
