"""A stage's work runs once whatever Prefect's bookkeeping around its task run does.

A real flow (tests/support/stage_probe.py) runs one stage through
``flows.tasks.prefect_step`` under a Prefect tag, so the task engine takes a slot of
the tag's concurrency limit through the Prefect API before the work and gives it back
after. The probe talks to the session's real Prefect server through a loopback fault
proxy (tests/support/fault_proxy.py, a test double of a flaky network path) that
answers 503 to the calls a test picks. Prefect's own client retries are off
(PREFECT_CLIENT_MAX_RETRIES=0) so each fault reaches relaunch's code at once.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import wait_for
from tests.support.fault_proxy import FaultProxy
from tests.support.prefect_server import PrefectAPI

PROBE = Path(__file__).resolve().parents[2] / "support" / "stage_probe.py"
ROOT = Path(__file__).resolve().parents[3]
ACQUIRE = "/v2/concurrency_limits/increment-with-lease$"
RELEASE = "/v2/concurrency_limits/decrement-with-lease$"
UI_WARNING = "the Prefect UI misses that step"


@pytest.fixture
def tag() -> str:
    return f"probe-{uuid.uuid4().hex[:8]}"


def probe(proxy: FaultProxy, cli_env: dict[str, str], tmp_path: Path, tag: str,
          *extra: str) -> tuple[dict[str, Any], str, int]:
    """Run the probe; returns (its JSON line, its whole output, how often the work ran)."""
    marker = tmp_path / "ran.txt"
    env = {**cli_env, "PREFECT_API_URL": proxy.url, "PREFECT_CLIENT_MAX_RETRIES": "0",
           "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, str(PROBE), str(marker), tag, *extra], env=env,
                          capture_output=True, text=True, timeout=180, cwd=tmp_path)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, done.stdout[-2000:] + done.stderr[-3000:]
    ran = len(marker.read_text().splitlines()) if marker.exists() else 0
    return json.loads(lines[-1]), done.stdout + done.stderr, ran


def tag_limit(prefect_api: str, tag: str) -> None:
    """A concurrency limit on the tag: the task engine then also gives its slot back."""
    answer = httpx.post(f"{prefect_api}/v2/concurrency_limits/",
                        json={"name": f"tag:{tag}", "limit": 10}, timeout=30)
    assert answer.status_code == 201, answer.text


def test_a_task_run_that_fails_to_start_is_tried_again_and_its_stage_runs_once(
        proxy: FaultProxy, cli_env: dict[str, str], tmp_path: Path, tag: str,
        api: PrefectAPI) -> None:
    fault = proxy.fail("POST", ACQUIRE, times=2)
    result, output, ran = probe(proxy, cli_env, tmp_path, tag)
    assert result == {"result": "done", "error": None}
    assert ran == 1 and fault.hits == 2
    assert [c.status for c in proxy.seen("POST", ACQUIRE)] == [503, 503, 200]
    assert UI_WARNING not in output
    # The third try's task run reached Prefect and completed.
    [flow_run] = api.flow_runs(f"stage-probe-{tag}")
    wait_for(lambda: any(t["name"].startswith("build-image") and t["state_type"] == "COMPLETED"
                         for t in api.task_runs(flow_run["id"])),
             "the build-image task run to be recorded", timeout=60)


def test_a_stage_runs_once_without_its_task_run_when_prefect_stays_unreachable(
        proxy: FaultProxy, cli_env: dict[str, str], tmp_path: Path, tag: str) -> None:
    fault = proxy.fail("POST", ACQUIRE)
    result, output, ran = probe(proxy, cli_env, tmp_path, tag)
    assert result == {"result": "done", "error": None}
    assert ran == 1 and fault.hits == 4  # the first try and three more
    assert output.count(UI_WARNING) == 1
    assert "task build-image: Prefect could not record it (" in output


def test_a_stage_whose_end_cannot_be_recorded_keeps_its_result_and_runs_once(
        proxy: FaultProxy, cli_env: dict[str, str], tmp_path: Path, tag: str,
        prefect_api: str) -> None:
    tag_limit(prefect_api, tag)
    fault = proxy.fail("POST", RELEASE)
    result, output, ran = probe(proxy, cli_env, tmp_path, tag)
    assert result == {"result": "done", "error": None}
    assert ran == 1 and fault.hits >= 1  # (Prefect tries the release again at exit)
    assert "task build-image: Prefect could not record its end (" in output
    assert output.count(UI_WARNING) == 1


def test_a_stage_that_fails_by_itself_fails_with_its_own_error_and_is_not_run_again(
        proxy: FaultProxy, cli_env: dict[str, str], tmp_path: Path, tag: str,
        prefect_api: str) -> None:
    """Its failure is the stage's, even when Prefect also fails to record the end."""
    tag_limit(prefect_api, tag)
    fault = proxy.fail("POST", RELEASE)
    result, output, ran = probe(proxy, cli_env, tmp_path, tag, "fail")
    assert result == {"result": None, "error": "ValueError: the stage's own failure"}
    assert ran == 1 and fault.hits >= 1
    assert UI_WARNING not in output
