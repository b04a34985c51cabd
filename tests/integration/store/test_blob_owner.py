"""A code tarball belongs to the entity that uploaded it. A launch names only its own
entity's code, and the agent reads a job's tarball by (the job's queue's entity,
digest). SQLite and PostgreSQL as one user; tests/integration/store/test_pg_roles_blobs.py has
the database roles."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from launch_core import api
from launch_core.errors import InvalidInput, NotFound
from launch_core.pipeline.workspace import prepare_workdir
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueRecord, QueueStore
from launch_core.store.blobs import blob_digest
from launch_core.store.schema import blobs
from tests.support.blob_owner import ENTRY, write_code, write_item

SECRET = "team a's model, not for team b"


@pytest.fixture
def teams(store: QueueStore) -> tuple[QueueRecord, QueueRecord]:
    return (api.create_queue(store, "cpu", "local-process", entity="team-a"),
            api.create_queue(store, "cpu", "local-process", entity="team-b"))


def upload(store: QueueStore, entity: str, code: Path) -> str:
    """Launch ``code`` in ``entity``'s queue (so uploading it); return its digest."""
    item = api.launch(store, "cpu", {"entry_point": ENTRY}, entity=entity, code_dir=code)
    assert item.spec.code is not None
    return item.spec.code


def copies(store: QueueStore, digest: str) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(blobs.c.digest == digest))
                   .scalar_one())


def test_a_launch_naming_another_entitys_code_is_refused_and_stores_nothing(
        store: QueueStore, teams: tuple[QueueRecord, QueueRecord], tmp_path: Path) -> None:
    digest = upload(store, "team-a", write_code(tmp_path / "a", SECRET))
    never_uploaded = blob_digest(b"nobody's code")
    messages = []
    for code in (digest, never_uploaded):
        for call in (api.prepare_launch, api.launch):  # --dry-run, then the launch
            with pytest.raises(InvalidInput) as refused:
                call(store, "cpu", {"code": code, "entry_point": ENTRY}, entity="team-b")
            message = str(refused.value)
            assert message.startswith("code: ") and "\n" not in message, message
            messages.append(message.replace(code, "DIGEST"))
    # Someone else's digest reads like one nobody uploaded: the refusal tells nothing.
    assert len(set(messages)) == 1, messages
    assert store.list_items(entity="team-b") == []
    assert copies(store, digest) == 1


def test_enqueue_refuses_code_its_entity_did_not_upload(
        store: QueueStore, teams: tuple[QueueRecord, QueueRecord], tmp_path: Path) -> None:
    """The store's own check, under api.launch (and in the enqueue transaction)."""
    _a_queue, b_queue = teams
    digest = upload(store, "team-a", write_code(tmp_path / "a", SECRET))
    named = LaunchSpec(code=digest, entry_point=ENTRY)
    with pytest.raises(InvalidInput, match="^code: "):
        store.enqueue(b_queue, named)
    # A tarball given with it must be the one the spec names.
    with pytest.raises(InvalidInput, match="^code: "):
        store.enqueue(b_queue, named, code_blob=b"other bytes")
    assert store.list_items(entity="team-b") == []
    assert copies(store, digest) == 1


def test_two_entities_uploading_the_same_code_each_own_a_copy(
        store: QueueStore, teams: tuple[QueueRecord, QueueRecord], tmp_path: Path) -> None:
    code = write_code(tmp_path / "shared", "same bytes")
    digest = upload(store, "team-a", code)
    assert upload(store, "team-b", code) == digest
    assert upload(store, "team-b", code) == digest  # again: its copy is reused
    assert copies(store, digest) == 2
    assert store.get_code("team-a", digest) == store.get_code("team-b", digest)
    # Now team-b owns it too, so it may name the digest without the directory.
    named = api.launch(store, "cpu", {"code": digest, "entry_point": ENTRY}, entity="team-b")
    assert named.spec.code == digest


def test_the_agent_reads_a_jobs_code_by_its_queues_entity(
        store: QueueStore, store_url: str, teams: tuple[QueueRecord, QueueRecord],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(tmp_path / "data"))
    a_queue, b_queue = teams
    digest = upload(store, "team-a", write_code(tmp_path / "a", SECRET))
    # A team-b job naming team-a's digest, written past enqueue's check.
    forged = store.get_item(write_item(store_url, b_queue.id, digest))
    with pytest.raises(NotFound, match="code"):
        prepare_workdir(store, forged, [])
    assert not list((tmp_path / "data").rglob("main.py"))
    with pytest.raises(NotFound):
        store.get_code("team-b", digest)
    # team-a's own job, with the same spec, gets its code.
    own = store.get_item(write_item(store_url, a_queue.id, digest))
    assert SECRET in (prepare_workdir(store, own, []) / "main.py").read_text()


def test_launch_with_code_works_through_the_cli(relaunch, store: QueueStore, store_url: str,
                                                tmp_path: Path) -> None:
    """The control: --code uploads in the launch's own transaction, for each entity."""
    env = {"RELAUNCH_DATABASE_URL": store_url}
    code = write_code(tmp_path / "code", "hello")
    jobs = []
    for entity in ("team-a", "team-a", "team-b"):
        if entity not in {queue.entity for queue, _counts in store.list_queues()}:
            made = relaunch("queue", "create", "cpu", "-r", "local-process", "-e", entity,
                            env=env)
            assert made.code == 0, made.err
        result = relaunch("launch", "-q", "cpu", "-e", entity, "--code", str(code),
                          "-E", "python3 main.py", "--json", env=env)
        assert result.code == 0, result.err
        jobs.append(result.json())
    digest = store.get_item(jobs[0]["id"]).spec.code
    assert digest is not None and store.get_item(jobs[2]["id"]).spec.code == digest
    assert copies(store, digest) == 2
    assert all(blob_digest(store.get_code(entity, digest)) == digest
               for entity in ("team-a", "team-b"))
