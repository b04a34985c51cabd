"""Where a trial's stock ``wandb`` client left its run directory, when the agent can
read it: a local process runs in ``<run dir>/code``, ``<run dir>/repo[/<build
context>]`` or ``<run dir>/work`` (launch_core.pipeline.workspace.prepare_workdir),
and ``wandb.init()`` writes ``wandb/[offline-]run-<date>_<time>-<run id>`` there
(WANDB_RUN_ID is the trial's run id). A container's files stay in the container."""

from __future__ import annotations

from pathlib import Path

from launch_core.store import QueueItem
from launch_core.sweeps.wandb_run import find_run

READABLE = ("local-process",)  # resources whose working directory is the agent's


def local_wandb_run(trial: QueueItem) -> Path | None:
    """The newest wandb run directory of ``trial``'s run, or None."""
    handle = trial.handle or {}
    log = handle.get("log")
    if handle.get("resource") not in READABLE or not isinstance(log, str):
        return None
    base = Path(log).parent  # the run dir of the agent that ran it
    context = trial.spec.build_context or ""
    for workdir in (base / "code", base / "repo" / context, base / "work"):
        found = find_run(workdir, trial.run_id)
        if found is not None:
            return found
    return None
