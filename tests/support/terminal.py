"""A real pseudo-terminal for tests of what people see at a terminal (the CLI's status
line): a process, or the test itself, writes to its slave side; a thread reads
everything from the master side as it comes. ``screen`` replays those bytes the way a
terminal shows them."""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import termios
import threading
from collections.abc import Sequence
from typing import IO

from tests.support import wait_for

_CSI = re.compile(r"\x1b\[([0-9;?]*)([A-Za-z])")


class Terminal:
    """A pseudo-terminal of ``columns`` x ``rows``."""

    def __init__(self, columns: int = 200, rows: int = 50) -> None:
        self.master, self.slave = os.openpty()
        fcntl.ioctl(self.slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        self._raw = bytearray()
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.proc: subprocess.Popen[bytes] | None = None

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every slave side is closed
                return
            if not chunk:
                return
            with self._lock:
                self._raw += chunk

    def writer(self) -> IO[str]:
        """A text stream on the slave side (a terminal: ``isatty()`` is true)."""
        return open(self.slave, "w", encoding="utf-8", closefd=False)  # noqa: SIM115

    def run(self, argv: Sequence[str], env: dict[str, str], cwd: str) -> None:
        """Start ``argv`` with stdin, stdout and stderr on the terminal."""
        self.proc = subprocess.Popen(list(argv), stdin=self.slave, stdout=self.slave,
                                     stderr=self.slave, env=env, cwd=cwd,
                                     start_new_session=True)
        os.close(self.slave)
        self.slave = -1

    def text(self) -> str:
        """Everything read so far."""
        with self._lock:
            return self._raw.decode("utf-8", errors="replace")

    def wait_for(self, pattern: str, what: str, timeout: float = 120) -> re.Match[str]:
        """The first match of ``pattern`` in what the terminal got, once it is there."""
        match: re.Match[str] = wait_for(lambda: re.search(pattern, self.text()),
                                        lambda: f"{what}; the terminal got {self.text()!r}",
                                        timeout=timeout)
        return match

    def finish(self, timeout: float = 180) -> str:
        """Wait for the process (or, without one, close the slave side); everything
        the terminal got."""
        if self.proc is not None:
            self.proc.wait(timeout=timeout)
        elif self.slave >= 0:
            os.close(self.slave)
            self.slave = -1
        self._reader.join(timeout)
        os.close(self.master)
        return self.text()


def screen(raw: str) -> list[str]:
    """The lines a terminal shows after ``raw``: carriage returns, line feeds, erase to
    end of line (``ESC [ K``) and styles (``ESC [ ... m``, dropped) replayed; any other
    escape sequence fails. Trailing spaces and trailing empty lines are dropped."""
    lines: list[list[str]] = [[]]
    row, col = 0, 0
    at = 0
    while at < len(raw):
        char = raw[at]
        if char == "\x1b":
            match = _CSI.match(raw, at)
            assert match is not None, f"unexpected escape sequence at {raw[at:at + 12]!r}"
            if match.group(2) == "K":
                del lines[row][col:]
            else:
                assert match.group(2) == "m", f"unexpected escape sequence {match.group()!r}"
            at = match.end()
            continue
        if char == "\r":
            col = 0
        elif char == "\n":
            row += 1
            if row == len(lines):
                lines.append([])
        else:
            line = lines[row]
            line.extend(" " * (col - len(line)))
            if col < len(line):
                line[col] = char
            else:
                line.append(char)
            col += 1
        at += 1
    shown = ["".join(line).rstrip() for line in lines]
    while shown and not shown[-1]:
        shown.pop()
    return shown
