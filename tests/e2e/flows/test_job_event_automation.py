"""A Prefect Automation acts on relaunch's job events: the example of
docs/operations.md (a reactive trigger on ``relaunch.job.failed`` matching one queue's
labels, a ``send-notification`` action), created through Prefect's API with a
custom-webhook notification block in place of Slack's, calls a real HTTP server on
127.0.0.1 for a failed job of that queue, and not for a failed job of another queue.
The jobs run on a real agent against the session's Prefect server."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.settings import PREFECT_API_URL, temporary_settings

from tests.support import wait_for
from tests.support.job_events import Webhook, job_events, post_event, webhook_server

FAIL = "import sys; sys.exit(1)\n"
DOCS = Path(__file__).resolve().parents[3] / "docs" / "operations.md"


def docs_example() -> dict[str, Any]:
    """The automation docs/operations.md gives for ``prefect automation create``."""
    found = re.search(r"```yaml\n(# gpu-failures\.yaml.*?)```", DOCS.read_text(), re.S)
    assert found, "docs/operations.md lost its automation example"
    return dict(yaml.safe_load(found.group(1)))


@pytest.fixture
def hook() -> Iterator[Webhook]:
    with webhook_server() as started:
        yield started


@pytest.fixture
def automation(prefect_api: str, hook: Webhook) -> Iterator[dict[str, Any]]:
    """An automation: a failed job of queue ``alpha`` (entity team) calls ``hook``."""
    name = f"relaunch-test-{uuid.uuid4().hex[:8]}"
    block = CustomWebhookNotificationBlock(
        name=name, url=hook.url, json_data={"text": "{{subject}} | {{body}}"})
    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        block_id = block.save(name)
    body = docs_example()
    body["name"] = name
    body["trigger"]["match"] = {"relaunch.queue": "alpha", "relaunch.entity": "team"}
    body["actions"][0]["block_document_id"] = str(block_id)
    created = httpx.post(f"{prefect_api}/automations/", json=body, timeout=30)
    assert created.status_code == 201, created.text
    try:
        yield created.json()
    finally:
        httpx.delete(f"{prefect_api}/automations/{created.json()['id']}", timeout=30)


def _probe(prefect_api: str, hook: Webhook) -> None:
    """Wait until the triggers service acts on the automation: a failed event of
    queue alpha that names no job, sent until the webhook hears of it."""
    marker = f"probe{uuid.uuid4().hex[:8]}"

    def heard() -> bool:
        post_event(prefect_api, {
            "id": str(uuid.uuid4()), "event": "relaunch.job.failed",
            "occurred": _now(),
            "resource": {"prefect.resource.id": f"relaunch.job.{marker}",
                         "relaunch.run-id": marker, "relaunch.item-id": "0",
                         "relaunch.user": "probe", "relaunch.queue": "alpha",
                         "relaunch.entity": "team"},
            "payload": {"stage": "run", "reason": "probe"}})
        return bool(hook.received(marker))

    wait_for(heard, "the automation to act on a probe event", timeout=90, interval=2.0)


def _now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).isoformat()


def test_an_automation_on_one_queues_failures_calls_a_webhook_for_that_queue_only(
        relaunch, prefect_api: str, hook: Webhook, automation: dict[str, Any],
        tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "fail.py").write_text(FAIL)
    for queue in ("alpha", "beta"):
        assert relaunch("queue", "create", queue, "-r", "local-process").code == 0
    _probe(prefect_api, hook)

    runs = {}
    for queue in ("beta", "alpha"):  # beta's job runs, fails and is sent first
        launched = relaunch("launch", "-q", queue, "--code", str(code), "-E",
                            "python3 fail.py", "--json")
        assert launched.code == 0, launched.err
        runs[queue] = launched.json()
    agent = relaunch("launch-agent", "-q", "beta", "-q", "alpha", "--max-jobs", "1",
                     "--until-idle", timeout=240)
    assert agent.code == 0, agent.err[-3000:]

    alpha, beta = runs["alpha"], runs["beta"]
    [call] = wait_for(lambda: hook.received(alpha["run_id"]),
                      "the webhook call for alpha's failed job", timeout=90)
    assert json.loads(call)["text"] == (
        f"relaunch job failed | Job {alpha['id']} ({alpha['run_id']}) of "
        f"{alpha['submitter']} in team/alpha failed at run: exit code 1")
    # beta's failure reached Prefect before alpha's, and the automation let it be.
    names = [e["event"] for e in job_events(prefect_api, [beta["run_id"]])]
    assert "relaunch.job.failed" in names
    assert hook.received(beta["run_id"]) == []
