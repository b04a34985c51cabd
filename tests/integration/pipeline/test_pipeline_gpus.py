"""GPUs through enqueue and the pipeline, on the real queue store (SQLite and
PostgreSQL) with local-process jobs: the enqueue records what the queue's resource
counts; a run on an agent that shares out GPUs sees the devices its item carries
(CUDA_VISIBLE_DEVICES); an item counted for fewer GPUs than its final config asks
for fails at stage agent before anything runs.

``items.devices`` is written here as the agent's claim writes it (the claim that
assigns devices is the scheduler's, tested with it)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from launch_core import api
from launch_core.pipeline.pipeline import JobPipeline, StageFailed
from launch_core.spec.agent_config import AgentConfig, load_agent_config
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.schema import items

# The job prints what it sees of CUDA_VISIBLE_DEVICES, then leaves a marker.
SHOW = ("import os, sys; print('CUDA=' + repr(os.environ.get('CUDA_VISIBLE_DEVICES')), "
        "flush=True); open(sys.argv[1], 'a').write('ran\\n')")


@pytest.fixture
def gpu_queue(store: QueueStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> QueueRecord:
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(tmp_path / "data"))
    variables = {"gpus": {"type": "integer", "minimum": 0, "maximum": 8, "default": 2}}
    return api.create_queue(store, "q", "local-process", entity="team",
                            config={"gpus": "{{ gpus }}"}, template_variables=variables)


@pytest.fixture
def agent_config(store: QueueStore) -> AgentConfig:
    url = store.engine.url.render_as_string(hide_password=False)
    config, _ = load_agent_config(flags={"database": url, "queues": ["q"], "entity": "team",
                                         "lease_seconds": 30, "poll_interval": 0.1},
                                  environ={})
    return config


def enqueue(store: QueueStore, marker: Path, **values: Any) -> QueueItem:
    # local-process runs the entry point; the image is only a label here
    fields: dict[str, Any] = {"image": "local",
                              "entry_point": [sys.executable, "-c", SHOW, str(marker)]}
    if values:
        fields["template_values"] = values
    return api.enqueue(store, "q", LaunchRequest(fields, "team"))


def claim(store: QueueStore, queue: QueueRecord, **columns: Any) -> QueueItem:
    """Claim the queue's item as agent-a, then write ``columns`` to its row."""
    [claimed] = store.claim("agent-a", [queue.id])
    if columns:
        with store.engine.begin() as conn:
            conn.execute(update(items).where(items.c.id == claimed.id).values(**columns))
    return claimed


def run(store: QueueStore, config: AgentConfig, item: QueueItem) -> tuple[str, list[str]]:
    lines: list[str] = []
    pipeline = JobPipeline(store, config, "agent-a", lines.append)
    return asyncio.run(pipeline.run(item.id, claim_token=item.claim_token)), lines


def test_enqueue_records_the_gpus_its_resource_counts(
        store: QueueStore, gpu_queue: QueueRecord, tmp_path: Path) -> None:
    default = enqueue(store, tmp_path / "m0")
    given = enqueue(store, tmp_path / "m1", gpus=5)
    none = enqueue(store, tmp_path / "m2", gpus=0)
    assert [store.get_item(i.id).gpus for i in (default, given, none)] == [2, 5, 0]


def test_a_run_sees_the_devices_its_agent_assigned(
        store: QueueStore, gpu_queue: QueueRecord, agent_config: AgentConfig,
        tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    enqueue(store, marker)
    item = claim(store, gpu_queue, devices=["1", "3"])
    state, lines = run(store, agent_config, item)
    assert state == "finished"
    assert "CUDA='1,3'" in lines
    assert marker.read_text() == "ran\n"


def test_a_run_without_gpus_on_an_agent_with_slots_sees_none(
        store: QueueStore, gpu_queue: QueueRecord, agent_config: AgentConfig,
        tmp_path: Path) -> None:
    enqueue(store, tmp_path / "marker", gpus=0)
    state, lines = run(store, agent_config, claim(store, gpu_queue, devices=[]))
    assert (state, "CUDA=''" in lines) == ("finished", True)


def test_a_run_on_an_agent_without_slots_gets_no_cuda_variable(
        store: QueueStore, gpu_queue: QueueRecord, agent_config: AgentConfig,
        tmp_path: Path) -> None:
    enqueue(store, tmp_path / "marker")
    state, lines = run(store, agent_config, claim(store, gpu_queue))
    assert (state, "CUDA=None" in lines) == ("finished", True)


@pytest.mark.parametrize("counted", [0, 1])
def test_an_item_counted_for_fewer_gpus_than_it_asks_fails_at_agent_unrun(
        store: QueueStore, gpu_queue: QueueRecord, agent_config: AgentConfig,
        tmp_path: Path, counted: int) -> None:
    """A row written past ``relaunch launch`` (raw SQL) with a smaller ``gpus``."""
    marker = tmp_path / "marker"
    enqueue(store, marker, gpus=2)
    item = claim(store, gpu_queue, gpus=counted)
    reason = f"asks for 2 GPUs but was enqueued counting {counted}"
    with pytest.raises(StageFailed, match=f"^agent: {reason}$"):
        run(store, agent_config, item)
    ended = store.get_item(item.id)
    assert (ended.state, ended.stage, ended.reason) == ("failed", "agent", reason)
    assert ended.handle is None and not marker.exists()
    assert "submitted" not in [e.to_state for e in store.events_for(item.id)]
