"""The agent runs the ``enqueue`` flow runs of its entity's job deployments itself,
no Prefect worker needed: every few seconds it looks for their SCHEDULED flow runs
that are due, takes each (Scheduled -> Pending: another agent's proposal is then
refused) and runs it in its own process (Pending -> Running -> Completed/Failed)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterTags,
    FlowFilter,
    FlowFilterName,
    FlowRunFilter,
    FlowRunFilterNextScheduledStartTime,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import StateType
from prefect.client.schemas.sorting import FlowRunSort
from prefect.context import FlowRunContext
from prefect.flow_engine import run_flow
from prefect.states import Pending

from flows.enqueue_job import AGENT_STORE, enqueue
from flows.job_deployment import FLOW_NAME, entity_tag
from flows.runtime import share_sync_client
from launch_core.errors import one_line

if TYPE_CHECKING:
    from prefect.client.orchestration import PrefectClient
    from prefect.client.schemas.objects import FlowRun
    from prefect.client.schemas.responses import OrchestrationResult

    from launch_core.agent.agent import Agent

Log = logging.Logger | logging.LoggerAdapter[logging.Logger]
PICKUP_INTERVAL = 3.0  # seconds between two looks
PICKUP_BATCH = 20  # flow runs taken per look


class EnqueuePickup:
    """One agent's pickup of its entity's ``enqueue`` flow runs."""

    def __init__(self, agent: Agent, log: Log, interval: float = PICKUP_INTERVAL) -> None:
        self.agent, self.log, self.interval = agent, log, interval
        self._failing = False

    async def run(self) -> None:
        """Look every ``interval`` seconds until cancelled; never raises."""
        try:
            async with get_client() as client:
                while True:
                    await self.poll(client)
                    await asyncio.sleep(self.interval)
        except Exception as exc:  # no Prefect client: the agent goes on without it
            self.log.warning("enqueue pickup: stopped: %s", one_line(exc))

    async def poll(self, client: PrefectClient) -> int:
        """Run the flow runs due now; returns how many were run. Never raises: a
        failure is logged once until a look works again."""
        try:
            runs = await client.read_flow_runs(
                flow_filter=FlowFilter(name=FlowFilterName(any_=[FLOW_NAME])),
                deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(
                    all_=[entity_tag(self.agent.entity)])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(
                        any_=[StateType.SCHEDULED])),
                    next_scheduled_start_time=FlowRunFilterNextScheduledStartTime(
                        before_=datetime.now(UTC))),  # type: ignore[arg-type]  # parsed
                sort=FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC, limit=PICKUP_BATCH)
            ran = 0
            for flow_run in runs:
                ran += await self._take(client, flow_run)
        except Exception as exc:
            if not self._failing:
                self.log.warning("enqueue pickup: could not look for flow runs (%s); "
                                 "trying again every %g s, logged once until it works",
                                 one_line(exc), self.interval)
            self._failing = True
            return 0
        if self._failing:
            self.log.info("enqueue pickup: looking again")
        self._failing = False
        return ran

    async def _take(self, client: PrefectClient, flow_run: FlowRun) -> int:
        """Take ``flow_run`` (refused: another agent has it) and run it here."""
        result: OrchestrationResult[Any] = await client.set_flow_run_state(flow_run.id,
                                                                           Pending())
        if result.state is None or result.state.type != StateType.PENDING:
            return 0
        taken = await client.read_flow_run(flow_run.id)
        self.log.info("enqueue pickup: running flow run %s (%s)", taken.name, taken.id)
        await asyncio.create_task(self._execute(taken))
        return 1

    async def _execute(self, flow_run: FlowRun) -> None:
        """The flow run in a task of its own (a copy of the context): not a child of
        the agent's flow run, with this agent's store and entity."""
        FlowRunContext.__var__.set(None)  # type: ignore[arg-type]  # this task's copy only
        AGENT_STORE.set((self.agent.store, self.agent.entity))
        await share_sync_client()
        outcome: Any = run_flow(enqueue, flow_run=flow_run,
                                parameters=dict(flow_run.parameters), return_type="state")
        state = await outcome
        if state is not None and state.is_failed():
            self.log.warning("enqueue pickup: flow run %s failed: %s", flow_run.name,
                             " ".join((state.message or "failed").split()))


@contextlib.asynccontextmanager
async def enqueue_pickup(agent: Agent, log: Log) -> AsyncIterator[None]:
    """Pick up the entity's ``enqueue`` flow runs while the body runs, when a Prefect
    API is configured (PREFECT_API_URL: job deployments live there)."""
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        yield
        return
    task = asyncio.create_task(EnqueuePickup(agent, log).run(), name="relaunch-enqueue")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
