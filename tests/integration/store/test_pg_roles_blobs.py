"""Code tarballs under scripts/pg-roles.sql: a submitter sees and stores only its
entities' tarballs and launches only their code; an agent reads only the tarballs of
the entities it serves, by the job's queue's entity. Real PostgreSQL server, roles
from tests/support/pg_roles.py (agent_b serves team-b, agent_shared every
entity)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from launch_core import api
from launch_core.errors import InvalidInput, NotFound
from launch_core.pipeline.workspace import prepare_workdir
from launch_core.store import QueueStore
from launch_core.store.blobs import blob_digest, pack_directory
from tests.support.blob_owner import ENTRY, write_code, write_item
from tests.support.pg_roles import ITEM_COLUMNS, RoleSetup, roles_with_cpu_queues

SECRET = "team a's model, not for team b"


@pytest.fixture(scope="module")
def roles(postgres_admin_url: str) -> Iterator[RoleSetup]:
    yield from roles_with_cpu_queues(postgres_admin_url)


def launch_code(roles: RoleSetup, login: str, entity: str, code: Path) -> str:
    """Launch ``code`` as ``login`` (uploading it); return its digest."""
    store = QueueStore(roles.url(login))
    try:
        item = api.launch(store, "cpu", {"entry_point": ENTRY}, entity=entity, code_dir=code)
    finally:
        store.dispose()
    assert item.spec.code is not None
    return item.spec.code


def queue_id(roles: RoleSetup, entity: str) -> int:
    return int(roles.sql(None, "SELECT id FROM queues WHERE entity = %s", (entity,))[0][0])


def jobs_naming(roles: RoleSetup, digest: str, entity: str) -> int:
    return int(roles.sql(None, "SELECT count(*) FROM items i JOIN queues q ON q.id = "
                               "i.queue_id WHERE q.entity = %s AND i.spec->>'code' = %s",
                         (entity, digest))[0][0])


def test_a_submitter_sees_only_its_entitys_tarballs(roles: RoleSetup, tmp_path: Path):
    digest = launch_code(roles, "team_a_submitter", "team-a",
                         write_code(tmp_path / "a", SECRET + " (digests)"))
    assert (digest,) in roles.sql("team_a_submitter", "SELECT digest FROM blobs")
    assert (digest,) not in roles.sql("team_b_submitter", "SELECT digest FROM blobs")
    assert roles.sql("team_b_submitter", "SELECT count(*) FROM blobs WHERE digest = %s",
                     (digest,)) == [(0,)]


def test_a_submitter_cannot_launch_another_entitys_code(roles: RoleSetup, tmp_path: Path):
    digest = launch_code(roles, "team_a_submitter", "team-a",
                         write_code(tmp_path / "a", SECRET + " (launch)"))
    store = QueueStore(roles.url("team_b_submitter"))
    try:
        with pytest.raises(InvalidInput) as refused:
            api.launch(store, "cpu", {"code": digest, "entry_point": ENTRY}, entity="team-b")
    finally:
        store.dispose()
    assert str(refused.value).startswith("code: ") and "\n" not in str(refused.value)
    assert jobs_naming(roles, digest, "team-b") == 0
    # Nor with its own SQL: an item naming the digest, or the tarball stored as team-a's
    # (its bytes do match the digest).
    spec = f'{{"code": "{digest}", "entry_point": ["python3", "main.py"]}}'
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_b_submitter", f"INSERT INTO items ({ITEM_COLUMNS}) VALUES "
                  "(%s, 'queued', 2, 0, 'rawsqlcode01', %s, 3, 0, current_user, 0)",
                  (queue_id(roles, "team-b"), spec))
    data = pack_directory(write_code(tmp_path / "b", "team b's own"))
    insert_blob = ("INSERT INTO blobs (entity, digest, size, data, created_at) "
                   "VALUES (%s, %s, %s, %s, 0)")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        roles.sql("team_b_submitter", insert_blob,
                  ("team-a", blob_digest(data), len(data), data))
    roles.sql("team_b_submitter", insert_blob, ("team-b", blob_digest(data), len(data), data))
    assert jobs_naming(roles, digest, "team-b") == 0


def test_an_agent_reads_only_its_entities_tarballs(roles: RoleSetup, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(tmp_path / "data"))
    digest = launch_code(roles, "team_a_submitter", "team-a",
                         write_code(tmp_path / "a", SECRET + " (agent)"))
    # A team-b job naming team-a's digest, written as the tables' owner (a row from
    # before this release, or from a submitter before the script's item check).
    forged = write_item(roles.url(), queue_id(roles, "team-b"), digest)
    assert roles.sql("agent_b", "SELECT count(*) FROM blobs WHERE digest = %s",
                     (digest,)) == [(0,)]
    for login in ("agent_b", "agent_shared"):  # serving team-b alone, or every entity
        agent = QueueStore(roles.url(login))
        try:
            with pytest.raises(NotFound, match="code"):
                prepare_workdir(agent, agent.get_item(forged), [])
        finally:
            agent.dispose()
    assert not list((tmp_path / "data").rglob("main.py"))
    # team-a's own jobs still get their code, from an agent serving team-a.
    own = write_item(roles.url(), queue_id(roles, "team-a"), digest)
    agent = QueueStore(roles.url("agent_shared"))
    try:
        workdir = prepare_workdir(agent, agent.get_item(own), [])
    finally:
        agent.dispose()
    assert SECRET in (workdir / "main.py").read_text()


def test_two_entities_launching_the_same_code_each_get_it(relaunch, roles: RoleSetup,
                                                          tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch):
    """The control, through the console script: --code uploads in the launch's own
    transaction, so each entity owns its copy of the same bytes."""
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(tmp_path / "data"))
    code = write_code(tmp_path / "shared", "the same bytes")
    jobs = {}
    for login, entity in (("team_a_submitter", "team-a"), ("team_b_submitter", "team-b"),
                          ("team_b_submitter", "team-b")):
        result = relaunch("launch", "-q", "cpu", "-e", entity, "--code", str(code),
                          "-E", "python3 main.py", "--json",
                          env={"RELAUNCH_DATABASE_URL": roles.url(login)})
        assert result.code == 0, result.err
        jobs[entity] = int(result.json()["id"])
    for login, entity in (("agent_1", "team-a"), ("agent_b", "team-b")):
        agent = QueueStore(roles.url(login))
        try:
            workdir = prepare_workdir(agent, agent.get_item(jobs[entity]), [])
        finally:
            agent.dispose()
        assert "the same bytes" in (workdir / "main.py").read_text()
