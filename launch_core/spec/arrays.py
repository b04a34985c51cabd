"""``relaunch launch --array`` and ``--after``, as the user writes them.

``--array A-B[:STEP]`` is Slurm's: the indices A, A+STEP, ... up to B inclusive
(``0-9`` is ten jobs, ``0-99:10`` is 0, 10, ..., 90); ``--array N`` is the one index
N, as in Slurm. ``--after ID[,ID]`` names the jobs to wait for (repeatable)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from launch_core.errors import InvalidInput

ARRAY_FLAG, AFTER_FLAG = "--array", "--after"
MAX_ARRAY = 10_000  # jobs one --array enqueues
MAX_INDEX = 1_000_000  # the largest array index
_RANGE = re.compile(r"([0-9]+)(?:-([0-9]+)(?::([0-9]+))?)?")
_ID = re.compile(r"[0-9]+")


def parse_array(text: str) -> range:
    """The indices ``--array`` names, in order. Raises InvalidInput naming --array."""
    match = _RANGE.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"{ARRAY_FLAG}: expected A-B[:STEP] or N (0-9, 0-99:10, 7), "
                           f"not {text!r}")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    step = int(match.group(3)) if match.group(3) else 1
    if last > MAX_INDEX:
        raise InvalidInput(f"{ARRAY_FLAG}: indices go from 0 to {MAX_INDEX:,}, not {last:,}")
    if last < first:
        raise InvalidInput(f"{ARRAY_FLAG}: {text.strip()} ends before it starts")
    if step < 1:
        raise InvalidInput(f"{ARRAY_FLAG}: the step must be 1 or more, not {step}")
    indices = range(first, last + 1, step)
    if len(indices) > MAX_ARRAY:
        raise InvalidInput(f"{ARRAY_FLAG}: {text.strip()} makes {len(indices):,} jobs; "
                           f"at most {MAX_ARRAY:,}")
    return indices


def parse_after(values: Iterable[str]) -> list[int]:
    """The job ids ``--after`` names (each value ``ID[,ID...]``), without repeats, in
    the order given. Raises InvalidInput naming --after."""
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not _ID.fullmatch(part) or int(part) == 0:
                raise InvalidInput(f"{AFTER_FLAG}: {part!r} is not a job id")
            if int(part) not in ids:
                ids.append(int(part))
    if not ids:
        raise InvalidInput(f"{AFTER_FLAG}: no job id given")
    return ids
