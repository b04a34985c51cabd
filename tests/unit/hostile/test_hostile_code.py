"""Hostile code uploads: tarballs built directly with ``tarfile`` (``..`` paths,
absolute paths, symlinks and hard links pointing outside, devices, FIFOs, bombs),
stored in the real queue store (SQLite) as a job's code blob and unpacked by the
agent's own code. Each is refused with a clear error and nothing is written outside
the run's directory (nor a half-unpacked tree left inside it)."""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from launch_core import api
from launch_core.errors import InvalidInput
from launch_core.pipeline.pipeline import JobPipeline, StageFailed
from launch_core.pipeline.workspace import prepare_workdir, run_dir
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from launch_core.store.blobs import blob_digest, pack_directory, unpack
from tests.support.marker_jobs import Jobs

Entry = tuple[str, bytes, str]  # name, tar type, payload or link target


def tarball(*entries: Entry, **devices: int) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, kind, payload in entries:
            info = tarfile.TarInfo(name)
            info.type = kind
            data = payload.encode() if kind == tarfile.REGTYPE else b""
            if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
                info.linkname = payload
            info.size, info.devmajor, info.devminor = len(data), devices.get("major", 1), 3
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


FILE, LINK, HARD = tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE
OK = ("main.py", FILE, "print('hi')\n")
HOSTILE = {
    "dot-dot": ([OK, ("../escaped.txt", FILE, "owned")], "is outside the code directory"),
    "dot-dot-inside": ([("pkg/../../escaped.txt", FILE, "owned")], "is outside the code"),
    "absolute": ([("/tmp/relaunch-absolute-escape.txt", FILE, "owned")], "is outside the"),
    "symlink-absolute": ([("etc", LINK, "/etc")], "points outside the code directory"),
    "symlink-up": ([("pkg/up", LINK, "../../..")], "points outside the code directory"),
    "symlink-then-write": ([("out", LINK, ".."), ("out/escaped.txt", FILE, "owned")],
                           "points outside"),
    "symlink-via-symlink": ([("here", LINK, "."), ("here/up", LINK, ".."),
                             ("here/up/escaped.txt", FILE, "owned")], "code tarball: "),
    "hardlink-absolute": ([("passwd", HARD, "/etc/passwd")], "points outside"),
    "hardlink-up": ([("copy", HARD, "../escaped.txt")], "points outside"),
    "char-device": ([("null", tarfile.CHRTYPE, "")], "device, FIFO or other special"),
    "block-device": ([("disk", tarfile.BLKTYPE, "")], "device, FIFO or other special"),
    "fifo": ([("pipe", tarfile.FIFOTYPE, "")], "device, FIFO or other special"),
}


def _outside(root: Path, destination: Path) -> set[Path]:
    """Everything under ``root`` but ``destination``, its parents and the store file."""
    return {p for p in root.rglob("*") if not p.is_relative_to(destination)
            and not destination.is_relative_to(p) and not p.name.startswith("store.db")}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_tarball_is_refused_by_unpack_writing_nothing_outside(
        tmp_path: Path, case: str) -> None:
    entries, message = HOSTILE[case]
    destination = tmp_path / "run" / "code"
    before = _outside(tmp_path, destination)
    with pytest.raises(InvalidInput, match=message):
        unpack(tarball(*entries), destination)
    assert _outside(tmp_path, destination) == before
    assert not Path("/tmp/relaunch-absolute-escape.txt").exists()


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_code_blob_in_the_store_fails_the_job_with_nothing_left(
        sqlite_store: QueueStore, jobs: Jobs, tmp_path: Path, case: str) -> None:
    entries, message = HOSTILE[case]
    data = tarball(*entries)
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(code=blob_digest(data),
                                                       entry_point=["python", "main.py"]),
                                code_blob=data)
    before = _outside(tmp_path, run_dir(item.run_id))
    for _attempt in range(2):  # a retry is refused the same way, not fooled by leftovers
        with pytest.raises(InvalidInput, match=message):
            prepare_workdir(sqlite_store, item, [])
    assert _outside(tmp_path, run_dir(item.run_id)) == before
    assert not (run_dir(item.run_id) / "code").exists()
    assert not (run_dir(item.run_id) / "code.partial").exists()


def test_the_agent_fails_a_job_with_a_hostile_tarball_at_build_with_the_reason(
        sqlite_store: QueueStore, jobs: Jobs, agent_config: AgentConfig,
        tmp_path: Path) -> None:
    data = tarball(OK, ("../escaped.txt", FILE, "owned"))
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(
        code=blob_digest(data), entry_point=[sys.executable, "main.py"]), code_blob=data)
    [claimed] = sqlite_store.claim("agent-a", [jobs.queue.id])
    pipeline = JobPipeline(sqlite_store, agent_config, "agent-a", lambda line: None)
    with pytest.raises(StageFailed):
        asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token))
    ended = sqlite_store.get_item(item.id)
    assert ended.state == "failed" and ended.reason is not None
    assert "'../escaped.txt' is outside the code directory" in ended.reason
    assert not list(tmp_path.rglob("escaped.txt"))


def test_a_size_bomb_is_refused_from_its_headers_before_inflating(tmp_path: Path) -> None:
    data = tarball(OK, ("zeros.bin", FILE, "\0" * (4 * 2**20)))
    assert len(data) < 16 * 1024  # 4 MiB of zeros compress ~1000:1
    with pytest.raises(InvalidInput, match="unpacks to more than 1 MiB"):
        unpack(data, tmp_path / "dest", max_bytes=2**20)
    assert list((tmp_path / "dest").iterdir()) == []


def test_an_entry_count_bomb_is_refused(tmp_path: Path) -> None:
    data = tarball(*[(f"f{n}", FILE, "") for n in range(101)])
    with pytest.raises(InvalidInput, match="more than 100 entries"):
        unpack(data, tmp_path / "dest", max_entries=100)
    assert list((tmp_path / "dest").iterdir()) == []


def test_the_default_limits_are_set_and_a_normal_tree_unpacks(tmp_path: Path) -> None:
    from launch_core.store import blobs

    assert blobs.MAX_UNPACKED_BYTES == 2**30 and blobs.MAX_UNPACKED_ENTRIES == 100_000
    data = tarball(OK, ("pkg", tarfile.DIRTYPE, ""), ("pkg/util.py", FILE, "X = 1\n"),
                   ("pkg/alias.py", LINK, "util.py"), ("same.py", HARD, "main.py"))
    unpack(data, tmp_path / "dest")
    assert (tmp_path / "dest" / "pkg" / "alias.py").read_text() == "X = 1\n"
    assert (tmp_path / "dest" / "same.py").read_text() == "print('hi')\n"


@pytest.mark.parametrize("data", [b"not a tarball", b"\x1f\x8b\x08\x00garbage",
                                  tarball(OK)[:40]], ids=["not-gzip", "bad-gzip", "truncated"])
def test_a_corrupt_tarball_is_a_clear_error(tmp_path: Path, data: bytes) -> None:
    with pytest.raises(InvalidInput, match="^code tarball: "):
        unpack(data, tmp_path / "dest")


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: (d / "passwd").symlink_to("/etc/passwd"), "link 'passwd' points outside"),
    (lambda d: (d / "up").symlink_to("../.."), "link 'up' points outside"),
    (lambda d: os.mkfifo(d / "pipe"), "'pipe' is a device, FIFO"),
])
def test_a_code_directory_the_agent_would_refuse_is_refused_at_enqueue(
        sqlite_store: QueueStore, jobs: Jobs, tmp_path: Path, make: Any,
        message: str) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("print('hi')\n")
    make(code)
    with pytest.raises(InvalidInput, match=f"^--code: .*{message}"):
        api.launch(sqlite_store, "q", {"entry_point": ["python", "main.py"]}, entity="team",
                   code_dir=code)
    assert sqlite_store.pending(jobs.queue.id) == []
    assert pack_directory(code, portable=False)  # a build context is hashed as it is


def test_a_code_directory_with_more_files_than_the_agent_unpacks_is_refused_at_enqueue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from launch_core.store import blobs

    monkeypatch.setattr(blobs, "MAX_UNPACKED_ENTRIES", 10)  # the rule, at a testable size
    code = tmp_path / "code"
    code.mkdir()
    for n in range(11):
        (code / f"f{n}.py").write_text("")
    with pytest.raises(InvalidInput, match="holds 11 files, over the 10 the agent unpacks"):
        pack_directory(code)
