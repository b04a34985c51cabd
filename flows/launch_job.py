"""The ``launch-job`` flow: one flow run per job, six tasks, state kept in the store."""

from __future__ import annotations

import json
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from flows.registry_setup import load_block_credentials
from flows.runtime import config_for, store_for
from flows.tasks import prefect_step
from launch_core.launch_records import Launch, Resolved
from launch_core.masking import mask_log_handlers, redact
from launch_core.pipeline import JobPipeline


@flow(name="launch-job", flow_run_name="{queue_name}-{item_id}", log_prints=True)
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
    return await pipeline.run(item_id, claim_token=claim_token, resume=resume,
                              step=prefect_step, announce=_publish)


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
