"""Job state changes reach Prefect as events ``relaunch.job.<name>`` (flows/job_events.py),
read back through Prefect's API (``POST /api/events/filter``) of the session's server.

Two real agents poll one PostgreSQL queue of local-process jobs: one finishes, one
fails, one is retried (exit code 3, then resumed) and one is cancelled while it runs.
Every state change the store logged arrives once, under the id both agents derive
for it, with the job's labels and the launch-job flow run it happened in. A relay
started on a store sends nothing of its past, and one started again catches up with
what happened while none ran; a batch Prefect refused is sent again, the outage
logged once."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings

from flows.job_events import JobEventRelay, event_uuid
from launch_core.spec.models import QueueDefinition
from launch_core.store import QueueItem, QueueStore
from launch_core.store.event_feed import event_name
from tests.support import RELAUNCH, wait_for
from tests.support.fault_proxy import FaultProxy
from tests.support.job_events import job_events
from tests.support.store_helpers import spec

# finish: exit 0; fail: exit 1; flaky: exit 3 unless resumed; sleep: wait to be cancelled.
JOB = """import os, sys, time
mode = sys.argv[1]
if mode == "sleep":
    time.sleep(120)
code = {"finish": 0, "fail": 1}.get(mode, 0 if os.environ.get("RELAUNCH_RESUME") == "1" else 3)
sys.exit(code)
"""
TERMINAL = ("finished", "failed", "cancelled")


@pytest.fixture
def pg_env(cli_env: dict[str, str], postgres_url: str) -> dict[str, str]:
    cli_env["RELAUNCH_DATABASE_URL"] = postgres_url
    return cli_env


@pytest.fixture
def pg_store(pg_env: dict[str, str]) -> Iterator[QueueStore]:
    opened = QueueStore(pg_env["RELAUNCH_DATABASE_URL"])
    yield opened
    opened.dispose()


@pytest.fixture
def agents() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


def _store_events(store: QueueStore, items: list[QueueItem]) -> set[tuple[str, int, str]]:
    """(run id, store event id, event name) of every state change the store logged."""
    found = set()
    for item in items:
        for event in store.events_for(item.id):
            name = event_name(event.from_state, event.to_state, event.message)
            if name is not None:
                found.add((item.run_id, event.id, name))
    return found


def _flow_run_name(api: str, flow_run_id: str) -> str:
    response = httpx.get(f"{api}/flow_runs/{flow_run_id}", timeout=30)
    response.raise_for_status()
    return str(response.json()["name"])


def test_two_agents_send_each_state_change_once_with_labels_and_flow_run(
        relaunch, pg_env: dict[str, str], pg_store: QueueStore, agents: list,
        prefect_api: str, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "job.py").write_text(JOB)
    assert relaunch("queue", "create", "ev", "-r", "local-process", "--retry", "1",
                    "--retry-on", "exit:3").code == 0
    for n in range(2):
        log = open(tmp_path / f"agent-{n}.log", "w")  # noqa: SIM115
        agents.append(subprocess.Popen([RELAUNCH, "launch-agent", "-q", "ev", "--max-jobs",
                                        "4"], env=pg_env, cwd=tmp_path, stdout=log,
                                       stderr=subprocess.STDOUT, text=True))
    # An agent is registered once its relay noted where the store's log ended.
    wait_for(lambda: len(pg_store.live_agents("team")) == 2, "two agents registered")

    jobs = {}
    for mode in ("finish", "fail", "flaky", "sleep"):
        launched = relaunch("launch", "-q", "ev", "--code", str(code), "-E",
                            f"python3 job.py {mode}", "-p", "vision", "--json")
        assert launched.code == 0, launched.err
        jobs[mode] = int(launched.json()["id"])
    wait_for(lambda: pg_store.get_item(jobs["sleep"]).state == "running", "job running")
    assert relaunch("job", "cancel", str(jobs["sleep"])).code == 0
    wait_for(lambda: all(pg_store.get_item(i).state in TERMINAL for i in jobs.values()),
             lambda: f"jobs ended: {[pg_store.get_item(i).state for i in jobs.values()]}",
             timeout=240)
    for proc in agents:
        proc.send_signal(signal.SIGTERM)
    for proc in agents:
        assert proc.wait(timeout=120) == 0

    items = [pg_store.get_item(i) for i in jobs.values()]
    assert [i.state for i in items] == ["finished", "failed", "finished", "cancelled"]
    expected = _store_events(pg_store, items)
    run_ids = [i.run_id for i in items]
    events = wait_for(lambda: (found := job_events(prefect_api, run_ids))
                      and len(found) >= len(expected) and found,
                      lambda: f"{len(expected)} events, Prefect has "
                              f"{len(job_events(prefect_api, run_ids))}", timeout=60)
    got = {(e["resource"]["relaunch.run-id"], e["payload"]["store_event_id"],
            e["event"].removeprefix("relaunch.job.")) for e in events}
    assert got == expected and len(events) == len(expected)  # each once, none missing
    assert {name for _, _, name in got} >= {"queued", "claimed", "submitted", "running",
                                           "finished", "failed", "cancelled"}
    for event in events:  # the id every relay derives for this store event
        resource = event["resource"]
        assert event["id"] == str(event_uuid(resource["relaunch.run-id"],
                                             event["payload"]["store_event_id"]))

    by_item = {i.id: i for i in items}
    for event in events:
        resource, payload = event["resource"], event["payload"]
        item = by_item[int(resource["relaunch.item-id"])]
        assert resource["prefect.resource.id"] == f"relaunch.job.{item.run_id}"
        assert (resource["relaunch.queue"], resource["relaunch.entity"],
                resource["relaunch.project"], resource["relaunch.resource"],
                resource["relaunch.user"]) == ("ev", "team", "vision", "local-process",
                                               item.submitter)
        runs = [r["prefect.resource.id"].removeprefix("prefect.flow-run.")
                for r in event["related"] if r["prefect.resource.role"] == "flow-run"]
        if payload["from_state"] in (None, "queued"):
            assert runs == [], event  # enqueued or claimed: no flow run yet
        else:
            [run] = runs
            assert _flow_run_name(prefect_api, run) == f"ev-{item.id}"

    failed = [e for e in events if e["event"] == "relaunch.job.failed"]
    assert [(e["payload"]["stage"], e["payload"]["exit_code"]) for e in failed] == [
        ("run", 1)]
    flaky = [e for e in events if e["resource"]["relaunch.item-id"] == str(jobs["flaky"])]
    [retry] = [e for e in flaky if e["event"] == "relaunch.job.queued"
               and e["payload"]["from_state"] == "running"]
    assert retry["payload"]["message"] == "retry 1 of 1 after exit code 3"
    [finish] = [e for e in flaky if e["event"] == "relaunch.job.finished"]
    assert retry["related"] != finish["related"]  # each try its own flow run
    # Both agents relayed every one of them (the server kept one of each).
    for n in range(2):
        said = (tmp_path / f"agent-{n}.log").read_text()
        assert f"job events: sent {len(expected)} to Prefect" in said, said[-3000:]


# --- the relay alone, in this process, against the session's server ---------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[QueueStore]:
    opened = QueueStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.dispose()


def _queue(store: QueueStore, name: str) -> Any:
    return store.create_queue(QueueDefinition.model_validate(
        {"entity": "relay", "name": name, "resource": "local-process"}))


def _names(api: str, item: QueueItem) -> list[str]:
    return [e["event"].removeprefix("relaunch.job.") for e in job_events(api, [item.run_id])]


def _relay(store: QueueStore, queue: Any, url: str, log: logging.Logger) -> JobEventRelay:
    with temporary_settings(updates={PREFECT_API_URL: url}):
        relay = JobEventRelay(str(store.engine.url), "relay", {queue.id: queue.name}, log,
                              interval=0.2)
        relay.start()
    return relay


def test_a_relay_sends_nothing_of_the_past_and_catches_up_after_a_restart(
        sqlite_store: QueueStore, prefect_api: str, caplog: pytest.LogCaptureFixture) -> None:
    queue = _queue(sqlite_store, f"catch-up-{os.getpid()}")
    old = sqlite_store.enqueue(queue, spec())
    log = logging.getLogger("relaunch.test.relay")
    relay = _relay(sqlite_store, queue, prefect_api, log)
    first = sqlite_store.enqueue(queue, spec())
    wait_for(lambda: _names(prefect_api, first) == ["queued"], "the new job's event")
    relay.stop()
    assert _names(prefect_api, old) == []  # logged before the relay started

    missed = sqlite_store.enqueue(queue, spec())  # while no relay runs
    sqlite_store.request_cancel(missed.id)
    with caplog.at_level(logging.INFO, logger=log.name):
        relay = _relay(sqlite_store, queue, prefect_api, log)
        try:
            wait_for(lambda: _names(prefect_api, missed) == ["queued", "cancelled"],
                     "the events logged while no relay ran")
        finally:
            relay.stop()
    assert any("catching up" in r.getMessage() for r in caplog.records)
    assert _names(prefect_api, old) == [] and _names(prefect_api, first) == ["queued"]


def test_a_batch_prefect_refused_is_sent_again_and_the_outage_logged_once(
        sqlite_store: QueueStore, prefect_api: str, proxy: FaultProxy,
        caplog: pytest.LogCaptureFixture) -> None:
    queue = _queue(sqlite_store, f"outage-{os.getpid()}")
    refused = proxy.fail("POST", r"^/api/events$", times=3, status=500)
    log = logging.getLogger("relaunch.test.relay-outage")
    with caplog.at_level(logging.INFO, logger=log.name):
        relay = _relay(sqlite_store, queue, proxy.url, log)
        try:
            items = [sqlite_store.enqueue(queue, spec()) for _ in range(2)]
            sqlite_store.request_cancel(items[0].id)
            wait_for(lambda: _names(prefect_api, items[0]) == ["queued", "cancelled"]
                     and _names(prefect_api, items[1]) == ["queued"], "the refused events")
        finally:
            relay.stop()
    assert refused.hits == 3
    said = [r.getMessage() for r in caplog.records]
    assert sum("could not send to Prefect" in m for m in said) == 1, said
    assert sum("sent to Prefect again" in m for m in said) == 1, said
