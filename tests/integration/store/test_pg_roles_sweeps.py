"""Sweeps under scripts/pg-roles.sql: a submitter starts, stops and resumes its
entity's sweeps; an agent runs the scheduler: it enqueues trials into the sweep's
group and records them, but enqueues no other job; another entity's submitter sees
none of it. Real PostgreSQL server, roles from tests/support/pg_roles.py."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from launch_core.api import prepare_request
from launch_core.errors import NotFound, PermissionDenied
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import Claim, QueueStore
from launch_core.sweep_runs.start import launch_sweep
from tests.support.pg_roles import RoleSetup, roles_with_cpu_queues

CONFIG = {"method": "grid", "image_uri": "python:3.11",
          "parameters": {"x": {"values": [1, 2]}}}


@pytest.fixture(scope="module")
def roles(postgres_admin_url: str) -> Iterator[RoleSetup]:
    yield from roles_with_cpu_queues(postgres_admin_url)


@pytest.fixture
def stores(roles: RoleSetup) -> Iterator[dict[str, QueueStore]]:
    opened = {login: QueueStore(roles.url(login))
              for login in ("team_a_submitter", "team_b_submitter", "agent_1")}
    yield opened
    for store in opened.values():
        store.dispose()


def test_an_agent_enqueues_trials_of_a_running_sweep_and_nothing_else(
        stores: dict[str, QueueStore]) -> None:
    submitter, agent = stores["team_a_submitter"], stores["agent_1"]
    started = launch_sweep(submitter, json.dumps(CONFIG), queue="cpu", entity="team-a")
    sweep, scheduler = started.sweep, started.scheduler
    with pytest.raises(NotFound):  # another entity's sweep is not there for team-b
        stores["team_b_submitter"].get_sweep("team-a", sweep.id)
    held = agent.claim_item(scheduler.id, "agent-1")
    claim = Claim("agent-1", held.claim_token)
    trial = prepare_request(agent, "cpu", LaunchRequest(
        {"image": "python:3.11", "run_config": {"x": 1}, "sweep_id": sweep.id}, "team-a"))
    item = agent.launch_trial(sweep.id, 0, {"x": 1}, {"number": 0}, trial.queue, trial.spec,
                              claim=claim, scheduler_item=scheduler.id)
    assert (item.group_id, item.state) == (sweep.id, "queued")
    agent.record_trial(sweep.id, 0, {"number": 0, "state": "complete"}, "finished", 0.0,
                       claim=claim, scheduler_item=scheduler.id)
    assert [(t.number, t.state) for t in submitter.sweep_trials(sweep.id)] == [(0, "finished")]
    plain = prepare_request(agent, "cpu", LaunchRequest({"image": "python:3.11"}, "team-a"))
    with pytest.raises(PermissionDenied, match="row-level security"):  # trials only
        agent.enqueue(plain.queue, plain.spec)
    agent.set_sweep_state(sweep.id, "finished", claim, scheduler.id)
    assert submitter.get_sweep("team-a", sweep.id).state == "finished"


def test_a_submitter_stops_and_resumes_its_sweep(stores: dict[str, QueueStore]) -> None:
    submitter = stores["team_a_submitter"]
    started = launch_sweep(submitter, json.dumps(CONFIG), queue="cpu", entity="team-a")
    assert submitter.stop_sweep("team-a", started.sweep.id).state == "stopped"
    assert submitter.get_item(started.scheduler.id).state == "cancelled"
    from launch_core.sweep_runs.start import resume_sweep

    resumed = resume_sweep(submitter, started.sweep.id, entity="team-a")
    assert (resumed.sweep.state, resumed.scheduler.state) == ("running", "queued")
