"""Arrays, groups and dependencies under scripts/pg-roles.sql: a submitter enqueues an
array waiting for a job of its entity and cancels (the jobs waiting for a cancelled
one end cancelled), an agent releases or cancels what waits when a job ends; nobody
waits for another entity's job or releases a held job by hand. Real PostgreSQL
server, roles from tests/support/pg_roles.py."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from launch_core import api
from launch_core.errors import InvalidInput
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueItem, QueueStore
from tests.support.pg_roles import RoleSetup, roles_with_cpu_queues


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


def launch(store: QueueStore, entity: str, *, array: range | None = None,
           after: tuple[int, ...] = ()) -> list[QueueItem]:
    request = LaunchRequest({"image": "python:3.11"}, entity, None)
    return api.enqueue_array(store, "cpu", request, array, after=after)


def running(agent: QueueStore, item_id: int) -> QueueItem:
    claimed = agent.claim_item(item_id, "agent-1")
    agent.transition(item_id, "submitted", actor="agent-1", claim=claimed.claim,
                     handle={"p": 1})
    return agent.transition(item_id, "running", actor="agent-1", claim=claimed.claim)


def test_an_agent_releases_a_submitters_array_when_its_dependency_finishes(
        stores: dict[str, QueueStore]):
    submitter, agent = stores["team_a_submitter"], stores["agent_1"]
    [first] = launch(submitter, "team-a")
    array = launch(submitter, "team-a", array=range(3), after=(first.id,))
    assert {(i.held, i.group_id) for i in array} == {(True, array[0].group_id)}
    assert submitter.dependencies(array[0].id) == [(first.id, "queued")]
    item = running(agent, first.id)
    agent.transition(first.id, "finished", actor="agent-1", claim=item.claim)
    assert [agent.get_item(i.id).held for i in array] == [False] * 3
    claimed = agent.claim("agent-1", [first.queue_id], limit=100)
    assert {i.id for i in array} <= {i.id for i in claimed}


def test_cancels_and_failures_cancel_the_jobs_waiting_for_them(
        stores: dict[str, QueueStore]):
    submitter, agent = stores["team_a_submitter"], stores["agent_1"]
    [queued] = launch(submitter, "team-a")
    [waits] = launch(submitter, "team-a", after=(queued.id,))
    submitter.request_cancel(queued.id)  # the submitter's own cancel
    assert (submitter.get_item(waits.id).state, submitter.get_item(waits.id).reason) == (
        "cancelled", f"dependency {queued.id} cancelled")

    [failing] = launch(submitter, "team-a")
    [chained] = launch(submitter, "team-a", after=(failing.id,))
    item = running(agent, failing.id)
    agent.fail(failing.id, "run", "exit code 1", actor="agent-1", claim=item.claim)
    assert agent.get_item(chained.id).reason == f"dependency {failing.id} failed"

    group = launch(submitter, "team-a", array=range(2))
    running(agent, group[0].id)
    done = submitter.cancel_group("team-a", group[0].group_id or "")
    assert (done.cancelled, done.requested) == ([group[1].id], [group[0].id])


def test_nobody_waits_for_another_entitys_job_or_releases_a_job_by_hand(
        roles: RoleSetup, stores: dict[str, QueueStore]):
    a_submitter, b_submitter = stores["team_a_submitter"], stores["team_b_submitter"]
    [a_job] = launch(a_submitter, "team-a")
    with pytest.raises(InvalidInput, match=f"^--after: job {a_job.id} not found$"):
        launch(b_submitter, "team-b", after=(a_job.id,))  # invisible to team b
    [b_job] = launch(b_submitter, "team-b")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_b_submitter", "INSERT INTO item_deps (item_id, after_id) "
                  "VALUES (%s, %s)", (b_job.id, a_job.id))
    [held] = launch(a_submitter, "team-a", after=(a_job.id,))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_a_submitter", "UPDATE items SET held = false WHERE id = %s",
                  (held.id,))
    assert a_submitter.get_item(held.id).held
    with pytest.raises(psycopg.errors.InsufficientPrivilege):  # a dependency stays
        roles.sql("team_a_submitter", "DELETE FROM item_deps WHERE item_id = %s",
                  (held.id,))
