"""One run's context, built one way for the pipeline and for the dry-run preview
(``launch_core/preview.py``): the macros its config is filled with, and the
JobContext its resource submits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from launch_core.backends.demand import gpus_of
from launch_core.backends.resource import JobContext, Resource
from launch_core.errors import InvalidInput
from launch_core.pipeline.workspace import job_env
from launch_core.spec.macros import job_macros
from launch_core.store import QueueItem, QueueRecord


def run_macros(item: QueueItem, queue: QueueRecord, image_uri: str | None) -> dict[str, str]:
    """The known macros of ``item``'s run (``image_uri``: the image, when there is one)."""
    return job_macros(item.spec, run_id=item.run_id, item_id=item.id, queue_name=queue.name,
                      entity_name=queue.entity, image_uri=image_uri)


def job_context(item: QueueItem, queue: QueueRecord, resource: Resource,
                config: dict[str, Any], *, image: str | None, workdir: Path | None,
                run_dir: Path, agent: str, pull_auth: dict[str, str] | None = None,
                wandb: bool = True) -> JobContext:
    """What ``resource`` submits for ``item``, with its resolved ``config``."""
    return JobContext(
        run_id=item.run_id, item_id=item.id,
        # What the submitter gave always runs, built image or not.
        entry_point=item.spec.entry_point, args=list(item.spec.args),
        # the config as the resource reads it (W&B's ``e``/``-e`` forms: ``env``)
        env=job_env(item, queue.name, queue.entity,
                    resource.parse_options(config).model_dump(), image,
                    agent_basics=not resource.needs_image, wandb=wandb,
                    value_limit=resource.env_value_limit),
        config=config, run_dir=run_dir, workdir=workdir, image=image, pull_auth=pull_auth,
        resume_count=item.resume_count, queue=queue.name, entity=queue.entity, agent=agent,
        gpu_devices=None if item.devices is None else tuple(str(d) for d in item.devices))


def check_gpu_demand(item: QueueItem, resource: Resource, config: dict[str, Any]) -> None:
    """Raise InvalidInput when the final ``config`` asks for more GPUs than ``item``
    was enqueued counting (its ``gpus``, which quotas and GPU slots count): a row
    written past ``relaunch launch`` runs with no more than it was counted for."""
    if item.gpus is None:  # enqueued before GPUs were counted (migration 0004)
        return
    asked = gpus_of(resource, config)
    if asked > item.gpus:
        raise InvalidInput(f"asks for {asked} GPUs but was enqueued counting {item.gpus}")
