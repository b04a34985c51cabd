"""The queue page's key, rows and description (flows/queue_artifact.py), from a real
queue store on SQLite; no Prefect server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.queue_artifact import WAITED, artifact_key, page_description, page_rows
from launch_core.errors import ConfigError
from launch_core.spec.agent_config import load_agent_config
from launch_core.store import QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue


@pytest.mark.parametrize(("entity", "name", "key"), [
    ("team", "q", "queue-team-q"),
    ("team", "gpu-a100", "queue-team-gpu-a100"),
    ("Team", "q", "queue-team-q-71b0389b"),
    ("team", "Night_Runs.v2", "queue-team-night-runs-v2-45b60ce4"),
    ("my-team", "gpu", "queue-my-team-gpu-d35f30b9"),
])
def test_the_key_maps_names_to_the_characters_prefect_allows(entity: str, name: str,
                                                             key: str):
    assert artifact_key(entity, name) == key
    assert re.fullmatch(r"[a-z0-9-]+", key)


def test_no_two_queues_share_a_key():
    pairs = [("team", "q"), ("Team", "q"), ("team", "Q"), ("team", "a.b"), ("team", "a_b"),
             ("team", "a-b"), ("a-b", "c"), ("a", "b-c"), ("a", "b"), ("a-b", "c.d")]
    keys = {artifact_key(entity, name) for entity, name in pairs}
    assert len(keys) == len(pairs)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(tmp_path: Path, clock: FakeClock) -> Iterator[QueueStore]:
    opened = QueueStore(f"sqlite:///{tmp_path / 'store.db'}", clock=clock)
    yield opened
    opened.dispose()


def test_the_rows_list_the_running_jobs_then_the_queued_ones_with_why_they_wait(
        store: QueueStore, clock: FakeClock):
    queue = make_queue(store, policy={"max_running": 1})
    first, second, third = (enqueue(store, queue, project="vision") for _ in range(3))
    agent = store.register_agent("team", ["q"], max_jobs=2)
    store.claim(agent.id, [queue.id])
    store.transition(first.id, "submitted", actor=agent.id)
    clock.advance(5)
    store.transition(first.id, "running", actor=agent.id)
    clock.advance(125)

    rows = page_rows(store.queue_view(queue))

    assert [(r["job"], r["run id"], r["state"], r["position"], r["priority"], r["project"],
             r[WAITED], r["reason"]) for r in rows] == [
        (first.id, first.run_id, "running", "", "medium", "vision", "running 2m 5s", ""),
        (second.id, second.run_id, "queued", 1, "medium", "vision", "waited 2m 10s",
         "queue at max-running 1"),
        (third.id, third.run_id, "queued", 2, "medium", "vision", "waited 2m 10s",
         "queue at max-running 1")]
    assert {r["user"] for r in rows} == {store.get_item(first.id).submitter}


def test_a_queued_job_no_policy_holds_waits_for_the_agents_slots(store: QueueStore):
    queue = make_queue(store)
    enqueue(store, queue)

    [row] = page_rows(store.queue_view(queue))

    assert (row["position"], row["reason"]) == (1, "no agent is polling queue 'q'")
    assert row[WAITED] == "waited 0s"


def test_the_description_says_how_many_queued_jobs_the_page_leaves_out(store: QueueStore):
    queue = make_queue(store)
    for _ in range(4):
        enqueue(store, queue)

    capped = page_description(store.queue_view(queue, limit=3), "agent-1", 5)
    whole = page_description(store.queue_view(queue), "agent-1", 5)

    assert capped.startswith("Queue **team/q**: 0 active, 4 queued (the first 3 shown, "
                             "in claim order). Written by agent `agent-1` at 2023-11-14 ")
    assert "4 queued. Written" in whole
    assert "the latest write wins" in whole


def test_the_page_interval_is_off_at_0_and_at_least_a_second_otherwise():
    def interval(value: object) -> float:
        return load_agent_config(data={"queue_page_interval": value},
                                 environ={})[0].queue_page_interval

    assert (interval(0), interval(2.5)) == (0.0, 2.5)
    assert load_agent_config(data={}, environ={})[0].queue_page_interval == 5.0
    with pytest.raises(ConfigError, match="queue_page_interval: must be 0 .no queue page. or "
                                        "at least 1 second"):
        interval(0.2)
