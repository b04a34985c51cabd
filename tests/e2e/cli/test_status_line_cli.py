"""The status line of `job logs --follow` and of `launch` without -q, through the real
console script on a real pseudo-terminal (and on pipes, where it must not show): the
job's state, stage and elapsed time, redrawn in place, with the job's output lines
intact. Each job prints a first line, waits for a file the test creates once the status
line is on screen, then prints three more."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.support import RELAUNCH, wait_for
from tests.support.terminal import Terminal, screen

pytestmark = pytest.mark.real_cli

JOB = """\
import os, sys, time
print("first line", flush=True)
deadline = time.time() + 120
while not os.path.exists(sys.argv[1]) and time.time() < deadline:
    time.sleep(0.05)
for i in range(3):
    print(f"line {i}", flush=True)
    time.sleep(0.3)
"""
LINES = ["first line", "line 0", "line 1", "line 2"]
STATUS = r"job {job} running · run · \d\d:\d\d"


@pytest.fixture
def code(tmp_path: Path) -> Path:
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "job.py").write_text(JOB)
    return folder


def _term(cli_env: dict[str, str], term: str) -> dict[str, str]:
    env = {k: v for k, v in cli_env.items() if k not in ("NO_COLOR", "COLUMNS", "LINES")}
    return {**env, "TERM": term}


def _state(relaunch, job: int) -> str:
    return relaunch("job", "status", str(job), "--json").json()["state"]


def test_job_logs_follow_shows_the_status_line_on_a_terminal_only(relaunch, cli_env, code,
                                                                  tmp_path):
    go = tmp_path / "go"
    started = relaunch("launch", "--code", str(code), "-E", "python3 job.py", "-a", str(go),
                       "--async", "--json")
    assert started.code == 0, started.err
    job = started.json()["id"]
    wait_for(lambda: _state(relaunch, job) == "running", "the job to run", timeout=180)

    colour, dumb = Terminal(), Terminal()
    colour.run([RELAUNCH, "job", "logs", str(job), "--follow"], _term(cli_env, "xterm"),
               str(tmp_path))
    dumb.run([RELAUNCH, "job", "logs", str(job), "-f"], _term(cli_env, "dumb"), str(tmp_path))
    out, err = tmp_path / "piped.out", tmp_path / "piped.err"
    with out.open("wb") as out_file, err.open("wb") as err_file:
        piped = subprocess.Popen([RELAUNCH, "job", "logs", str(job), "--follow"],
                                 stdout=out_file, stderr=err_file, stdin=subprocess.DEVNULL,
                                 env=_term(cli_env, "xterm"), cwd=tmp_path)
    for terminal in (colour, dumb):  # drawn under the first line, before the rest comes
        terminal.wait_for(r"first line\r\n.*" + STATUS.format(job=job), "the status line")
    wait_for(lambda: out.read_bytes() == b"first line\n", "the piped first line")
    go.touch()

    raw = colour.finish()
    assert screen(raw) == LINES  # whole lines, the status line cleared at the end
    assert re.search(r"\r\x1b\[K(\x1b\[2m)?" + STATUS.format(job=job), raw)
    raw_dumb = dumb.finish()
    assert screen(raw_dumb) == LINES
    assert "\x1b" not in raw_dumb and re.search("\r" + STATUS.format(job=job), raw_dumb)
    assert piped.wait(timeout=180) == 0
    assert out.read_bytes() == "".join(f"{line}\n" for line in LINES).encode()
    assert err.read_bytes() == b""


def test_launch_without_q_shows_the_status_line_on_a_terminal_only(cli_env, code, tmp_path):
    go, go_piped = tmp_path / "go", tmp_path / "go-piped"
    env = _term(cli_env, "xterm")
    terminal = Terminal()
    terminal.run([RELAUNCH, "launch", "--code", str(code), "-E", "python3 job.py", "-a",
                  str(go)], env, str(tmp_path))
    out, err = tmp_path / "piped.out", tmp_path / "piped.err"
    with out.open("wb") as out_file, err.open("wb") as err_file:
        piped = subprocess.Popen([RELAUNCH, "launch", "--code", str(code), "-E",
                                  "python3 job.py", "-a", str(go_piped)], stdout=out_file,
                                 stderr=err_file, stdin=subprocess.DEVNULL, env=env,
                                 cwd=tmp_path)
    job = int(terminal.wait_for(STATUS.format(job=r"(\d+)"), "the status line").group(1))
    wait_for(lambda: " - first line\n" in err.read_text(), "the piped job's first line",
             timeout=180)
    go.touch()
    go_piped.touch()

    raw = terminal.finish()
    assert terminal.proc is not None and terminal.proc.returncode == 0, raw[-3000:]
    shown = screen(raw)
    assert shown[-1] == f"job {job} finished"
    for line in LINES:  # each of the job's lines whole, as the flow run logs it
        assert any(re.search(rf"\| INFO +\| Flow run .* - {line}$", s) for s in shown), line
    assert not [s for s in shown if " · " in s]  # cleared, never left between lines

    assert piped.wait(timeout=180) == 0, err.read_text()[-3000:]
    printed = out.read_text()
    assert re.fullmatch(r"job \d+ finished\n", printed)
    logged = err.read_text()
    assert "\r" not in logged and "\x1b" not in logged and " · " not in logged
    assert all(f" - {line}\n" in logged for line in LINES)
