"""Code tarballs: reproducible packing, size limit, unpacking, storage by digest."""

from __future__ import annotations

import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from launch_core.errors import CodeTooLarge, InvalidInput, NotFound
from launch_core.store import QueueStore
from launch_core.store.blobs import blob_digest, pack_directory, unpack
from tests.support.store_helpers import make_queue, spec

MIB = 1024 * 1024


def write_tree(root: Path) -> Path:
    """A small project: nested files, an executable, and folders that must be skipped."""
    (root / "pkg" / "sub").mkdir(parents=True)
    (root / "train.py").write_text("print('train')\n")
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "sub" / "model.py").write_text("WEIGHTS = [1, 2, 3]\n")
    run = root / "run.sh"
    run.write_text("#!/bin/sh\nexec python train.py\n")
    run.chmod(0o755)
    (root / ".git" / "objects").mkdir(parents=True)
    (root / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\x00bytecode")
    (root / "stray.pyc").write_bytes(b"\x00bytecode")
    return root


def members(data: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        return sorted(tar.getnames())


def test_pack_directory_is_reproducible_regardless_of_mtimes(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "a")
    first = pack_directory(source)
    for n, path in enumerate(sorted(source.rglob("*"))):
        os.utime(path, (1_000_000 + n * 7919, 1_000_000 + n * 7919))
    assert pack_directory(source) == first


def test_pack_directory_is_the_same_for_a_copy_made_elsewhere(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "a")
    copy = tmp_path / "elsewhere" / "b"
    shutil.copytree(source, copy)  # new mtimes, other parent path
    (copy / "train.py").chmod(0o600)  # non-executable modes are normalised
    assert pack_directory(copy) == pack_directory(source)


def test_pack_directory_changes_when_content_changes(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "a")
    before = pack_directory(source)
    (source / "pkg" / "sub" / "model.py").write_text("WEIGHTS = [1, 2, 4]\n")
    assert pack_directory(source) != before


def test_pack_directory_skips_git_pycache_and_bytecode(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "a")
    assert members(pack_directory(source)) == [
        "pkg/__init__.py", "pkg/sub/model.py", "run.sh", "train.py"]


def test_pack_directory_of_a_missing_directory_raises_invalid_input(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="not a directory"):
        pack_directory(tmp_path / "missing")


def test_code_that_packs_above_the_limit_raises_code_too_large(tmp_path: Path) -> None:
    source = tmp_path / "big"
    source.mkdir()
    (source / "weights.bin").write_bytes(os.urandom(int(1.5 * MIB)))  # incompressible
    with pytest.raises(CodeTooLarge) as raised:
        pack_directory(source, max_bytes=MIB)
    message = str(raised.value)
    assert str(source) in message
    assert "1 MiB limit" in message
    assert "1.5 MiB" in message


def test_code_far_above_the_limit_is_refused_before_compressing(tmp_path: Path) -> None:
    source = tmp_path / "huge"
    source.mkdir()
    (source / "zeros.bin").write_bytes(bytes(5 * MIB))  # would compress well
    with pytest.raises(CodeTooLarge) as raised:
        pack_directory(source, max_bytes=MIB)
    assert str(source) in str(raised.value)
    assert "5.0 MiB" in str(raised.value)
    assert "1 MiB limit" in str(raised.value)


def test_code_just_under_the_limit_packs(tmp_path: Path) -> None:
    source = tmp_path / "ok"
    source.mkdir()
    (source / "weights.bin").write_bytes(os.urandom(MIB // 2))
    assert len(pack_directory(source, max_bytes=MIB)) <= MIB


def test_unpack_round_trips_contents_and_executable_bits(tmp_path: Path) -> None:
    source = write_tree(tmp_path / "a")
    target = tmp_path / "out"
    unpack(pack_directory(source), target)
    files = sorted(str(p.relative_to(target)) for p in target.rglob("*") if p.is_file())
    assert files == ["pkg/__init__.py", "pkg/sub/model.py", "run.sh", "train.py"]
    for name in files:
        assert (target / name).read_bytes() == (source / name).read_bytes()
    assert os.access(target / "run.sh", os.X_OK)
    assert not os.access(target / "train.py", os.X_OK)
    assert pack_directory(target) == pack_directory(source)


def test_unpack_refuses_paths_outside_the_destination(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        payload = b"owned"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(InvalidInput, match="'../escaped.txt' is outside the code directory"):
        unpack(buffer.getvalue(), tmp_path / "dest")
    assert not (tmp_path / "escaped.txt").exists()


def test_enqueue_with_code_blob_stores_it_by_digest(store: QueueStore, tmp_path: Path) -> None:
    data = pack_directory(write_tree(tmp_path / "a"))
    digest = blob_digest(data)
    queue = make_queue(store)
    item = store.enqueue(queue, spec(image=None, code=digest), code_blob=data)
    assert item.spec.code == digest
    assert store.get_code("team", digest) == data
    assert isinstance(store.get_code("team", digest), bytes)


def test_enqueueing_the_same_code_twice_keeps_one_blob(
        store: QueueStore, tmp_path: Path) -> None:
    data = pack_directory(write_tree(tmp_path / "a"))
    digest = blob_digest(data)
    queue = make_queue(store)
    first = store.enqueue(queue, spec(image=None, code=digest), code_blob=data)
    second = store.enqueue(queue, spec(image=None, code=digest), code_blob=data)
    assert first.id != second.id
    assert store.get_code("team", digest) == data


def test_get_code_of_an_unknown_digest_raises_not_found(store: QueueStore) -> None:
    with pytest.raises(NotFound):
        store.get_code("team", blob_digest(b"never stored"))


def test_a_failed_enqueue_leaves_no_blob_behind(store: QueueStore, tmp_path: Path) -> None:
    data = pack_directory(write_tree(tmp_path / "a"))
    digest = blob_digest(data)
    queue = make_queue(store)
    store.delete_queue("team", "q")  # the queue row is gone: the item insert must fail
    with pytest.raises(IntegrityError):
        store.enqueue(queue, spec(image=None, code=digest), code_blob=data)
    with pytest.raises(NotFound):
        store.get_code("team", digest)
