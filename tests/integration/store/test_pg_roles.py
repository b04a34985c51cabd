"""scripts/pg-roles.sql on a real PostgreSQL server: what a submitter, an agent and
an admin may do, through the console script (launch, job list/status/cancel, queue
update, launch-agent) and the store API (claim, transitions).

Setup (tests/support/pg_roles.py): a fresh database migrated by the server's
admin, the script applied twice (it must be re-runnable), login roles
team_a_submitter (entity team-a), team_b_submitter (team-b), agent_1 (an agent of
team-a) and admin_1 (a relaunch_admin member), each with a unique suffix.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from launch_core.errors import PermissionDenied
from launch_core.store import QueueStore
from launch_core.store.schema import metadata
from tests.support.pg_roles import RoleSetup, roles_with_cpu_queues


@pytest.fixture(scope="module")
def roles(postgres_admin_url: str) -> Iterator[RoleSetup]:
    yield from roles_with_cpu_queues(postgres_admin_url, script_twice=True)


@pytest.fixture
def as_role(relaunch, roles: RoleSetup):
    """``as_role(login, *args)``: the console script with that login's store URL."""

    def run(login: str, *args: str):
        return relaunch(*args, env={"RELAUNCH_DATABASE_URL": roles.url(login)})

    return run


def enqueue(as_role, login: str, entity: str, *extra: str) -> int:
    """Enqueue as ``login`` (an image job unless ``extra`` names a source)."""
    source = () if "--code" in extra else ("-d", "python:3.11")
    result = as_role(login, "launch", "-q", "cpu", "-e", entity, *source, "--json", *extra)
    assert result.code == 0, result.err
    return int(result.json()["id"])


def one_line_error(result) -> str:
    """The single stderr line of a refused command (no traceback)."""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.err, result.err
    return lines[0]


def test_every_table_has_an_owner_grants_and_row_security(roles: RoleSetup):
    """A table added to schema.py (and its migration) but left out of the script
    fails here."""
    tables = sorted(metadata.tables)
    script = roles.script()
    for table in [*tables, "alembic_version"]:
        assert f" {table}" in script, f"scripts/pg-roles.sql does not mention {table}"
        owner, rls = roles.sql(None, "SELECT tableowner, rowsecurity FROM pg_tables "
                                     "WHERE tablename = %s", (table,))[0]
        assert owner == roles.role("admin"), f"{table} is owned by {owner}"
        assert rls or table == "alembic_version", f"{table} has no row-level security"
        for group in ("agent", "submitter"):
            (granted,) = roles.sql(None, "SELECT has_any_column_privilege(%s, %s, 'SELECT')",
                                   (roles.role(group), table))[0]
            assert granted, f"relaunch_{group} has no grant on {table}"


def test_submitter_enqueues_and_reads_its_entity(as_role, roles: RoleSetup, tmp_path: Path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('team a')\n")
    image_job = enqueue(as_role, "team_a_submitter", "team-a")
    code_job = enqueue(as_role, "team_a_submitter", "team-a", "--code", str(code))
    listed = as_role("team_a_submitter", "job", "list", "-e", "team-a", "--json").json()
    assert {image_job, code_job} <= {job["id"] for job in listed}
    status = as_role("team_a_submitter", "job", "status", str(code_job), "--json")
    assert status.code == 0 and status.json()["state"] == "queued"
    # The tarball went in (digest-checked); its bytes are for agents only.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_a_submitter", "SELECT data FROM blobs")
    agent = QueueStore(roles.url("agent_1"))
    item = agent.get_item(code_job)
    assert item.spec.code is not None and len(agent.get_item_code(item)) > 0
    agent.dispose()


def test_submitter_sees_nothing_of_another_entity(as_role, roles: RoleSetup, tmp_path: Path):
    code = tmp_path / "b-code"
    code.mkdir()
    (code / "secret_model.py").write_text("print('team b')\n")
    b_job = enqueue(as_role, "team_b_submitter", "team-b", "--code", str(code),
                    "--run-config", '{"lr": 0.5}')
    assert as_role("team_a_submitter", "job", "list", "-e", "team-b", "--json").json() == []
    status = as_role("team_a_submitter", "job", "status", str(b_job))
    assert status.code == 2 and one_line_error(status) == f"error: job {b_job} not found"
    # Below the CLI too: no row of team-b's items, events, queues or agents.
    for query in ("SELECT spec::text FROM items", "SELECT message FROM events e JOIN items i "
                  "ON i.id = e.item_id", "SELECT entity FROM queues"):
        rows = roles.sql("team_a_submitter", query)
        assert not any("team b" in str(r) or "0.5" in str(r) or "team-b" in str(r)
                       for r in rows), (query, rows)
    assert roles.sql("team_b_submitter", "SELECT count(*) FROM items WHERE id = %s",
                     (b_job,)) == [(1,)]
    # team-a's agent cannot read team-b's tarball even by its digest.
    digest = QueueStore(roles.url()).get_item(b_job).spec.code
    assert roles.sql("agent_1", "SELECT count(*) FROM blobs WHERE digest = %s",
                     (digest,)) == [(0,)]


def test_submitter_cannot_claim(as_role, roles: RoleSetup):
    job = enqueue(as_role, "team_a_submitter", "team-a")
    store = QueueStore(roles.url("team_a_submitter"))
    queue = store.get_queue("team-a", "cpu")
    with pytest.raises(PermissionDenied, match="permission denied for table items"):
        store.claim("agent-forged", [queue.id])
    with pytest.raises(PermissionDenied):
        store.claim_item(job, "agent-forged")
    with pytest.raises(PermissionDenied, match="permission denied for table agents"):
        store.register_agent("team-a", ["cpu"], 1)
    assert store.get_item(job).state == "queued"
    store.dispose()
    # Nor can it forge a claim with SQL (column grants), or move an item (trigger).
    for statement in ("UPDATE items SET agent_id = 'x' WHERE id = %s",
                      "UPDATE items SET state = 'finished' WHERE id = %s"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            roles.sql("team_a_submitter", statement, (job,))


def test_submitter_cannot_change_a_queue(as_role, roles: RoleSetup):
    refused = as_role("team_a_submitter", "queue", "update", "cpu", "-e", "team-a",
                      "--description", "mine now")
    assert refused.code == 1
    assert one_line_error(refused).startswith(
        "error: queue store: permission denied for table queues")
    shown = as_role("team_a_submitter", "queue", "show", "cpu", "-e", "team-a", "--json")
    assert shown.json()["description"] != "mine now"
    allowed = as_role("admin_1", "queue", "update", "cpu", "-e", "team-a",
                      "--description", "by the admin")
    assert allowed.code == 0, allowed.err


def test_agent_claims_and_moves_items_of_its_entities_only(as_role, roles: RoleSetup):
    a_job = enqueue(as_role, "team_a_submitter", "team-a")
    b_job = enqueue(as_role, "team_b_submitter", "team-b")
    store = QueueStore(roles.url("agent_1"))
    admin = QueueStore(roles.url())
    b_queue = admin.get_queue("team-b", "cpu").id
    assert store.claim("agent-1", [b_queue], limit=10) == []  # not its entity
    queue = store.get_queue("team-a", "cpu").id
    claimed = store.claim("agent-1", [queue], limit=100)
    assert a_job in {item.id for item in claimed}
    item = next(i for i in claimed if i.id == a_job)
    moved = store.transition(a_job, "building", actor="agent-1", claim=item.claim)
    assert moved.state == "building"
    assert [e.to_state for e in store.events_for(a_job)][-2:] == ["claimed", "building"]
    assert admin.get_item(b_job).state == "queued"
    with pytest.raises(PermissionDenied):  # an agent never changes a queue
        store.update_queue("team-a", "cpu", description="agent was here")
    store.dispose()
    admin.dispose()


def test_submitter_cancels_its_own_items_only(as_role, roles: RoleSetup):
    queued = enqueue(as_role, "team_a_submitter", "team-a")
    cancelled = as_role("team_a_submitter", "job", "cancel", str(queued))
    assert cancelled.code == 0 and cancelled.out.strip() == f"cancelled job {queued}"
    # A running one: flagged for its agent, still held by it.
    running = enqueue(as_role, "team_a_submitter", "team-a")
    agent = QueueStore(roles.url("agent_1"))
    agent.claim("agent-1", [agent.get_item(running).queue_id], limit=100)
    flagged = as_role("team_a_submitter", "job", "cancel", str(running))
    assert flagged.code == 0 and "cancel requested" in flagged.out
    item = agent.get_item(running)
    assert item.cancel_requested and item.state == "claimed" and item.agent_id == "agent-1"
    agent.dispose()
    # Another entity's job: not found, and unchanged.
    b_job = enqueue(as_role, "team_b_submitter", "team-b")
    refused = as_role("team_a_submitter", "job", "cancel", str(b_job))
    assert refused.code == 2 and one_line_error(refused) == f"error: job {b_job} not found"
    assert roles.sql(None, "SELECT state, cancel_requested FROM items WHERE id = %s",
                     (b_job,)) == [("queued", False)]


def test_only_an_admin_stops_an_agent_and_the_agent_reads_its_stop(as_role, roles: RoleSetup):
    agent = QueueStore(roles.url("agent_1"))
    a_agent = agent.register_agent("team-a", ["cpu"], 1)
    b_store = QueueStore(roles.url("agent_b"))
    b_agent = b_store.register_agent("team-b", ["cpu"], 1)
    b_store.dispose()
    listed = as_role("team_a_submitter", "agent", "list", "-e", "team-a", "--json")
    assert [a["id"] for a in listed.json()] == [a_agent.id]
    assert as_role("team_a_submitter", "agent", "list", "-e", "team-b", "--json").json() == []
    refused = as_role("team_a_submitter", "agent", "stop", a_agent.id)
    assert refused.code == 1
    assert one_line_error(refused).startswith(
        "error: queue store: permission denied for table agents")
    with pytest.raises(PermissionDenied):  # an agent cannot stop one either, itself included
        agent.request_stop(a_agent.id, now=True)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_a_submitter", "UPDATE agents SET stop_requested = 'now'")
    assert agent.stop_request(a_agent.id) is None
    stopped = as_role("admin_1", "agent", "stop", a_agent.id)
    assert stopped.code == 0, stopped.err
    assert agent.stop_request(a_agent.id) == "finish"  # the agent reads it
    assert roles.sql(None, "SELECT stop_requested FROM agents WHERE id = %s",
                     (b_agent.id,)) == [(None,)]
    agent.dispose()
