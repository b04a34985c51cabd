"""The ``launch-job`` flow: one flow run per job, six tasks, state kept in the store."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact
from prefect.context import FlowRunContext

from flows.job_events import note_flow_run
from flows.registry_setup import load_block_credentials
from flows.runtime import config_for, run_logger, share_sync_client, store_for
from flows.tasks import prefect_step
from launch_core.errors import one_line
from launch_core.masking import mask_log_handlers, redact
from launch_core.pipeline.pipeline import JobPipeline, StageFailed
from launch_core.pipeline.records import Launch, Resolved
from launch_core.store import QueueItem
from launch_core.store.states import FAILED, TERMINAL

RESULT_BLOCK = "relaunch-job-results"


# No result persistence: the store keeps the outcome.
@flow(name="launch-job", flow_run_name="{queue_name}-{item_id}", log_prints=True,
      persist_result=False)
async def launch_job(item_id: int, queue_name: str = "", config: dict[str, Any] | None = None,
                     actor: str = "cli", resume: bool = False,
                     claim_token: int | None = None) -> str:
    """Launch one claimed job (or, with ``resume``, keep watching a submitted one).

    ``actor`` holds the item under ``claim_token`` (None: whoever holds it now);
    every write is fenced by that claim. The config is the one ``actor`` registered
    in this process (an agent, or the CLI running a job directly); otherwise
    ``config`` (launch-config keys, no secrets please: parameters are visible in the
    UI) over the environment.

    Any failure marks the item ``failed`` with its stage and a one-line reason, and
    fails this flow run. Returns the item's final state ("lost" when another agent
    took the item over).
    """
    agent_config = config_for(actor, config)
    mask_log_handlers()  # secret values masked in every log record from here on
    logger = get_run_logger()
    pipeline = JobPipeline(store_for(agent_config.database), agent_config, actor,
                           lambda line: logger.info("%s", line),
                           load_credentials=load_block_credentials)
    # The job's Prefect events (relaunch.job.*) relate to this flow run from here on.
    await note_flow_run(pipeline.store, item_id, actor, claim_token, logger)
    return await pipeline.run(item_id, claim_token=claim_token, resume=resume,
                              step=prefect_step, announce=_publish)


async def run_launch_job(item_id: int, queue_name: str, actor: str, resume: bool,
                         claim_token: int | None, *,
                         on_api_error: Callable[[str], None] | None = None) -> str:
    """Run the launch-job flow for a job ``actor`` holds; returns its end state.

    Raises StageFailed when the pipeline failed. A job that ended under this claim
    (the store says so) while Prefect could not record its flow run's end (the API
    unreachable) is not failed or given back for that: one warning says the Prefect
    UI shows that flow run unfinished. Any other error means the flow run could not
    be created or started, and nothing of the job ran: the caller gives it back.
    Either way, when the error came from the Prefect API (an HTTP error, its client's
    retries spent), ``on_api_error`` is told "flow_run_start" or "flow_run_end".
    """
    try:
        return await asyncio.create_task(
            _own_flow_run(item_id, queue_name, actor, resume, claim_token))
    except StageFailed:
        raise
    except Exception as exc:
        item = await asyncio.to_thread(_ended_under, actor, item_id, claim_token)
        if on_api_error is not None and _from_prefect_api(exc):
            on_api_error("flow_run_start" if item is None else "flow_run_end")
        if item is None:
            raise
        if item.state == FAILED:
            raise StageFailed(item.stage or "run", item.reason or "failed") from exc
        run_logger().warning(
            "job %s ended %s, but Prefect could not record the end of its flow run (%s); "
            "the Prefect UI shows that flow run unfinished", item_id, item.state,
            one_line(exc))
        return item.state


async def _own_flow_run(item_id: int, queue_name: str, actor: str, resume: bool,
                        claim_token: int | None) -> str:
    """The launch-job flow as a flow run of its own, not a child of the agent's: a
    child costs two more Prefect API calls before the job starts (its tracking task
    run, and a search for an earlier child) and leaves one task run per job in the
    agent's flow run. Runs in a task of its own (a copy of the caller's context,
    which keeps the agent's API client). Its ``actor`` parameter names the agent."""
    FlowRunContext.__var__.set(None)  # type: ignore[arg-type]  # this task's copy only
    await share_sync_client()
    job_flow = await _with_saved_result_storage()
    state: str = await job_flow(item_id=item_id, queue_name=queue_name, actor=actor,
                                resume=resume, claim_token=claim_token)
    return state


_JOB_FLOWS: list[Any] = []  # launch_job with the saved storage (a Flow)


async def _with_saved_result_storage() -> Any:
    """launch_job with a result storage saved on the server (the block
    ``relaunch-job-results``, a LocalFileSystem nothing is written to: results are
    not persisted). Without one, a flow run that is not a child asks the server for
    its default storage twice, each time with a new synchronous client. Saved once
    per process; while that fails (Prefect away), launch_job as it is."""
    if not _JOB_FLOWS:
        from prefect.filesystems import LocalFileSystem
        from prefect.settings import PREFECT_RESULTS_LOCAL_STORAGE_PATH

        storage = LocalFileSystem(basepath=str(PREFECT_RESULTS_LOCAL_STORAGE_PATH.value()))
        try:
            await storage.asave(RESULT_BLOCK, overwrite=True)
        except Exception as exc:
            run_logger().info("could not save the %s block (%s)", RESULT_BLOCK,
                              one_line(exc))
            return launch_job
        _JOB_FLOWS.append(launch_job.with_options(result_storage=storage))
    return _JOB_FLOWS[0]


def _from_prefect_api(exc: BaseException) -> bool:
    """Whether ``exc`` or an error it came from is an HTTP error of Prefect's client
    (a 5xx or 4xx answer, a connection refused or timed out)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, httpx.HTTPError):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False


def _ended_under(actor: str, item_id: int, claim_token: int | None) -> QueueItem | None:
    """The item, if it ended while ``actor`` held it under ``claim_token``."""
    try:
        item = store_for(config_for(actor, None).database).get_item(item_id)
    except Exception:  # the store is away too: let the caller decide
        return None
    ours = item.agent_id == actor and claim_token in (None, item.claim_token)
    return item if ours and item.state in TERMINAL else None


LINKS = (("console_url", "console"), ("logs_url", "cloud logs"))


async def _publish(launch: Launch, resolved: Resolved | None, image: str | None,
                   handle: dict[str, Any]) -> None:
    """A Prefect artifact with the resolved config (secrets redacted), image, handle."""
    item = launch.item
    lines = [
        f"# Job {item.id} in {launch.queue.entity}/{launch.queue.name}",
        f"- run id: `{item.run_id}`", f"- image: `{image or 'none'}`",
        f"- handle: `{json.dumps(redact(handle))}`",
        f"- logs: `relaunch job logs {item.id} --follow` (also in this flow run's logs)",
    ]
    # A cloud resource's own pages (SageMaker, Vertex AI...), when its handle has them.
    lines += [f"- {label}: [{url}]({url})" for key, label in LINKS
              if isinstance(url := handle.get(key), str) and url.startswith("https://")]
    if resolved is not None:
        lines += ["", "## Resolved resource config", "```json",
                  json.dumps(redact(resolved.config), indent=2), "```"]
    try:
        await acreate_markdown_artifact(markdown="\n".join(lines),
                                        key=f"relaunch-run-{item.run_id}",
                                        description=f"relaunch job {item.id}")
    except Exception as exc:  # the launch must not fail for a missing artifact
        get_run_logger().warning("could not publish the job artifact: %s", exc)
