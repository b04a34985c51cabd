"""``launch --dry-run`` prints the request the resource would send with the queue
config's ``${ENV}`` macros filled from this process's environment: those values are
secrets there too and show as ***. Real console script, private SQLite store; no AWS
call is made (the request is only built)."""

from __future__ import annotations

import json

from tests.unit.backends.sagemaker.test_sagemaker_queue import BASE, IMAGE, VARS

SECRET = "dk-dry-run-7731"
ENV = {"DATASET_KEY": SECRET, "AWS_REGION": "us-east-1"}


def test_dry_run_request_masks_values_filled_from_the_environment(relaunch):
    config = {**BASE, "Environment": {
        "DATASET_URL": "https://reader:${DATASET_KEY}@data.example/set"}}
    assert relaunch("queue", "create", "sm", "-r", "sagemaker", "--config", json.dumps(config),
                    "--template-variables", json.dumps(VARS), env=ENV).code == 0
    shown = relaunch("launch", "-q", "sm", "-d", IMAGE, "--dry-run", "--json", env=ENV)
    assert shown.code == 0, shown.err
    environment = shown.json()["request"]["Environment"]
    assert environment["DATASET_URL"] == "https://reader:***@data.example/set"
    assert SECRET not in shown.out + shown.err
