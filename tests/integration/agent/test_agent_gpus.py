"""A real agent (no Prefect, SQLite) sharing out two GPU devices (``--gpus 0,1``) to
local-process jobs that ask for one each: the claim gives each job its own device and
a third job waits for one to come free."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from launch_core import api
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from tests.support.agent_runner import make_agent

JOB = """
import json, os, sys, time
start = time.time()
time.sleep(0.5)
with open(sys.argv[1], "w") as out:
    json.dump({"devices": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start,
               "end": time.time()}, out)
"""


def test_jobs_get_disjoint_devices_and_wait_for_a_free_one(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    queue = api.create_queue(sqlite_store, "q", "local-process", entity="team",
                             config={"gpus": 1})
    outputs = [tmp_path / f"job-{n}.json" for n in range(3)]
    for out in outputs:
        spec = LaunchSpec.model_validate({"image": "local", "entry_point": [
            sys.executable, "-c", JOB, str(out)]})
        assert sqlite_store.enqueue(queue, spec, gpus=1).gpus == 1
    config = agent_config.model_copy(update={"gpus": ["0", "1"], "max_jobs": 3})
    agent = make_agent(sqlite_store, config, until_idle=True)
    assert asyncio.run(agent.run()) == 3
    runs = [json.loads(out.read_text()) for out in outputs]
    assert sorted(r["devices"] for r in runs[:2]) == ["0", "1"]
    assert runs[2]["devices"] in ("0", "1")
    for a in runs:
        for b in runs:
            overlap = a is not b and a["start"] < b["end"] and b["start"] < a["end"]
            assert not (overlap and a["devices"] == b["devices"]), runs
    assert runs[2]["start"] >= min(runs[0]["end"], runs[1]["end"]) - 0.05
