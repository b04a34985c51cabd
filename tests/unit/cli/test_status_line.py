"""The CLI's status line (relaunch_cli/status_line.py) on a real pseudo-terminal and on a
pipe: drawn in place on a terminal only, never cutting an output line, cleared at the
end, no escape codes on a dumb terminal."""

from __future__ import annotations

import os
import re

import pytest

from relaunch_cli.status_line import StatusLine, elapsed
from tests.support.terminal import Terminal, screen

PARTS = ["job 12 running", "run", "00:42"]


@pytest.fixture(autouse=True)
def _a_colour_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)


def test_a_pipe_gets_no_status_line_and_output_passes_unchanged() -> None:
    read_end, write_end = os.pipe()
    with open(write_end, "w", encoding="utf-8") as pipe, StatusLine(pipe) as status:
        assert status.through(pipe) is pipe  # the very stream: output byte for byte
        status.show(PARTS)
        status.through(pipe).write("out\n")
    with open(read_end, encoding="utf-8") as got:
        assert got.read() == "out\n"


def test_an_unwanted_line_is_not_shown_on_a_terminal_either() -> None:
    terminal = Terminal()
    with terminal.writer() as stream, StatusLine(stream, wanted=False) as status:
        status.show(PARTS)
        status.through(stream).write("out\n")
    assert terminal.finish() == "out\r\n"


def test_output_lines_are_never_cut_by_the_line_and_it_is_cleared_at_the_end() -> None:
    terminal = Terminal()
    with terminal.writer() as stream, StatusLine(stream) as status:
        out = status.through(stream)
        status.show(PARTS)
        out.write("first line\nsecond ")
        status.show(["job 12 running", "run", "00:43"])  # mid-line: not drawn now
        out.write("half\n")
        status.show(["job 12 running", "run", "00:44"])
        drawn = terminal.wait_for("00:44", "the redrawn status line").string
    raw = terminal.finish()
    assert screen(drawn) == ["first line", "second half", "job 12 running · run · 00:44"]
    assert screen(raw) == ["first line", "second half"]
    assert "second half\r\n" in raw  # nothing drawn while the output was mid-line
    assert raw.index("00:43") > raw.index("second half")  # drawn once the line ended
    assert "\r\x1b[K\x1b[2mjob 12 running · run · 00:42\x1b[0m" in raw


def test_a_dumb_terminal_gets_no_escape_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERM", "dumb")
    terminal = Terminal()
    with terminal.writer() as stream, StatusLine(stream) as status:
        status.show(["job 3 claimed", "agent", "00:01"])
        status.show(PARTS)  # shorter: the rest of the longer one blanked with spaces
        status.through(stream).write("out\n")
        status.show(PARTS)
    raw = terminal.finish()
    assert "\x1b" not in raw
    assert "\rjob 12 running · run · 00:42" in raw
    assert screen(raw) == ["out"]


def test_no_color_drops_the_dim_style_but_still_redraws_in_place(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    terminal = Terminal()
    with terminal.writer() as stream, StatusLine(stream) as status:
        status.show(PARTS)
    raw = terminal.finish()
    assert "\x1b[2m" not in raw and "\r\x1b[Kjob 12 running · run · 00:42" in raw


def test_the_line_is_cut_to_the_terminal_width() -> None:
    terminal = Terminal(columns=20)
    with terminal.writer() as stream, StatusLine(stream) as status:
        status.show(["job 123456 running", "run", "1:02:03"])
    drawn = re.findall(r"\x1b\[2m(.*?)\x1b\[0m", terminal.finish())
    assert drawn == ["job 123456 running "]  # 19 columns: a full line would wrap


def test_elapsed_reads_like_a_clock() -> None:
    assert [elapsed(s) for s in (0, 42.9, 725, 3723, -1)] == [
        "00:00", "00:42", "12:05", "1:02:03", "00:00"]
