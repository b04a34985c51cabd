"""``relaunch launch`` without ``-q``: run the job here, through the same pipeline."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from launch_core import api
from launch_core.errors import LaunchError, NotFound
from launch_core.store import QueueStore

DIRECT_QUEUE = "relaunch-direct"


def run_direct(store: QueueStore, fields: dict[str, Any], *, entity: str | None,
               code_dir: Path | None) -> tuple[int, str]:
    """Enqueue into the entity's local-process direct queue, claim it here and run
    the launch-job flow in this process. Returns (job id, final state)."""
    entity = entity or api.default_entity()
    try:
        store.get_queue(entity, DIRECT_QUEUE)
    except NotFound:
        api.create_queue(store, DIRECT_QUEUE, "local-process", entity=entity,
                         description="jobs run directly by `relaunch launch` without -q")
    item = api.launch(store, DIRECT_QUEUE, fields, entity=entity, code_dir=code_dir)
    actor = f"cli-{os.getpid()}"
    item = store.claim_item(item.id, actor, lease_seconds=24 * 3600)
    from flows.launch_job import launch_job
    from flows.runtime import register_config
    from launch_core.config import load_agent_config

    config, _ = load_agent_config(flags={"database": store.engine.url
                                         .render_as_string(hide_password=False)})
    register_config(actor, config)
    try:
        state = asyncio.run(launch_job(item_id=item.id, queue_name=DIRECT_QUEUE, actor=actor,
                                       claim_token=item.claim_token))
    except Exception as exc:
        raise LaunchError(f"job {item.id} failed: {exc}") from None
    return item.id, state
