"""Runs one job's argv and records its exit code in a file (stdlib only).

Started in its own session by the local-process resource, so the job outlives
the agent and any later agent can read the exit code. Run as a script:
``python _runner.py CLAIM_FILE EXIT_FILE -- ARGV...``. SIGTERM is passed on to the job.

The runner first creates CLAIM_FILE (its pid and start time) exclusively: a second
runner for the same run finds it there and exits with ALREADY_STARTED without
running anything, so a run is started at most once whoever asks.
"""

import json
import os
import signal
import subprocess
import sys

ALREADY_STARTED = 75


def main() -> int:
    claim_file, exit_file, argv = sys.argv[1], sys.argv[2], sys.argv[4:]
    if not _claim(claim_file):
        return ALREADY_STARTED
    try:
        child = subprocess.Popen(argv)
    except OSError as exc:
        print(f"relaunch: cannot start {argv[0]!r}: {exc.strerror}", flush=True)
        _record(exit_file, 127)
        return 127

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    _record(exit_file, code)
    return 0


def _claim(claim_file: str) -> bool:
    """Create CLAIM_FILE with our pid, whole or not at all; False if it exists."""
    with open(f"/proc/{os.getpid()}/stat") as stat:
        started = int(stat.read().rsplit(")", 1)[1].split()[19])
    tmp = f"{claim_file}.{os.getpid()}.tmp"
    with open(tmp, "w") as handle:
        json.dump({"pid": os.getpid(), "started": started}, handle)
    try:
        os.link(tmp, claim_file)  # fails if another runner claimed this run first
        return True
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)


def _record(exit_file: str, code: int) -> None:
    tmp = exit_file + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(str(code))
    os.replace(tmp, exit_file)


if __name__ == "__main__":
    sys.exit(main())
