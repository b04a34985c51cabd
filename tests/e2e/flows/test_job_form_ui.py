"""A launch job's launch form in the real Prefect UI, seen by a browser: headless
Chromium opens the Custom run page of the job's deployment, sees its inputs as
fields with their descriptions, fills one and submits; the entity's running agent
picks the flow run up and the job finishes with that value in its run config."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx

from tests.support import wait_for
from tests.support.job_form import finished_run, form_scene

UI_WAIT_MS = 60_000  # the longest the UI may take to render a page (ms)


def test_the_custom_run_form_enqueues_the_job(
        chromium: Path, prefect_ui_api: str, browser: Any, relaunch: Any,
        cli_env: dict[str, str], tmp_path: Path) -> None:
    # (chromium first: a missing browser skips, or fails, before the server starts)
    from playwright.sync_api import expect

    with form_scene(relaunch, cli_env, prefect_ui_api, tmp_path) as scene:
        base = prefect_ui_api.removesuffix("/api")
        tab = browser.new_page(viewport={"width": 1600, "height": 1400})
        tab.set_default_timeout(UI_WAIT_MS)
        tab.goto(base + "/")  # the server sends the browser on to its default UI
        root = urlparse(tab.url).path.rstrip("/")
        tab.goto(f"{base}{root}/deployments/deployment/{scene.deployment['id']}/run")
        body = tab.locator("body")
        expect(body).to_contain_text("passes over the data", timeout=UI_WAIT_MS)
        epochs = tab.get_by_label("epochs", exact=True)
        # The input's bounds are the form's: the browser's number field keeps them.
        assert (epochs.get_attribute("min"), epochs.get_attribute("max")) == ("1", "100")
        assert tab.get_by_label("lr (Optional)", exact=True).input_value() == "0.01"
        epochs.fill("7")
        tab.screenshot(path=str(tmp_path / "form.png"), full_page=True)
        tab.get_by_role("button", name="Submit", exact=True).click()
        flow_run_id = wait_for(lambda: _deployment_run(scene.api, scene.deployment["id"]),
                               "the flow run the form created", timeout=60)
        item = finished_run(scene, flow_run_id)

    assert item["spec"]["job"] == f"{scene.name}:v0"
    assert item["spec"]["run_config"] == {"lr": 0.01, "epochs": 7}
    assert scene.flow_run(flow_run_id)["parameters"]["run_config"]["epochs"] == 7
    logs = scene.run("job", "logs", str(item["id"]))
    assert f"CONFIG {json.dumps({'lr': 0.01, 'epochs': 7})}" in logs.out, logs.out


def _deployment_run(api: str, deployment_id: str) -> str | None:
    """The id of the deployment's one flow run, once there is one."""
    answer = httpx.post(f"{api}/flow_runs/filter", timeout=30, json={
        "deployments": {"id": {"any_": [deployment_id]}}})
    answer.raise_for_status()
    runs = answer.json()
    assert len(runs) <= 1, runs
    return str(runs[0]["id"]) if runs else None
