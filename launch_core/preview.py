"""What ``relaunch launch --dry-run`` shows of the request a resource would send
(a Kubernetes manifest, a SageMaker or Vertex request body), built the way the agent
builds it, with an example run id and, for a source the agent builds, a stand-in for
the image."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from launch_core.api import PreparedLaunch
from launch_core.backends.resource import PREVIEW_IMAGE, get_resource
from launch_core.errors import MissingExtra
from launch_core.pipeline.run_context import job_context, run_macros
from launch_core.spec.resolve import resolve_both
from launch_core.store import QueueItem
from launch_core.store.items import new_run_id


def preview_request(prepared: PreparedLaunch) -> dict[str, Any] | None:
    """The request body the queue's resource would send for this launch, or None
    (a resource without one, or its extra not installed here)."""
    queue, spec = prepared.queue, prepared.spec
    try:
        resource = get_resource(queue.definition.resource)
    except MissingExtra:
        return None
    run_id = new_run_id()
    item = _example_item(queue.id, run_id, spec)
    macros = run_macros(item, queue, spec.image or PREVIEW_IMAGE)
    config, _ = resolve_both(queue.definition, spec, macros, env=dict(os.environ),
                             values=prepared.template_values)
    config.pop("builder", None)
    image = spec.image or (PREVIEW_IMAGE if resource.needs_image else None)
    job = job_context(item, queue, resource, config, image=image, workdir=None,
                      run_dir=Path("."), agent="<agent>")
    return resource.request(job)


def _example_item(queue_id: int, run_id: str, spec: Any) -> QueueItem:
    fields: dict[str, Any] = {f.name: None for f in dataclasses.fields(QueueItem)}
    now = time.time()
    fields.update(id=0, queue_id=queue_id, state="queued", priority=0, enqueued_at=now,
                  run_id=run_id, spec=spec, attempts=0, max_attempts=1, claim_token=0,
                  cancel_requested=False, resume_count=0, updated_at=now)
    return QueueItem(**fields)
