"""The ``launch-job`` flow: one flow run per job, six tasks, state kept in the store."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from flows.runtime import config_for, redact, store_for
from flows.tasks import (
    Launch,
    build_image,
    fetch_config,
    merge_overrides,
    push_to_registry,
    submit_to_resource,
    wait_for_completion,
)
from launch_core.errors import IllegalTransition, NotFound
from launch_core.store.states import CANCELLED, LAUNCHED, TERMINAL

# Which stage a failure in each task counts as.
_STAGE = {"fetch-config": "agent", "merge-overrides": "agent", "build-image": "build",
          "push-to-registry": "build", "submit-to-resource": "run",
          "wait-for-completion": "run"}


class StageFailed(Exception):
    """A task failed; carries the stage recorded on the item."""

    def __init__(self, stage: str, reason: str) -> None:
        super().__init__(f"{stage}: {reason}")
        self.stage = stage


@flow(name="launch-job", flow_run_name="{queue_name}-{item_id}", log_prints=True)
async def launch_job(item_id: int, queue_name: str = "", config: dict[str, Any] | None = None,
                     actor: str = "cli", resume: bool = False) -> str:
    """Launch one claimed job (or, with ``resume``, keep watching a submitted one).

    The config is the one ``actor`` registered in this process (an agent, or the CLI
    running a job directly); otherwise ``config`` (launch-config keys, no secrets
    please: parameters are visible in the UI) over the environment.

    Any failure marks the item ``failed`` with its stage and a one-line reason, and
    fails this flow run. Returns the item's final state.
    """
    agent_config = config_for(actor, config)
    store = store_for(agent_config.database)
    stage = "fetch-config"
    try:
        launch: Launch = await fetch_config(item_id, agent_config, actor)
        if resume:
            if launch.item.state not in LAUNCHED or not launch.item.handle:
                return launch.item.state
            stage = "wait-for-completion"
            status = await wait_for_completion(launch, launch.item.handle)
            return await _final_state(store, item_id, status.state)
        if launch.item.cancel_requested:
            await asyncio.to_thread(store.transition, item_id, CANCELLED, actor=actor,
                                    message="cancelled before submission")
            return CANCELLED
        stage = "merge-overrides"
        resolved = await merge_overrides(launch)
        stage = "build-image"
        built = await build_image(launch, resolved)
        stage = "push-to-registry"
        await push_to_registry(launch, built)
        stage = "submit-to-resource"
        handle = await submit_to_resource(launch, resolved, built)
        await _publish(launch, resolved.config, built.image, handle)
        stage = "wait-for-completion"
        status = await wait_for_completion(launch, handle)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        await asyncio.to_thread(_mark_failed, store, item_id, _STAGE[stage], reason, actor)
        raise StageFailed(_STAGE[stage], reason) from exc
    return await _final_state(store, item_id, status.state)


async def _final_state(store: Any, item_id: int, state: str) -> str:
    if state == "failed":
        item = await asyncio.to_thread(store.get_item, item_id)
        raise StageFailed(item.stage or "run", item.reason or "failed")
    return state


def _mark_failed(store: Any, item_id: int, stage: str, reason: str, actor: str) -> None:
    try:
        item = store.get_item(item_id)
        if item.state not in TERMINAL:
            store.fail(item_id, stage, reason, actor=actor)
    except (IllegalTransition, NotFound):
        pass  # already ended (or gone): nothing to record


async def _publish(launch: Launch, resolved: dict[str, Any], image: str | None,
                   handle: dict[str, Any]) -> None:
    item = launch.item
    markdown = "\n".join([
        f"# Job {item.id} in {launch.queue.entity}/{launch.queue.name}",
        f"- run id: `{item.run_id}`", f"- image: `{image or 'none'}`",
        f"- handle: `{json.dumps(redact(handle))}`",
        f"- logs: `relaunch job logs {item.id} --follow` (also in this flow run's logs)",
        "", "## Resolved resource config", "```json",
        json.dumps(redact(resolved), indent=2), "```",
    ])
    try:
        await acreate_markdown_artifact(markdown=markdown, key=f"relaunch-run-{item.run_id}",
                                        description=f"relaunch job {item.id}")
    except Exception as exc:  # the launch must not fail for a missing artifact
        get_run_logger().warning("could not publish the job artifact: %s", exc)
