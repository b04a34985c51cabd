"""Runs ``relaunch`` with local-process submission paused right after the job's
process started, before the agent can record ``submitted``: a test kills the agent
there (kill -9). The pause is the only change; everything else is the real CLI.

Usage: python pause_after_submit.py PAUSED_FILE relaunch-args...
"""

import sys
import time
from pathlib import Path

from launch_core.cli.main import main
from launch_core.resources.local_process import LocalProcessResource

_submit = LocalProcessResource.submit


def _submit_then_pause(self, job):  # type: ignore[no-untyped-def]
    handle = _submit(self, job)
    Path(sys.argv[1]).write_text(str(handle["pid"]))  # the job is running now
    time.sleep(600)  # until killed
    return handle


if __name__ == "__main__":
    LocalProcessResource.submit = _submit_then_pause  # type: ignore[method-assign]
    main(sys.argv[2:])
