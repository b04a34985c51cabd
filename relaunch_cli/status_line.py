"""The status line people see while a command follows a job (``job logs --follow``,
``launch`` without -q): ``job 12 running · run · 00:42`` on stderr, redrawn in place.

Only when stderr is a terminal: scripts, pipes and CI get no byte of it. Output
written through it (``through``) is never cut by it: the line is cleared, the output
written, the line drawn again once the output ends a line. A dumb terminal
(``TERM=dumb``) gets no escape codes (the line is blanked with spaces); ``NO_COLOR``
turns off its dim style. Imports nothing heavy: ``relaunch launch`` and ``job list``
start fast.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TextIO, cast

if TYPE_CHECKING:
    from launch_core.store import QueueItem

# The pipeline stage a job in each state is at (a failed job: the stage it failed at).
STAGE = {"queued": "queue", "claimed": "agent", "building": "build", "submitted": "run",
         "running": "run"}
TICK_SECONDS = 0.5  # how often a ticking status line reads the job again


def job_status(item: QueueItem, now: float) -> list[str]:
    """``job 12 running``, its stage and the time since it started (since it was
    enqueued, while it has not), as the status line's parts."""
    stage = item.stage if item.state == "failed" else STAGE.get(item.state)
    since = item.started_at or item.enqueued_at
    parts = [f"job {item.id} {item.state}", stage, elapsed((item.finished_at or now) - since)]
    return [part for part in parts if part]


def elapsed(seconds: float) -> str:
    """``00:42``, ``12:05``, ``1:02:03``."""
    minutes, secs = divmod(max(0, int(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class StatusLine:
    """One status line on ``stream`` (stderr), shown only when that is a terminal and
    ``wanted``; cleared when the ``with`` block ends. Thread-safe."""

    def __init__(self, stream: TextIO | None = None, *, wanted: bool = True) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = wanted and _is_terminal(self.stream)
        self.plain = os.environ.get("TERM") == "dumb"  # no escape codes at all
        self.dim = not self.plain and not os.environ.get("NO_COLOR")
        self.separator = " · " if _can_encode(self.stream, "·") else " - "
        self._parts: list[str] = []
        self._shown = 0  # columns of the line on screen (0: none)
        self._mid_line = False  # output written through it ended without a newline
        self._lock = threading.RLock()

    def __enter__(self) -> StatusLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.clear()

    def show(self, parts: list[str]) -> None:
        """Show these parts (redrawn at once, unless output is mid-line)."""
        if not self.enabled:
            return
        with self._lock:
            if parts == self._parts and self._shown:
                return  # on screen as it is
            self._parts = parts
            if not self._mid_line:
                self._draw()

    def clear(self) -> None:
        """Take the line off the screen (for good: ``show`` draws it again)."""
        with self._lock:
            self._erase()
            self._parts = []

    def through(self, stream: TextIO) -> TextIO:
        """``stream`` (stdout, or the real stderr) with its writes kept clear of the
        line; ``stream`` itself when the line is not shown."""
        return cast(TextIO, _Through(self, stream)) if self.enabled else stream

    def write(self, stream: TextIO, text: str) -> None:
        """Write ``text`` to ``stream`` with the line off the screen meanwhile."""
        if not text:
            return
        with self._lock:
            self._erase()
            stream.write(text)
            stream.flush()
            self._mid_line = not text.endswith("\n")
            if not self._mid_line:
                self._draw()

    @contextlib.contextmanager
    def around_stderr(self) -> Iterator[None]:
        """While inside: ``sys.stderr``, and the logging handlers writing to it (Prefect's
        console handler and its rich console), write through the line."""
        if not self.enabled:
            yield
            return
        real, through = sys.stderr, self.through(sys.stderr)
        moved: list[tuple[Any, str]] = []  # (object, attribute) now writing through
        for handler in _stream_handlers():
            console = getattr(handler, "console", None)  # rich's, which keeps its file
            for owner, attribute in ((handler, "stream"), (console, "file")):
                if owner is not None and getattr(owner, attribute, None) is real:
                    setattr(owner, attribute, through)
                    moved.append((owner, attribute))
        sys.stderr = through
        try:
            yield
        finally:
            sys.stderr = real
            for owner, attribute in moved:
                setattr(owner, attribute, real)

    @contextlib.contextmanager
    def ticking(self, read: Callable[[], list[str]]) -> Iterator[None]:
        """While inside, a thread shows ``read()`` every TICK_SECONDS (a failed read
        keeps what is shown)."""
        if not self.enabled:
            yield
            return
        stop = threading.Event()

        def tick() -> None:
            while not stop.is_set():
                with contextlib.suppress(Exception):
                    parts = read()
                    if not stop.is_set():
                        self.show(parts)
                stop.wait(TICK_SECONDS)

        thread = threading.Thread(target=tick, name="relaunch-status-line", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(TICK_SECONDS + 5)

    def _draw(self) -> None:
        if not self._parts:
            return
        text = self._fit(self.separator.join(self._parts))
        if self.plain:  # blank what was longer with spaces, no escape codes
            drawn = "\r" + text + " " * max(0, self._shown - len(text))
        else:
            drawn = "\r\x1b[K" + (f"\x1b[2m{text}\x1b[0m" if self.dim else text)
        self.stream.write(drawn)
        self.stream.flush()
        self._shown = len(text)

    def _erase(self) -> None:
        if not self._shown:
            return
        self.stream.write("\r" + " " * self._shown + "\r" if self.plain else "\r\x1b[K")
        self.stream.flush()
        self._shown = 0

    def _fit(self, text: str) -> str:
        """``text`` cut to the terminal's width less one column (a full line would
        wrap, and the next redraw would go to the new line)."""
        try:
            columns = os.get_terminal_size(self.stream.fileno()).columns
        except (OSError, ValueError):
            columns = 0
        return text[:columns - 1] if columns > 1 else text


class _Through(io.TextIOBase):
    """A text stream whose writes go through a status line."""

    def __init__(self, line: StatusLine, stream: TextIO) -> None:
        super().__init__()
        self._line, self._stream = line, stream

    def write(self, text: str) -> int:
        self._line.write(self._stream, text)
        return len(text)

    def flush(self) -> None:
        self._stream.flush()

    def isatty(self) -> bool:
        return self._stream.isatty()

    def fileno(self) -> int:
        return self._stream.fileno()

    def writable(self) -> bool:
        return True

    @property
    def encoding(self) -> str:  # type: ignore[override]  # TextIOBase's says None
        return self._stream.encoding

    def __getattr__(self, name: str) -> Any:  # encoding, errors...: the stream's
        return getattr(self._stream, name)


def _stream_handlers() -> list[logging.StreamHandler[Any]]:
    loggers = [logging.getLogger(), *(logger for logger in
               list(logging.Logger.manager.loggerDict.values())
               if isinstance(logger, logging.Logger))]
    return [handler for logger in loggers for handler in logger.handlers
            if isinstance(handler, logging.StreamHandler)]


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no such method, or closed
        return False


def _can_encode(stream: TextIO, text: str) -> bool:
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True
