"""A stock ``wandb`` client's run directory, read without ``wandb``.

In offline mode the client (0.19 and later: wandb-core) writes
``<WANDB_DIR>/wandb/offline-run-<date>_<time>-<run id>/run-<run id>.wandb``: the run's
transaction log, which ``wandb sync`` uploads later. It writes no
``files/wandb-summary.json`` offline (the online client, and older ones, do: that
file is read first when present). The log is LevelDB's log format (32 KiB blocks of
checksummed chunks; the checksum is CRC-32 of the chunk type and data) after a 7-byte
header, each record a protobuf ``Record`` of W&B's ``wandb_internal.proto``. Two
kinds matter to a sweep, read here from the protobuf wire format by their field
numbers: history rows (``Record.history`` = 2: ``item`` = 1) and summary changes
(``Record.summary`` = 3: ``update`` = 1, ``remove`` = 2); each item has ``key`` = 1
or ``nested_key`` = 2 (repeated) and ``value_json`` = 16.

Keys come out dotted: ``wandb.log({"val": {"loss": 1}})`` gives ``val.loss``."""

from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HEADER = b":W&B" + struct.pack("<HB", 0xBEE1, 0)
BLOCK = 32768
CHUNK_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
HISTORY, SUMMARY = 2, 3
MAX_SUMMARY_BYTES = 64 * 1024 * 1024
RUN_DIR = re.compile(r"^(?:offline-)?run-([0-9]{8}_[0-9]{6})-(.+)$")  # date_time, run id


def find_run(directory: Path, run_id: str | None = None) -> Path | None:
    """The newest run directory under ``directory`` (a WANDB_DIR, or its ``wandb``
    folder), of run ``run_id`` when given; offline runs and online ones."""
    found: list[tuple[str, Path]] = []
    for root in (directory / "wandb", directory):
        for path in root.glob("*run-*") if root.is_dir() else ():
            match = RUN_DIR.match(path.name)
            if match and path.is_dir() and run_id in (None, match.group(2)):
                found.append((match.group(1), path))
    return max(found)[1] if found else None


def summary(run_dir: Path) -> dict[str, Any]:
    """The run's summary, dotted keys to values: ``files/wandb-summary.json`` when the
    client wrote one, else replayed from the transaction log."""
    summary_file = run_dir / "files" / "wandb-summary.json"
    if summary_file.is_file() and summary_file.stat().st_size <= MAX_SUMMARY_BYTES:
        try:
            data = json.loads(summary_file.read_text(encoding="utf-8"))
        except (ValueError, RecursionError):
            data = None
        if isinstance(data, dict):
            return data
    result: dict[str, Any] = {}
    for kind, items in _records(run_dir):
        if kind == SUMMARY:
            for field, key, value in items:
                if field == 1:
                    result[key] = value
                else:
                    result.pop(key, None)
    return result


def history(run_dir: Path) -> Iterator[dict[str, Any]]:
    """The run's history rows (one per ``wandb.log`` step), dotted keys to values."""
    for kind, items in _records(run_dir):
        if kind == HISTORY:
            yield {key: value for _, key, value in items}


def _records(run_dir: Path) -> Iterator[tuple[int, list[tuple[int, str, Any]]]]:
    """Each history or summary record of the run's log: its kind and its items as
    (field, dotted key, value); the field tells a summary's updates from removals."""
    for log in sorted(run_dir.glob("run-*.wandb")):
        for data in _chunks(log):
            for kind, payload in _fields(data):
                if kind not in (HISTORY, SUMMARY) or not isinstance(payload, bytes):
                    continue
                items = []
                for field, body in _fields(payload):
                    if isinstance(body, bytes) and (field == 1 or kind == SUMMARY
                                                    and field == 2):
                        key, value = _item(body)
                        if key:
                            items.append((field, key, value))
                yield kind, items


def _item(data: bytes) -> tuple[str, Any]:
    key, nested, value_json = "", [], "null"
    for field, raw in _fields(data):
        if not isinstance(raw, bytes):
            continue
        text = raw.decode("utf-8", errors="replace")
        if field == 1:
            key = text
        elif field == 2:
            nested.append(text)
        elif field == 16:
            value_json = text
    try:
        return key or ".".join(nested), json.loads(value_json)
    except (ValueError, RecursionError):
        return key or ".".join(nested), None


def _chunks(path: Path) -> Iterator[bytes]:
    """The records of a LevelDB-format log; stops at the first torn or corrupt chunk
    (a log still being written ends so)."""
    with path.open("rb") as stream:
        if stream.read(len(HEADER)) != HEADER:
            return
        offset, pending, size = len(HEADER), list[bytes](), 0
        while True:
            room = BLOCK - offset % BLOCK
            if room < CHUNK_HEADER:  # the block's zero trailer
                stream.read(room)
                offset += room
            head = stream.read(CHUNK_HEADER)
            if len(head) < CHUNK_HEADER:
                return
            checksum, length, kind = struct.unpack("<IHB", head)
            data = stream.read(length)
            offset += CHUNK_HEADER + length
            if len(data) < length or zlib.crc32(bytes([kind]) + data) != checksum:
                return
            if kind == FULL:
                yield data
            elif kind == FIRST:
                pending, size = [data], len(data)
            elif kind == MIDDLE:  # a list, joined once: += would copy it every chunk
                pending.append(data)
                size += len(data)
                if size > MAX_SUMMARY_BYTES:  # no record of a real run is this big
                    return
            elif kind == LAST:
                yield b"".join([*pending, data])
                pending, size = [], 0
            else:
                return


def _fields(data: bytes) -> Iterator[tuple[int, bytes | int]]:
    """A protobuf message's fields, as (number, value): length-delimited values as
    bytes, others as integers. Stops at malformed data."""
    position, end = 0, len(data)
    while position < end:
        tag, position = _varint(data, position)
        if position < 0:
            return
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, position = _varint(data, position)
            if position < 0:
                return
            yield number, value
        elif wire == 2:
            length, position = _varint(data, position)
            if position < 0 or position + length > end:
                return
            yield number, data[position:position + length]
            position += length
        elif wire in (1, 5):
            size = 8 if wire == 1 else 4
            if position + size > end:
                return
            yield number, int.from_bytes(data[position:position + size], "little")
            position += size
        else:
            return


def _varint(data: bytes, position: int) -> tuple[int, int]:
    """A varint at ``position`` and the position after it; -1 when malformed."""
    value = shift = 0
    while position < len(data) and shift < 64:
        byte = data[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, position
        shift += 7
    return 0, -1
