"""Files and folders relaunch writes under its data dir, private to the user it runs
as whatever the process umask: folders 0700, files 0600.

A mode given to ``mkdir``/``open`` is only ever narrowed by the umask, so nothing is
looser than that at any moment; a chmod then restores what an odd umask took away.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """``path`` as a folder, made (with its missing parents) 0700. With ``tighten``,
    an existing ``path`` is made 0700 too, when its owner may (a read-only mount or
    someone else's folder stays as it is)."""
    missing: list[Path] = []
    folder = path
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:  # another process made it first (through here too)
            continue
        os.chmod(folder, DIR_MODE)
    if tighten and not missing:
        with contextlib.suppress(OSError):
            if stat.S_IMODE(path.stat().st_mode) != DIR_MODE:
                os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path, *, append: bool = True) -> BinaryIO:
    """Open ``path`` for writing bytes (appending, or from scratch), created 0600 if
    missing; an existing file of ours is made 0600. A symlink is not followed."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    flags |= os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, flags, FILE_MODE)
    try:
        _own_mode(fd)
        return os.fdopen(fd, "ab" if append else "wb")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` (UTF-8) as a 0600 file."""
    with open_private(path, append=False) as out:
        out.write(text.encode())


def touch_private(path: Path) -> None:
    """Create ``path`` as an empty 0600 file unless it exists."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
    except FileExistsError:
        return
    try:
        _own_mode(fd)
    finally:
        os.close(fd)


def seal_files(folder: Path) -> None:
    """Make the regular files directly in ``folder`` 0600 (and ``folder`` 0700): the
    files a resource wrote in a run's folder, once the run ended. A symlink, FIFO or
    other entry (a job may have left one there) is neither followed nor changed."""
    if not folder.is_dir():
        return
    private_dir(folder, tighten=True)
    for entry in os.scandir(folder):
        if not entry.is_file(follow_symlinks=False):
            continue
        try:  # no link followed even if the entry was swapped for one since
            fd = os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK
                         | os.O_NOCTTY | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                _own_mode(fd)
        finally:
            os.close(fd)


def _own_mode(fd: int) -> None:
    """Set the open file ``fd`` to 0600, when it is not already and we may."""
    if stat.S_IMODE(os.fstat(fd).st_mode) != FILE_MODE:
        with contextlib.suppress(PermissionError):
            os.fchmod(fd, FILE_MODE)
