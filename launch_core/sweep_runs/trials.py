"""A trial as a launch: the sweep's ``job`` (its version resolved as ``launch -j``
does) or ``image_uri``, the trial's parameters as its run config, ``sweep_id`` (its
run's WANDB_SWEEP_ID) and, with the config's ``command``, that command's argv."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from launch_core.api import PreparedLaunch, prepare_request
from launch_core.job_api import job_request
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueStore
from launch_core.sweeps.command import trial_command
from launch_core.sweeps.config import SweepConfig

# Keys of W&B's ``launch`` section a trial takes over (the others place the sweep).
LAUNCH_KEYS = ("resource_args", "priority")


def trial_request(config: SweepConfig, sweep_id: str, entity: str, project: str,
                  run_config: Mapping[str, Any],
                  environ: Mapping[str, str] | None = None) -> LaunchRequest:
    """The launch request of a trial whose run config is ``run_config``."""
    fields: dict[str, Any] = {"run_config": dict(run_config), "sweep_id": sweep_id,
                              "project": project or None}
    if config.job is not None:
        fields["job"] = config.job
    else:
        fields["image"] = config.image_uri
    if config.command is not None:
        fields["entry_point"] = trial_command(config.command, config.program, run_config,
                                              os.environ if environ is None else environ)
    fields.update({key: config.launch[key] for key in LAUNCH_KEYS if key in config.launch})
    return LaunchRequest(fields, entity, None)


def prepare_trial(store: QueueStore, queue_name: str, request: LaunchRequest
                  ) -> PreparedLaunch:
    """The trial checked against its queue (and its job's inputs), nothing written.
    Raises InvalidInput, NotFound, TemplateError."""
    return prepare_request(store, queue_name, job_request(store, request))
