"""``--code`` tarballs too large for the queue store's blob table (50 MiB), kept in an
``s3://`` or ``gs://`` code store instead (``context_stores``).

- The submitter names the store with RELAUNCH_CODE_STORE (``s3://BUCKET[/PREFIX]``
  or ``gs://BUCKET[/PREFIX]``). Code within the limit still goes to the blob table;
  larger code (up to ``MAX_STORED_CODE_BYTES``) is packed to a file and streamed to
  the store, and the job's ``code`` is the object's URI:
  ``<prefix>/sha256-<sha256 of the tarball>-<submission>.tar.gz``. Each submission
  has its own object, so removing one never takes another job's code.
- The agent reads only objects inside its own RELAUNCH_CODE_STORE (a job cannot
  make it fetch other objects), streams the object to a file, checks its sha256
  against the name and unpacks it as any code tarball; it deletes the object when
  the item ends (finished, failed, cancelled), not when it is requeued.
- Both sides use their cloud's default credentials (boto3's chain, application-
  default credentials) and honour AWS_ENDPOINT_URL / STORAGE_EMULATOR_HOST.
"""

from __future__ import annotations

import gzip
import os
import re
import secrets
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from launch_core.errors import CodeTooLarge, InvalidInput
from launch_core.storage.context_stores import file_digest, open_object_store, parse_store_uri
from launch_core.store.blobs import checked_for_packing, files_to_pack  # the packing rules

CODE_STORE_ENV = "RELAUNCH_CODE_STORE"
MAX_STORED_CODE_BYTES = 2 * 1024**3
STORED_CODE = re.compile(
    r"^(s3|gs)://[^/]+/(.+/)?sha256-(?P<hex>[0-9a-f]{64})-[0-9a-f]{16}\.tar\.gz$")


def code_store(environ: Mapping[str, str] | None = None) -> str | None:
    """The code store named by RELAUNCH_CODE_STORE, if any."""
    value = (os.environ if environ is None else environ).get(CODE_STORE_ENV, "").strip()
    return value or None


def is_stored_code(code: str | None) -> bool:
    """Whether a job's ``code`` is an object in a code store (not a blob digest)."""
    return bool(code and STORED_CODE.match(code))


def pack_to_file(directory: Path, out: Path, max_bytes: int = MAX_STORED_CODE_BYTES) -> None:
    """``directory`` as a reproducible .tar.gz written to ``out`` as it is packed, with
    the blob table's file selection. Raises CodeTooLarge past ``max_bytes``."""
    if not directory.is_dir():
        raise InvalidInput(f"--code: {directory} is not a directory")
    with out.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0,
                                              filename="") as gz, \
            tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(files_to_pack(directory)):
            tar.add(path, arcname=str(path.relative_to(directory)), recursive=False,
                    filter=checked_for_packing)
            if raw.tell() > max_bytes:
                break
    if out.stat().st_size > max_bytes:
        raise CodeTooLarge(f"--code: {directory} packs to more than "
                           f"{max_bytes / 2**20:.0f} MiB, the code store's limit")


def store_code(directory: Path, store_uri: str, *, upload: bool = True) -> str:
    """Pack ``directory`` and stream it to the code store (``upload=False``: only say
    where it would go, for a dry run); return the object's URI, the job's ``code``."""
    store = open_object_store(store_uri, field=CODE_STORE_ENV)
    owner = secrets.token_hex(8)
    with tempfile.TemporaryDirectory(prefix="relaunch-code-") as folder:
        path = Path(folder) / "code.tar.gz"
        pack_to_file(directory, path)
        if not upload:
            return store.object_uri(file_digest(path), owner)
        return store.upload(path, owner)


def read_code(uri: str, max_bytes: int = MAX_STORED_CODE_BYTES,
              environ: Mapping[str, str] | None = None) -> bytes:
    """The tarball at ``uri`` (streamed to a file first, its sha256 checked against
    its name). Raises InvalidInput when ``uri`` is outside this agent's code store or
    does not match its sha256, CodeTooLarge past ``max_bytes``."""
    match = STORED_CODE.match(uri)
    if match is None:
        raise InvalidInput(f"code: {uri!r} is not a code store object")
    _check_inside(uri, environ)
    store = open_object_store(uri.rsplit("/", 1)[0], field="code")
    with tempfile.TemporaryDirectory(prefix="relaunch-code-") as folder:
        path = Path(folder) / "code.tar.gz"
        with path.open("wb") as out:
            store.download(uri, out)
        if file_digest(path) != match.group("hex"):
            raise InvalidInput(f"code: {uri} does not match its sha256")
        if path.stat().st_size > max_bytes:
            raise CodeTooLarge(f"code: {uri} is over {max_bytes / 2**20:.0f} MiB")
        return path.read_bytes()


def delete_code(uri: str, environ: Mapping[str, str] | None = None) -> None:
    """Remove the object at ``uri`` (inside this agent's code store; already gone:
    nothing to do)."""
    _check_inside(uri, environ)
    open_object_store(uri.rsplit("/", 1)[0], field="code").delete(uri)


def drop_item_code(store: Any, item_id: int, log: Callable[[str], None]) -> None:
    """Delete the stored code of item ``item_id`` once it has ended (finished, failed,
    cancelled); a requeued or running item keeps it. Never raises: logs instead."""
    from launch_core.store.states import TERMINAL

    try:
        item = store.get_item(item_id)
    except Exception:  # the queue store is away: the object stays (a lifecycle rule)
        return
    if item.state in TERMINAL and is_stored_code(item.spec.code):
        try:
            delete_code(str(item.spec.code))
        except Exception as exc:  # a cloud error must not change the outcome
            log(f"job {item_id}: could not remove its stored code: {exc}")


def _check_inside(uri: str, environ: Mapping[str, str] | None) -> None:
    allowed = code_store(environ)
    if allowed is not None:
        location = parse_store_uri(allowed, CODE_STORE_ENV)
        if uri.startswith(location.uri(location.key(""))):
            return
    raise InvalidInput(f"code: {uri} is not in this agent's code store "
                       f"({CODE_STORE_ENV}={allowed or 'unset'})")
