"""local-process's ``gpus`` option: what one run counts, and the devices a run on an
agent that shares out GPUs sees (CUDA_VISIBLE_DEVICES), with real processes."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from launch_core.backends.local_process.resource import LocalProcessResource
from launch_core.backends.resource import JobContext
from launch_core.errors import InvalidInput
from tests.support import wait_for

SHOW = "import os; print('CUDA=' + repr(os.environ.get('CUDA_VISIBLE_DEVICES')), flush=True)"


@pytest.mark.parametrize(("config", "count"), [({}, 0), ({"gpus": 0}, 0), ({"gpus": 3}, 3)])
def test_one_run_counts_its_gpus_option(config: dict[str, Any], count: int) -> None:
    resource = LocalProcessResource()
    resource.validate(config)
    assert resource.demand(config) == {"gpus": count}


@pytest.mark.parametrize(("value", "message"), [
    (-1, "greater than or equal to 0"), ("two", "valid integer")])
def test_a_gpus_option_that_is_no_count_is_refused_naming_it(value: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=f"^local-process: option 'gpus': .*{message}"):
        LocalProcessResource().validate({"gpus": value})


def _output(tmp_path: Path, devices: tuple[str, ...] | None, env: dict[str, str]) -> str:
    resource = LocalProcessResource()
    job = JobContext(run_id=f"gpu{len(list(tmp_path.iterdir()))}", item_id=1,
                     entry_point=[sys.executable, "-c", SHOW], args=[],
                     env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
                     config={}, run_dir=tmp_path / "run", workdir=None, gpu_devices=devices)
    handle = resource.submit(job)
    wait_for(lambda: resource.status(handle).done, "the job to end", timeout=60)
    return resource.read_logs(handle, 0)[0]


def test_the_agents_devices_win_over_the_queues_env(tmp_path: Path) -> None:
    assert "CUDA='2,0'" in _output(tmp_path, ("2", "0"), {"CUDA_VISIBLE_DEVICES": "7"})


def test_without_agent_devices_the_env_is_as_the_queue_wrote_it(tmp_path: Path) -> None:
    assert "CUDA='7'" in _output(tmp_path, None, {"CUDA_VISIBLE_DEVICES": "7"})
