"""The queue page (flows/queue_artifact.py) against the session's Prefect server: a
real agent writes one table artifact per queue whose rows agree with the store, and a
Prefect API outage is logged once, then once when writing works again."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from pathlib import Path

from prefect import flow
from prefect.client.orchestration import get_client
from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

from flows.queue_artifact import QueuePages, artifact_key
from launch_core import api as core_api
from launch_core.agent.agent import Agent
from launch_core.spec.agent_config import load_agent_config
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueItem, QueueStore
from tests.support import wait_for
from tests.support.fault_proxy import FaultProxy
from tests.support.queue_page import (
    CAPPED,
    PLAIN,
    expected_rows,
    latest_page,
    page_rows,
    queue_scene,
)

BUSY = "1 agent(s) polling, all slots busy"


def test_each_queue_page_lists_the_running_and_queued_jobs_as_the_store_has_them(
        tmp_path: Path, prefect_api: str):
    with queue_scene(tmp_path, prefect_api) as scene:
        for name in (CAPPED, PLAIN):
            key = artifact_key("team", name)
            assert re.fullmatch(r"[a-z0-9-]+", key)

            def agrees(key: str = key, name: str = name) -> bool:
                page = latest_page(prefect_api, key)
                return page is not None and page_rows(page) == expected_rows(scene, name, BUSY)

            wait_for(agrees, lambda key=key, name=name: (
                f"page {key} to agree with the store: {latest_page(prefect_api, key)} vs "
                f"{expected_rows(scene, name, BUSY)}"), timeout=60)
        capped = latest_page(prefect_api, artifact_key("team", CAPPED))
        assert capped is not None
        running, *queued = capped["rows"]
        assert (running["state"], running["user"], running["project"]) == (
            "running", scene.item(scene.jobs[CAPPED][0]).submitter, "vision")
        assert running["waited / running"].startswith("running ")
        assert [(row["position"], row["reason"]) for row in queued] == [
            (1, "queue at max-running 1"), (2, "queue at max-running 1")]
        assert all(row["waited / running"].startswith("waited ") for row in queued)
        assert "Queue **team/q**: 1 active, 2 queued." in capped["description"]
        plain = latest_page(prefect_api, artifact_key("team", PLAIN))
        assert plain is not None and plain["rows"][1]["reason"] == BUSY
    assert scene.agent.returncode == 0, scene.log.read_text()[-3000:]


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[tuple[int, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.levelno, record.getMessage()))


def test_an_outage_of_the_prefect_api_is_logged_once_and_the_page_written_after_it(
        tmp_path: Path, prefect_api: str, proxy: FaultProxy):
    store = QueueStore(f"sqlite:///{tmp_path / 'store.db'}")
    # A name of its own: the session's Prefect server holds other tests' pages, and
    # tests/e2e/flows/test_prefect_api_faults.py runs an agent on a queue 'outage'.
    name = f"outage-{secrets.token_hex(4)}"
    queue = core_api.create_queue(store, name, "local-process", entity="team")
    job = store.enqueue(queue, LaunchSpec.model_validate({"image": "local"}))
    config, _ = load_agent_config(data={"queues": [name], "entity": "team",
                                        "database": str(store.engine.url)}, environ={})
    log = logging.getLogger("relaunch.test.queue-page")
    log.setLevel(logging.INFO)
    records = Records()
    log.addHandler(records)
    agent = Agent(store, config, "team", _never_runs, log)
    agent.agent_id = "agent-outage"
    pages = QueuePages(agent, log)
    key = artifact_key("team", name)
    fault = proxy.fail("POST", r"/artifacts/$", status=500)  # creating the artifact

    @flow(name="queue-page-outage")
    async def look(times: int) -> None:  # as the agent's flow run does, through the proxy
        async with get_client() as client:
            for _ in range(times):
                await pages.refresh(client)

    try:
        # (no logs to the API: the flow's would be sent through the proxy after it stops)
        with temporary_settings(updates={PREFECT_API_URL: proxy.url,
                                         PREFECT_LOGGING_TO_API_ENABLED: False}):
            asyncio.run(look(3))
            assert fault.hits == 3
            warnings = [line for level, line in records.lines if level >= logging.WARNING]
            assert len(warnings) == 1 and "queue page: could not write" in warnings[0]
            assert latest_page(prefect_api, key) is None  # nothing went through

            proxy.faults.remove(fault)
            asyncio.run(look(1))
        assert records.lines[-1] == (logging.INFO, "queue page: writing again")
        page = latest_page(prefect_api, key)
        assert page is not None
        assert [(r["job"], r["run id"], r["state"]) for r in page["rows"]] == [
            (job.id, job.run_id, "queued")]
    finally:
        log.removeHandler(records)
        pages.close()
        store.dispose()


async def _never_runs(item: QueueItem, resume: bool) -> str:
    raise AssertionError("this agent never polls")
