"""Launch jobs under scripts/pg-roles.sql: a submitter creates, launches, aliases and
deletes its entities' jobs; another entity's submitters and agents neither see nor
launch them, nor write them with their own SQL. Real PostgreSQL server, roles from
tests/support/pg_roles.py (team_a_submitter and agent_1 serve team-a, team_b_submitter
and agent_b team-b)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from launch_core import api
from launch_core.errors import InvalidInput, NotFound, PermissionDenied
from launch_core.job_api import create_job, job_request
from launch_core.spec.job_recipe import parse_recipe
from launch_core.spec.launch_request import LaunchRequest
from launch_core.store import QueueStore
from tests.support.blob_owner import ENTRY, write_code
from tests.support.pg_roles import RoleSetup, roles_with_cpu_queues

SECRET = "team a's recipe, not for team b"


@pytest.fixture(scope="module")
def roles(postgres_admin_url: str) -> Iterator[RoleSetup]:
    yield from roles_with_cpu_queues(postgres_admin_url)


@pytest.fixture
def team_a(roles: RoleSetup, tmp_path: Path) -> Iterator[QueueStore]:
    """team-a's submitter, with its code job ``train`` (v0, alias prod)."""
    store = QueueStore(roles.url("team_a_submitter"))
    roles.sql(None, "DELETE FROM launch_jobs")
    create_job(store, "code", str(write_code(tmp_path / "a", SECRET)), name="train",
               entity="team-a", aliases=["prod"], entry_point=ENTRY)
    yield store
    store.dispose()


def as_store(roles: RoleSetup, login: str) -> Iterator[QueueStore]:
    store = QueueStore(roles.url(login))
    try:
        yield store
    finally:
        store.dispose()


def test_a_submitter_creates_launches_aliases_and_deletes_its_jobs(roles: RoleSetup,
                                                                   team_a: QueueStore,
                                                                   tmp_path: Path) -> None:
    request = job_request(team_a, LaunchRequest({"job": "train:prod"}, "team-a"))
    item = api.enqueue(team_a, "cpu", request)
    assert item.spec.job == "train:v0" and item.spec.code is not None
    made = create_job(team_a, "image", "repo/train:2", name="train", entity="team-a")
    assert made.version.version == 1
    assert team_a.set_job_alias("team-a", "train", 1, "prod")[1] == 0
    assert team_a.delete_job("team-a", "train", 0) == [0]
    assert team_a.delete_job("team-a", "train") == [1]
    assert roles.sql(None, "SELECT count(*) FROM launch_job_versions") == [(0,)]


def test_another_entity_neither_sees_nor_launches_a_job(roles: RoleSetup,
                                                        team_a: QueueStore) -> None:
    for login in ("team_b_submitter", "agent_b"):
        for table in ("launch_jobs", "launch_job_versions", "launch_job_aliases"):
            assert roles.sql(login, f"SELECT count(*) FROM {table}") == [(0,)], (login, table)
    assert roles.sql("agent_1", "SELECT count(*) FROM launch_job_versions") == [(1,)]
    for store in as_store(roles, "team_b_submitter"):
        with pytest.raises(NotFound, match="job 'train' not found in entity 'team-a'"):
            store.get_job_version("team-a", "train")
        for entity in ("team-a", "team-b"):
            with pytest.raises(NotFound, match="-j/--job: job 'train' not found"):
                job_request(store, LaunchRequest({"job": "train:prod"}, entity))
        # a delete of what it cannot see deletes nothing
        with pytest.raises(NotFound):
            store.delete_job("team-a", "train")
    assert roles.sql(None, "SELECT count(*) FROM launch_job_versions") == [(1,)]


def test_a_submitters_sql_stays_inside_its_entity(roles: RoleSetup,
                                                  team_a: QueueStore) -> None:
    digest = team_a.get_job_version("team-a", "train").recipe.code
    recipe = json.dumps({"kind": "code", "code": digest, "entry_point": ENTRY})
    insert_job = ("INSERT INTO launch_jobs (entity, name, next_version, created_at, "
                  "updated_at) VALUES (%s, 'forged', 0, 0, 0)")
    insert_version = ("INSERT INTO launch_job_versions (entity, name, version, digest, "
                      "recipe, created_at) VALUES (%s, %s, 9, 'sha256:x', %s, 0)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_b_submitter", insert_job, ("team-a",))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_b_submitter", insert_version, ("team-a", "train", recipe))
    # its own job naming team-a's tarball: refused, as an item naming it is
    roles.sql("team_b_submitter", insert_job, ("team-b",))
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_b_submitter", insert_version, ("team-b", "forged", recipe))
    for statement in ("UPDATE launch_job_versions SET recipe = '{}'",  # versions never change
                      "UPDATE launch_job_aliases SET alias = 'x'"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            roles.sql("team_a_submitter", statement)
    assert roles.sql("team_b_submitter", "UPDATE launch_job_aliases SET version = 5") == []
    assert roles.sql(None, "SELECT version FROM launch_job_aliases") == [(0,)]
    # an agent reads, never writes
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("agent_1", "DELETE FROM launch_job_aliases")
    for store in as_store(roles, "agent_1"):
        with pytest.raises(PermissionDenied):
            store.set_job_alias("team-a", "train", 0, "exp")


def test_a_job_of_another_entitys_code_is_refused(roles: RoleSetup,
                                                  team_a: QueueStore) -> None:
    digest = team_a.get_job_version("team-a", "train").recipe.code
    recipe = parse_recipe({"kind": "code", "code": digest}, "job create")
    for store in as_store(roles, "team_b_submitter"):
        with pytest.raises(InvalidInput, match="entity 'team-b' has no code tarball"):
            store.create_job_version("team-b", "stolen", recipe)
    assert roles.sql(None, "SELECT count(*) FROM launch_jobs WHERE entity = 'team-b' "
                           "AND name = 'stolen'") == [(0,)]
