"""Runs the real ``relaunch`` CLI with one fault injected, for the agent tests.

Usage: python faulty_cli.py FAULT FILE relaunch-args...

- ``pause-after-submit``: local-process submission pauses right after the job's
  process started, before the agent can record ``submitted`` (FILE gets the pid);
  the test kills the agent there.
- ``heartbeat-dies``: once FILE exists, the agent's heartbeat thread raises a bug.

Everything else is the real CLI, agent, store and Prefect flows.
"""

import sys
import time
from pathlib import Path
from typing import Any

from launch_core.agent.side_tasks import Heartbeat
from launch_core.backends.local_process.resource import LocalProcessResource
from relaunch_cli.main import main

FILE = Path(sys.argv[2])
_submit, _beat = LocalProcessResource.submit, Heartbeat.beat


def _submit_then_pause(self: LocalProcessResource, job: Any) -> dict[str, Any]:
    handle = _submit(self, job)
    FILE.write_text(str(handle["pid"]))  # the job is running now
    time.sleep(600)  # until killed
    return handle


def _beat_until_file(self: Heartbeat, *args: Any) -> None:
    if FILE.exists():
        raise RuntimeError("injected heartbeat fault")
    _beat(self, *args)


FAULTS = {"pause-after-submit": (LocalProcessResource, "submit", _submit_then_pause),
          "heartbeat-dies": (Heartbeat, "beat", _beat_until_file)}

if __name__ == "__main__":
    owner, name, replacement = FAULTS[sys.argv[1]]
    setattr(owner, name, replacement)
    main(sys.argv[3:])
