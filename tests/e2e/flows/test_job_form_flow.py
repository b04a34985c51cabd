"""A launch job's Prefect deployment (its launch form) end to end over the API: the
deployment ``enqueue/<job>`` carries the job's inputs as its parameter schema;
Prefect refuses out-of-bounds values; a flow run created through the API is picked
up by the entity's running agent (no Prefect worker), which enqueues and runs the
job to ``finished`` with the run config given."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.support import wait_for
from tests.support.job_form import QUEUE, finished_run, form_scene


def test_a_deployment_run_enqueues_the_job_and_the_agent_runs_it(
        relaunch: Any, cli_env: dict[str, str], prefect_api: str, tmp_path: Path) -> None:
    with form_scene(relaunch, cli_env, prefect_api, tmp_path) as scene:
        schema = scene.deployment["parameter_openapi_schema"]
        assert scene.deployment["tags"] == ["relaunch-job", f"relaunch-entity:{scene.entity}"]
        assert schema["properties"]["queue"]["enum"] == [QUEUE]
        epochs = schema["properties"]["run_config"]["properties"]["epochs"]
        assert (epochs["minimum"], epochs["maximum"], epochs["description"]) == (
            1, 100, "passes over the data")
        url = f"{prefect_api}/deployments/{scene.deployment['id']}/create_flow_run"

        refused = httpx.post(url, json={"parameters": {"run_config": {"epochs": 101}}},
                             timeout=30)
        assert refused.status_code == 409, refused.text
        assert "epochs" in refused.text and "100" in refused.text

        made = httpx.post(url, json={"parameters": {"run_config": {"epochs": 3}}},
                          timeout=30)
        assert made.status_code == 201, made.text
        flow_run_id = made.json()["id"]
        item = finished_run(scene, flow_run_id)
        assert scene.flow_run(flow_run_id)["name"] == f"enqueue-{scene.name}"
        assert item["spec"]["job"] == f"{scene.name}:v0"
        logs = scene.run("job", "logs", str(item["id"]))
        assert f"CONFIG {json.dumps({'lr': 0.01, 'epochs': 3})}" in logs.out, logs.out
        # Past Prefect's check (not enforced), relaunch refuses: the flow run fails,
        # naming the key, and nothing is enqueued.
        unchecked = httpx.post(url, timeout=30, json={
            "parameters": {"run_config": {"epochs": 101}}, "enforce_parameter_schema": False})
        assert unchecked.status_code == 201, unchecked.text
        failed = wait_for(lambda: (run := scene.flow_run(unchecked.json()["id"]))[
            "state_type"] == "FAILED" and run, lambda: f"a failed flow run: {scene.log()}",
                          timeout=120)
        assert "key 'epochs'" in failed["state"]["message"], failed["state"]
        assert [i["id"] for i in scene.items()] == [item["id"]]
        # The enqueue flow run names the job and its launch-job flow run.
        artifact = httpx.get(f"{prefect_api}/artifacts/relaunch-enqueued-{item['id']}/latest",
                             timeout=30)
        assert artifact.status_code == 200, artifact.text
        assert artifact.json()["flow_run_id"] == flow_run_id
        assert f"`{QUEUE}-{item['id']}`" in artifact.json()["data"]
