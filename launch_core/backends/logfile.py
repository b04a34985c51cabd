"""Reading a run's log file incrementally (resources that keep output in a file)."""

from __future__ import annotations


def read_log_file(path: str, offset: int) -> tuple[str, int]:
    """Text of a run's log file from ``offset`` on, and the new offset."""
    try:
        with open(path, "rb") as log:
            log.seek(offset)
            data = log.read()
    except FileNotFoundError:
        return "", offset
    return data.decode("utf-8", errors="replace"), offset + len(data)
