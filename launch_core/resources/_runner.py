"""Runs one job's argv and records its exit code in a file (stdlib only).

Started in its own session by the local-process resource, so the job outlives
the agent and any later agent can read the exit code. Run as a script:
``python _runner.py EXIT_FILE -- ARGV...``. SIGTERM is passed on to the job.
"""

import os
import signal
import subprocess
import sys


def main() -> int:
    exit_file, argv = sys.argv[1], sys.argv[3:]
    try:
        child = subprocess.Popen(argv)
    except OSError as exc:
        print(f"relaunch: cannot start {argv[0]!r}: {exc.strerror}", flush=True)
        _record(exit_file, 127)
        return 127

    def forward(signum, _frame):
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    _record(exit_file, code)
    return 0


def _record(exit_file, code):
    tmp = exit_file + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(str(code))
    os.replace(tmp, exit_file)


if __name__ == "__main__":
    sys.exit(main())
