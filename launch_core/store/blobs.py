"""Content-addressed code tarballs kept by the store."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import posixpath
import tarfile
import zlib
from pathlib import Path

from sqlalchemy import Connection, insert, select

from launch_core.errors import CodeTooLarge, InvalidInput, NotFound
from launch_core.store.base import StoreBase
from launch_core.store.records import QueueItem
from launch_core.store.schema import blobs, queues

DEFAULT_MAX_CODE_BYTES = 50 * 1024 * 1024
MAX_UNPACKED_BYTES = 1024**3  # a code tarball inflates to at most this much...
MAX_UNPACKED_ENTRIES = 100_000  # ...in at most this many files, folders and links
_SKIPPED = {".git", "__pycache__", ".venv", ".mypy_cache", ".pytest_cache", ".ruff_cache"}


def pack_directory(directory: Path, max_bytes: int = DEFAULT_MAX_CODE_BYTES, *,
                   portable: bool = True) -> bytes:
    """A reproducible .tar.gz of ``directory`` (same content, same bytes).

    Skips VCS and cache folders. Raises InvalidInput for a missing directory and,
    when ``portable`` (a code upload), for what ``unpack`` would refuse (a link
    pointing outside, a FIFO or device), and CodeTooLarge when the tarball would
    exceed ``max_bytes``.
    """
    if not directory.is_dir():
        raise InvalidInput(f"--code: {directory} is not a directory")
    files = sorted(files_to_pack(directory))
    if portable and len(files) > MAX_UNPACKED_ENTRIES:
        raise CodeTooLarge(f"--code: {directory} holds {len(files)} files, over the "
                           f"{MAX_UNPACKED_ENTRIES} the agent unpacks")
    raw_size = sum(p.lstat().st_size for p in files)
    if raw_size > 4 * max_bytes:  # no need to compress to know it will not fit
        raise CodeTooLarge(f"--code: {directory} holds {raw_size / 2**20:.1f} MiB, "
                           f"over the {max_bytes / 2**20:.0f} MiB limit")
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False,
                    filter=checked_for_packing if portable else _normalise)
    data = buffer.getvalue()
    if len(data) > max_bytes:
        raise CodeTooLarge(f"--code: {directory} packs to {len(data) / 2**20:.1f} MiB, "
                           f"over the {max_bytes / 2**20:.0f} MiB limit")
    return data


def files_to_pack(directory: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d not in _SKIPPED]
        found.extend(Path(root) / d for d in dirs if (Path(root) / d).is_symlink())
        found.extend(Path(root) / n for n in names if not n.endswith(".pyc"))
    return found


def checked_for_packing(info: tarfile.TarInfo) -> tarfile.TarInfo:
    try:
        _check_member(info)
    except InvalidInput as exc:  # refused now rather than by the agent, later
        raise InvalidInput(str(exc).replace("code tarball: ", "--code: ", 1)) from None
    return _normalise(info)


def _normalise(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    info.mode = 0o755 if info.mode & 0o100 else 0o644
    return info


def unpack(data: bytes, destination: Path, *, max_bytes: int = MAX_UNPACKED_BYTES,
           max_entries: int = MAX_UNPACKED_ENTRIES) -> None:
    """Extract a code tarball into ``destination``.

    Raises InvalidInput, before writing anything, for an entry that is absolute or
    climbs out (``..``), a link pointing outside, a device, FIFO or other special
    file, more than ``max_entries`` entries or more than ``max_bytes`` unpacked.
    """
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = _checked_members(tar, max_bytes, max_entries)
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, EOFError, zlib.error) as exc:
        raise InvalidInput(f"code tarball: {str(exc).splitlines()[0] if str(exc) else exc!r}"
                           ) from None


def _checked_members(tar: tarfile.TarFile, max_bytes: int, max_entries: int
                     ) -> list[tarfile.TarInfo]:
    members, total = [], 0
    for member in tar:  # headers one by one: a bomb is refused before it is inflated
        members.append(member)
        total += member.size
        if len(members) > max_entries:
            raise InvalidInput(f"code tarball: more than {max_entries} entries")
        if total > max_bytes:
            raise InvalidInput(f"code tarball: unpacks to more than "
                               f"{max_bytes / 2**20:.0f} MiB")
        _check_member(member)
    return members


def _check_member(member: tarfile.TarInfo) -> None:
    name = member.name
    if name.startswith("/") or ".." in name.split("/"):
        raise InvalidInput(f"code tarball: entry {name[:80]!r} is outside the code directory")
    if member.issym() or member.islnk():
        target = member.linkname
        # a symlink is relative to its own folder, a hard link to the archive's root
        base = posixpath.dirname(name) if member.issym() else ""
        inside = posixpath.normpath(posixpath.join(base, target))
        if target.startswith("/") or inside == ".." or inside.startswith("../"):
            raise InvalidInput(f"code tarball: link {name[:80]!r} points outside the code "
                               f"directory ({target[:80]!r})")
    elif not (member.isfile() or member.isdir()):
        raise InvalidInput(f"code tarball: entry {name[:80]!r} is a device, FIFO or other "
                           "special file")


def blob_digest(data: bytes) -> str:
    """The content address of a tarball: ``sha256:<hex>``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_blob_digest(code: str) -> bool:
    """Does a spec's ``code`` name a tarball of the blob table (not a code store)?"""
    return code.startswith("sha256:")


def not_owned(entity: str, digest: str) -> InvalidInput:
    """The refusal of a spec naming code ``entity`` did not upload. It reads the same
    whether another entity has that tarball or nobody has: it tells nothing."""
    return InvalidInput(f"code: entity {entity!r} has no code tarball {digest}; give "
                        "the code directory instead (--code DIR)")


class BlobOps(StoreBase):
    """Stores code tarballs by (owner entity, sha256 digest).

    A tarball belongs to the entity that uploaded it: an enqueue names only its
    entity's tarballs, and a job's tarball is read by its queue's entity.
    """

    def _attach_code(self, conn: Connection, entity: str, code: str | None,
                     data: bytes | None) -> None:
        """Store ``data`` (the tarball ``code`` names) as ``entity``'s, or check that
        ``entity`` owns ``code``. Raises InvalidInput naming the field ``code``."""
        if data is not None:
            if code is None or blob_digest(data) != code:
                raise InvalidInput("code: the tarball given is not the one the spec names")
            if not self._owns(conn, entity, code):
                conn.execute(insert(blobs).values(entity=entity, digest=code, size=len(data),
                                                  data=data, created_at=self.clock()))
        elif code is not None and is_blob_digest(code) and not self._owns(conn, entity, code):
            raise not_owned(entity, code)

    def _owns(self, conn: Connection, entity: str, digest: str) -> bool:
        query = select(blobs.c.digest).where(blobs.c.entity == entity, blobs.c.digest == digest)
        return conn.execute(query).first() is not None

    def check_code_owner(self, entity: str, code: str | None) -> None:
        """Raise InvalidInput (naming ``code``) when ``code`` is a tarball digest that
        ``entity`` did not upload."""
        if code is not None and is_blob_digest(code):
            with self._read() as conn:
                self._attach_code(conn, entity, code, None)

    def get_code(self, entity: str, digest: str) -> bytes:
        """``entity``'s tarball stored under ``digest``. Raises NotFound."""
        query = select(blobs.c.data).where(blobs.c.entity == entity, blobs.c.digest == digest)
        with self._read() as conn:
            data = conn.execute(query).scalar()
        if data is None:
            raise NotFound(f"code blob {digest} not found in entity {entity!r}")
        return bytes(data)

    def get_item_code(self, item: QueueItem) -> bytes:
        """The tarball a job names, read as its queue's entity's. Raises NotFound."""
        digest = str(item.spec.code)
        query = (select(blobs.c.data)
                 .join(queues, queues.c.entity == blobs.c.entity)
                 .where(queues.c.id == item.queue_id, blobs.c.digest == digest))
        with self._read() as conn:
            data = conn.execute(query).scalar()
        if data is None:
            raise NotFound(f"code blob {digest} not found in job {item.id}'s entity")
        return bytes(data)
