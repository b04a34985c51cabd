"""The ``sweep-scheduler`` flow: an agent runs a claimed scheduler item (its spec
``is_scheduler``) with this flow instead of launch-job. The loop is the domain's
(launch_core/sweep_runs/scheduler.py), in a thread of its own; this flow shows it in
the Prefect UI and keeps a table artifact of its trials (key ``sweep-<id>``, best
first), written at most every ARTIFACT_SECONDS and only when it changed."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from flows.runtime import config_for, store_for
from launch_core.errors import one_line
from launch_core.masking import mask_log_handlers
from launch_core.store import QueueItem
from launch_core.store.sweeps import SweepRecord, TrialRow
from launch_core.sweep_runs.scheduler import SweepScheduler
from launch_core.sweep_runs.view import trial_rows

ARTIFACT_SECONDS = 5.0


def artifact_key(sweep_id: str) -> str:
    """The key of a sweep's trial table in the Prefect UI."""
    return f"sweep-{sweep_id}"


@flow(name="sweep-scheduler", flow_run_name="sweep-{sweep_id}", log_prints=True,
      persist_result=False)
async def sweep_scheduler(item_id: int, sweep_id: str, actor: str,
                          claim_token: int | None = None) -> str:
    """Run sweep ``sweep_id``'s scheduler, the item ``item_id`` that ``actor`` holds
    (under ``claim_token``), until the sweep ends, is stopped or the agent stops.
    Returns the item's end state (``lost``/``released`` when it ended nothing)."""
    config = config_for(actor, None)
    mask_log_handlers()
    logger = get_run_logger()
    store = store_for(config.database)
    item = await asyncio.to_thread(store.get_item, item_id)
    if claim_token is not None and item.claim_token != claim_token:
        return "lost"
    latest: list[tuple[SweepRecord, list[TrialRow]]] = []
    stop = threading.Event()
    scheduler = SweepScheduler(store, item, actor, lambda line: logger.info("%s", line),
                               poll_seconds=min(2.0, config.poll_interval * 2), stop=stop,
                               on_trials=lambda sweep, trials: latest.append((sweep, trials)))
    running = asyncio.ensure_future(asyncio.to_thread(scheduler.run))
    published: list[Any] = []
    try:
        while not running.done():
            await asyncio.wait([running], timeout=ARTIFACT_SECONDS)
            await _publish(latest, published)
        state: str = running.result()
        return state
    except asyncio.CancelledError:  # the agent stops: the item stays for another one
        stop.set()
        await asyncio.wait([running], timeout=10)
        raise
    finally:
        await _publish(latest, published)


async def _publish(latest: list[tuple[SweepRecord, list[TrialRow]]],
                   published: list[Any]) -> None:
    """The newest trial table, if it changed since the last one written."""
    if not latest:
        return
    sweep, trials = latest[-1]
    latest.clear()
    rows = trial_rows(sweep, trials)
    if published and published[-1] == (sweep.state, rows):
        return
    try:
        await acreate_table_artifact(table=rows, key=artifact_key(sweep.id),
                                     description=f"sweep {sweep.id} ({sweep.state}): "
                                     f"{len(trials)} trials, best first")
    except Exception as exc:  # the sweep must not stop for a missing table
        get_run_logger().warning("could not publish the sweep's trial table: %s",
                                 one_line(exc))
        return
    published.append((sweep.state, rows))
    del published[:-1]


async def run_sweep_scheduler(item: QueueItem, actor: str) -> str:
    """The sweep-scheduler flow for a scheduler item ``actor`` holds."""
    state: str = await sweep_scheduler(item_id=item.id, sweep_id=str(item.spec.sweep_id),
                                       actor=actor, claim_token=item.claim_token)
    return state
