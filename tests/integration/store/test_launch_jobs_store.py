"""Launch jobs in the store (launch_core/store/jobs.py) on SQLite and PostgreSQL:
versions by content digest, aliases that move, ``latest``, deletes, and a failed
create that leaves nothing behind."""

from __future__ import annotations

import pytest
from sqlalchemy import Table, func, select

from launch_core.errors import InvalidInput, NotFound
from launch_core.spec.job_recipe import JobRecipe
from launch_core.store import QueueStore
from launch_core.store.blobs import blob_digest
from launch_core.store.schema import blobs, launch_job_versions, launch_jobs

TARBALL = b"not really a tarball, but bytes with a digest"


def image(tag: str, **fields: object) -> JobRecipe:
    return JobRecipe.model_validate({"kind": "image", "image": f"repo/train:{tag}", **fields})


def count(store: QueueStore, table: Table) -> int:
    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_changed_content_is_a_new_version_and_the_same_content_is_not(
        store: QueueStore) -> None:
    first = store.create_job_version("team", "train", image("1"), aliases=["prod"])
    assert (first.created, first.version.version, first.version.all_aliases) == (
        True, 0, ("latest", "prod"))
    second = store.create_job_version("team", "train", image("2"))
    assert (second.created, second.version.version) == (True, 1)
    # v0's content again: no v2, and the alias given moves to v0
    again = store.create_job_version("team", "train", image("1"), aliases=["exp"])
    assert (again.created, again.version.version, again.moved) == (False, 0, {"exp": None})
    assert [v.version for v in store.job_versions("team", "train")] == [1, 0]
    assert store.get_job_version("team", "train").version == 1
    assert store.get_job_version("team", "train", "latest").version == 1
    assert store.get_job_version("team", "train", "exp").recipe.image == "repo/train:1"
    # an entry point is content too
    third = store.create_job_version("team", "train", image("1", entry_point=["python3"]))
    assert (third.created, third.version.version) == (True, 2)


def test_an_alias_names_one_version_at_a_time(store: QueueStore) -> None:
    store.create_job_version("team", "train", image("1"), aliases=["prod"])
    moved = store.create_job_version("team", "train", image("2"), aliases=["prod"])
    assert moved.moved == {"prod": 0}
    assert store.get_job_version("team", "train", "v0").aliases == ()
    version, before = store.set_job_alias("team", "train", 0, "prod")
    assert (version.aliases, before) == (("prod",), 1)
    assert store.get_job_version("team", "train", "prod").version == 0
    for bad in ("latest", "v3", "no/slash"):
        with pytest.raises(InvalidInput, match="alias"):
            store.set_job_alias("team", "train", 0, bad)
    with pytest.raises(NotFound, match="no version v7"):
        store.set_job_alias("team", "train", 7, "prod")


def test_unknown_jobs_versions_and_aliases_are_not_found(store: QueueStore) -> None:
    with pytest.raises(NotFound, match="job 'train' not found in entity 'team'"):
        store.get_job_version("team", "train")
    store.create_job_version("team", "train", image("1"))
    with pytest.raises(NotFound, match="no version v4"):
        store.get_job_version("team", "train", "v4")
    with pytest.raises(NotFound, match="no alias 'prod'"):
        store.get_job_version("team", "train", "prod")
    with pytest.raises(NotFound, match="not found in entity 'other'"):  # one entity's job
        store.get_job_version("other", "train")


def test_deleting_a_version_never_reuses_its_number(store: QueueStore) -> None:
    for tag in ("1", "2", "3"):
        store.create_job_version("team", "train", image(tag), aliases=[f"t{tag}"])
    assert store.delete_job("team", "train", 2) == [2]
    assert store.get_job_version("team", "train").version == 1  # latest moved back
    with pytest.raises(NotFound, match="no alias 't3'"):  # its alias went with it
        store.get_job_version("team", "train", "t3")
    assert store.create_job_version("team", "train", image("4")).version.version == 3
    assert store.delete_job("team", "train") == [0, 1, 3]
    assert (count(store, launch_jobs), count(store, launch_job_versions)) == (0, 0)
    with pytest.raises(NotFound):
        store.delete_job("team", "train")
    # a new job of that name starts again at v0
    assert store.create_job_version("team", "train", image("5")).version.version == 0


def test_deleting_the_only_version_deletes_the_job(store: QueueStore) -> None:
    store.create_job_version("team", "train", image("1"))
    assert store.delete_job("team", "train", 0) == [0]
    assert count(store, launch_jobs) == 0


def test_a_code_version_stores_its_tarball_once_as_the_entitys(
        store: QueueStore) -> None:
    digest = blob_digest(TARBALL)
    recipe = JobRecipe.model_validate({"kind": "code", "code": digest,
                                       "entry_point": ["python3", "main.py"]})
    store.create_job_version("team", "train", recipe, code_blob=TARBALL)
    store.create_job_version("team", "other", recipe, code_blob=TARBALL)
    assert count(store, blobs) == 1
    assert store.get_code("team", digest) == TARBALL


def test_a_failed_create_leaves_no_version_and_no_tarball(store: QueueStore,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    digest = blob_digest(TARBALL)
    recipe = JobRecipe.model_validate({"kind": "code", "code": digest})

    def fault(*_args: object) -> None:  # after the tarball and the version are written
        raise OSError("connection lost")

    with monkeypatch.context() as patch:
        patch.setattr(store, "_point", fault)
        with pytest.raises(OSError):
            store.create_job_version("team", "train", recipe, aliases=["prod"],
                                     code_blob=TARBALL)
    assert (count(store, blobs), count(store, launch_jobs),
            count(store, launch_job_versions)) == (0, 0, 0)
    with pytest.raises(InvalidInput, match="alias"):  # refused before anything is written
        store.create_job_version("team", "train", recipe, aliases=["latest"],
                                 code_blob=TARBALL)
    with pytest.raises(InvalidInput, match="code: the tarball given is not"):
        store.create_job_version("team", "train", recipe, code_blob=TARBALL + b"!")
    # code the entity never uploaded: refused, as a launch naming it is
    with pytest.raises(InvalidInput, match="has no code tarball"):
        store.create_job_version("team", "train", recipe)
    assert (count(store, blobs), count(store, launch_jobs),
            count(store, launch_job_versions)) == (0, 0, 0)
