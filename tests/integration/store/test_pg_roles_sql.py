"""scripts/pg-roles.sql against a submitter who bypasses relaunch and writes SQL
itself, the upgrade path (an admin migrates, the script runs again) and the enqueue
wake-up (NOTIFY/LISTEN) under the roles. Real PostgreSQL server; each test has its
own database and roles (tests/support/pg_roles.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from launch_core import api
from launch_core.errors import PermissionDenied
from launch_core.store import QueueStore
from launch_core.store.engine import SCHEMA_HEAD
from launch_core.store.items import NOTIFY_CHANNEL
from tests.support.pg_roles import ITEM_COLUMNS, RoleSetup, roles_with_cpu_queues


@pytest.fixture
def roles(postgres_admin_url: str) -> Iterator[RoleSetup]:
    yield from roles_with_cpu_queues(postgres_admin_url)


def queue_id(roles: RoleSetup, entity: str) -> int:
    return int(roles.sql(None, "SELECT id FROM queues WHERE entity = %s", (entity,))[0][0])


def submit(roles: RoleSetup, login: str, entity: str) -> int:
    store = QueueStore(roles.url(login))
    item = api.launch(store, "cpu", {"image": "python:3.11"}, entity=entity)
    store.dispose()
    return item.id


def refused(roles: RoleSetup, statement: str, params: tuple[object, ...]) -> None:
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_a_submitter", statement, params)


def test_a_submitter_writing_sql_stays_inside_its_rules(roles: RoleSetup):
    own = submit(roles, "team_a_submitter", "team-a")
    a_queue, b_queue = queue_id(roles, "team-a"), queue_id(roles, "team-b")
    insert = (f"INSERT INTO items ({ITEM_COLUMNS}) "
              "VALUES (%s, %s, %s, 0, %s, '{}', %s, 0, current_user, 0)")
    roles.sql("team_a_submitter", insert, (a_queue, "queued", 2, "rawsql000001", 3))  # ok
    refused(roles, insert.replace("current_user", "'team_b_submitter'"),  # another's name
            (a_queue, "queued", 2, "rawsql000006", 3))
    refused(roles, insert.replace("current_user, 0)", "current_user, NULL)"),  # GPUs uncounted
            (a_queue, "queued", 2, "rawsql000007", 3))
    refused(roles, insert, (b_queue, "queued", 2, "rawsql000002", 3))  # other entity
    refused(roles, insert, (a_queue, "finished", 2, "rawsql000003", 3))  # not queued
    refused(roles, insert, (a_queue, "queued", 0, "rawsql000004", 3))  # queue unordered
    refused(roles, insert, (a_queue, "queued", 2, "../../../etc", 3))  # run folder
    refused(roles, insert, (a_queue, "queued", 2, "rawsql000005", 1000))  # retries
    refused(roles, "INSERT INTO events (item_id, from_state, to_state, actor, at) "
                   "VALUES (%s, 'claimed', 'submitted', 'agent-x', 0)", (own,))
    refused(roles, "UPDATE items SET spec = '{}' WHERE id = %s", (own,))
    refused(roles, "UPDATE queues SET definition = '{}' WHERE id = %s", (a_queue,))
    refused(roles, "DELETE FROM items WHERE id = %s", (own,))
    refused(roles, "DELETE FROM events WHERE item_id = %s", (own,))
    # A tarball under someone else's digest: refused, so nobody can plant code that
    # a colleague's identical upload would then skip storing.
    refused(roles, "INSERT INTO blobs (entity, digest, size, data, created_at) "
                   "VALUES ('team-a', %s, 1, 'x', 0)", ("sha256:" + "0" * 64,))
    refused(roles, "INSERT INTO relaunch_entity_roles VALUES (%s, 'team-b')",
            (roles.role("team_a_submitter"),))
    refused(roles, "CREATE TABLE mine (x int)", ())
    assert roles.sql(None, "SELECT count(*) FROM items") == [(2,)]


def test_a_temporary_table_cannot_stand_in_for_the_membership_table(roles: RoleSetup):
    submit(roles, "team_b_submitter", "team-b")
    with psycopg.connect(roles.url("team_a_submitter"), autocommit=True) as conn:
        conn.execute("CREATE TEMP TABLE relaunch_entity_roles (role name, entity text)")
        conn.execute("INSERT INTO pg_temp.relaunch_entity_roles VALUES (%s, '*')",
                     (roles.role("team_a_submitter"),))
        conn.execute("SET search_path = pg_temp, public")
        assert conn.execute("SELECT count(*) FROM items").fetchone() == (0,)


def test_the_enqueue_wakeup_reaches_an_agent_role(roles: RoleSetup):
    with psycopg.connect(roles.url("agent_1"), autocommit=True) as conn:
        conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        submit(roles, "team_a_submitter", "team-a")
        got = [n.payload for n in conn.notifies(timeout=30, stop_after=1)]
    assert got == [str(queue_id(roles, "team-a"))]


def test_an_admin_migrates_then_the_script_runs_again(roles: RoleSetup):
    # The store as revision 0001 left it: no claim_token, no owner of code tarballs
    # (so none of the script's policies that name the owner), no scheduling columns,
    # no agent stop requests, no queue-stats indexes, no groups or dependencies (0001's
    # claim index), no launch jobs, no sweeps.
    for statement in ("DROP POLICY agent_trial ON items", "DROP TABLE sweep_trials",
                      "DROP TABLE sweeps", "DROP TABLE launch_job_aliases",
                      "DROP TABLE launch_job_versions", "DROP TABLE launch_jobs",
                      "DROP TABLE item_deps",
                      "ALTER TABLE items DROP COLUMN group_id, DROP COLUMN array_index, "
                      "DROP COLUMN held",
                      "CREATE INDEX ix_items_claim ON items (queue_id, priority, "
                      "enqueued_at, id) WHERE state = 'queued'",
                      "DROP INDEX ix_items_ended", "DROP INDEX ix_events_start_at",
                      "DROP INDEX ix_events_start_item",
                      "DROP POLICY served ON blobs", "DROP POLICY submitter_store ON blobs",
                      "DROP POLICY submitter_enqueue ON items",
                      "DROP TABLE quotas",
                      "ALTER TABLE agents DROP COLUMN gpus, DROP COLUMN stop_requested",
                      "ALTER TABLE items DROP COLUMN submitter, DROP COLUMN project, "
                      "DROP COLUMN gpus, DROP COLUMN devices, DROP COLUMN retries, "
                      "DROP COLUMN raised",
                      "ALTER TABLE blobs DROP CONSTRAINT blobs_pkey, DROP COLUMN entity, "
                      "ADD PRIMARY KEY (digest)",
                      "ALTER TABLE items DROP COLUMN claim_token",
                      "UPDATE alembic_version SET version_num = '0001'"):
        roles.sql(None, statement)
    with pytest.raises(PermissionDenied,
                       match=f"needs migrations to {SCHEMA_HEAD}.*as an admin"):
        QueueStore(roles.url("team_a_submitter"))
    QueueStore(roles.url("admin_1")).dispose()  # a relaunch_admin member migrates
    agent = QueueStore(roles.url("agent_1"))
    with pytest.raises(PermissionDenied):  # the new column has no grant yet
        agent.claim("agent-1", [queue_id(roles, "team-a")])
    roles.apply_script()
    job = submit(roles, "team_a_submitter", "team-a")
    assert [i.id for i in agent.claim("agent-1", [queue_id(roles, "team-a")])] == [job]
    agent.dispose()


def test_a_submitter_cannot_forge_its_project_and_an_agent_may_move_to_a_fallback(
        roles: RoleSetup):
    """Project quotas count the spec's project: a row whose project column says another
    is refused. An agent's role may write what a fallback move writes."""
    import time

    from launch_core import api
    from launch_core.agent.fallback import check_for_fallback

    a_queue = queue_id(roles, "team-a")
    insert = (f"INSERT INTO items ({ITEM_COLUMNS}, project) "
              "VALUES (%s, 'queued', 2, 0, %s, %s, 3, 0, current_user, 0, %s)")
    roles.sql("team_a_submitter", insert, (a_queue, "rawsqlproj01", '{"project": "p"}', "p"))
    refused(roles, insert, (a_queue, "rawsqlproj02", '{"project": "p"}', "vision"))
    admin = QueueStore(roles.url("admin_1"))
    api.create_queue(admin, "spot", "local-process", entity="team-a")
    api.update_queue(admin, "cpu", entity="team-a",
                     policy={"max_pending": "30m", "fallback_queue": "spot"})
    admin.dispose()
    job = submit(roles, "team_a_submitter", "team-a")
    agent = QueueStore(roles.url("agent_1"))
    try:
        moved = agent.expire_pending([a_queue], actor="agent-1", check=check_for_fallback,
                                     now=time.time() + 3600)
        assert job in moved.moved
        spot = agent.get_queue("team-a", "spot")
        assert agent.get_item(job).queue_id == spot.id
    finally:
        agent.dispose()
