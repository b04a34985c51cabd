"""Runs the relaunch CLI in forked children of one process that imported it once.

``make unit`` sets RELAUNCH_TEST_CLI=fork so the CLI tests skip the interpreter
start and imports (~0.4 s a call); each call still runs in its own process, with
its own environment, working directory, stdout, stderr and exit code, through the
same ``relaunch_cli.main.main`` the console script calls. ``make test`` runs the
real console script.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

SERVER = r"""
import json, os, sys, time
import relaunch_cli.main as cli

def child(req):
    os.chdir(req["cwd"])
    os.environ.clear()
    os.environ.update(req["env"])
    for fd, path in ((1, req["out"]), (2, req["err"])):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
    # As the interpreter ends a script: SystemExit(int|None) is the exit code, any other
    # SystemExit value is printed (exit 1), an uncaught exception prints its traceback
    # (exit 1), so a test that no traceback shows cannot pass by the fork hiding one.
    try:
        cli.main(req["args"])
        code = 0
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            code = exc.code or 0
        else:
            print(exc.code, file=sys.stderr)
            code = 1
    except BaseException:
        import traceback
        traceback.print_exc()
        code = 1
    # What the interpreter does at exit before os._exit skips it: wait for the
    # non-daemon threads, then run the atexit handlers (Prefect sends its last
    # buffered log lines to the API from there).
    import atexit, threading
    threading._shutdown()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return code

for line in sys.stdin:
    req = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = child(req)
        finally:
            os._exit(code)
    deadline = time.monotonic() + req["timeout"]
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print(json.dumps({"code": os.waitstatus_to_exitcode(status)}), flush=True)
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            print(json.dumps({"timeout": True}), flush=True)
            break
        time.sleep(0.002)
"""


class ForkedCLI:
    """One server process; ``run`` forks a child of it per CLI call."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()
        self._tmp = Path(tempfile.mkdtemp(prefix="relaunch-cli-"))

    def run(self, args: list[str], env: dict[str, str], cwd: Path,
            timeout: float) -> tuple[int, str, str]:
        with self._lock:
            proc = self._server()
            out, err = self._tmp / "out", self._tmp / "err"
            request = {"args": args, "env": env, "cwd": str(cwd), "out": str(out),
                       "err": str(err), "timeout": timeout}
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(request) + "\n")
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline())
            if reply.get("timeout"):
                raise subprocess.TimeoutExpired(["relaunch", *args], timeout)
            return reply["code"], out.read_text(), err.read_text()

    def _server(self) -> subprocess.Popen[str]:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = subprocess.Popen([sys.executable, "-c", SERVER], text=True,
                                          stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        return self._proc

    def close(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            self._proc.wait(timeout=30)
