"""Queue create and enqueue of the cloud resources check their configs without the
heavy modules the agent uses (kubernetes-validate/jsonschema, botocore, the Vertex
client): each case runs the CLI's ``main`` in a fresh interpreter and reports, after
the command, which of those modules were imported. A typo is still refused with exit
2 naming its path, at queue create and at enqueue, and nothing is stored."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from launch_core.store import QueueStore
from tests.support.sample_configs import ECR_IMAGE, KUBERNETES, SAGEMAKER, VERTEX, snake_case

SCRIPT = """
import json, sys
from relaunch_cli.main import main
code = 0
try:
    main(sys.argv[2:])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": [m for m in sys.argv[1].split(",")
                                            if m in sys.modules]}))
"""
BAD_POOL = {"machine_spec": {"machine_type": "n1-standard-4", "accelerator_cnt": 2}}
# resource, good config, a typo in it, what the refusal names, the modules not to import
CASES = {
    "kubernetes": ("kubernetes", KUBERNETES,
                   {"spec": {"template": {"spec": {"containers": [{"imagee": "x"}]}}}},
                   "spec.template.spec.containers[0].imagee: unknown field",
                   ["jsonschema", "kubernetes_validate", "kubernetes_asyncio"]),
    "sagemaker-snake": ("sagemaker", snake_case(SAGEMAKER), {"instance_typo": "x"},
                        "'InstanceTypo'", ["botocore", "boto3"]),
    "sagemaker-camel": ("sagemaker", SAGEMAKER, {"RoleArnn": "x"}, "'RoleArnn'",
                        ["botocore", "boto3"]),
    "vertex": ("vertex", VERTEX, {"spec": {"worker_pool_specs": [BAD_POOL]}},
               'no field named "accelerator_cnt" at '
               '"CustomJob.job_spec.worker_pool_specs[0].machine_spec"',
               ["google.cloud.aiplatform_v1", "google.cloud.aiplatform"]),
}


def _cli(env: dict[str, str], cwd: Path, heavy: list[str], *args: str) -> tuple[Any, str]:
    """(the exit code and the heavy modules imported, stderr) of ``relaunch *args``."""
    proc = subprocess.run([sys.executable, "-c", SCRIPT, ",".join(heavy), *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=120)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return (report["code"], report["loaded"]), proc.stderr


def _merged(base: Any, override: Any) -> Any:
    """``override`` over ``base``: mappings merged, anything else replaced."""
    if isinstance(base, dict) and isinstance(override, dict):
        return {**base, **{k: _merged(base.get(k), v) for k, v in override.items()}}
    return override


@pytest.mark.parametrize("case", list(CASES))
def test_enqueue_refuses_a_typo_without_importing_the_agents_modules(
        case: str, cli_env: dict[str, str], cli_store: QueueStore, tmp_path: Path) -> None:
    resource, config, typo, named, heavy = CASES[case]
    image = ECR_IMAGE if resource == "sagemaker" else "img"
    bad = _merged(config, typo)
    result, err = _cli(cli_env, tmp_path, heavy, "queue", "create", "bad", "-r", resource,
                       "--config", json.dumps(bad))
    assert result == (2, []), err
    assert named in err and len(err.strip().splitlines()) == 1, err
    result, err = _cli(cli_env, tmp_path, heavy, "queue", "create", "q", "-r", resource,
                       "--config", json.dumps(config))
    assert result == (0, []), err
    result, err = _cli(cli_env, tmp_path, heavy, "launch", "-q", "q", "-d", image)
    assert result == (0, []), err
    result, err = _cli(cli_env, tmp_path, heavy, "launch", "-q", "q", "-d", image,
                       "-R", json.dumps({resource: typo}))
    assert result == (2, []), err
    assert named in err and len(err.strip().splitlines()) == 1, err
    assert [queue.name for queue, _ in cli_store.list_queues()] == ["q"]
    assert len(cli_store.list_items()) == 1


# What the agent, the sweeps' scheduler and the metrics endpoint import, which the
# everyday commands must not pay for at start (Optuna alone costs about 1 s).
AGENT_SIDE = ["prefect", "optuna", "numpy", "prometheus_client", "playwright"]


@pytest.mark.parametrize("args", [["job", "list"], ["queue", "list"], ["sweep", "list"],
                                  ["queue", "stats"]])
def test_everyday_commands_import_no_agent_side_module(
        args: list[str], cli_env: dict[str, str], cli_store: QueueStore,
        tmp_path: Path) -> None:
    result, err = _cli(cli_env, tmp_path, AGENT_SIDE, *args)
    assert result == (0, []), err
