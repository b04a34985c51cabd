"""Runs the real ``relaunch`` CLI with the kubernetes resource's submit pausing once
its create request is answered, before the agent can record ``submitted`` (FILE gets
the run's name); the test kills the agent there.

Usage: python paused_agent.py FILE relaunch-args...
"""

import sys
import time
from pathlib import Path
from typing import Any

from launch_core.backends.kubernetes.resource import KubernetesResource
from relaunch_cli.main import main

FILE = Path(sys.argv[1])
_submit = KubernetesResource.submit


def _submit_then_pause(self: KubernetesResource, job: Any) -> dict[str, Any]:
    handle = _submit(self, job)
    FILE.write_text(handle["name"])  # the Job exists in the cluster now
    time.sleep(600)  # until killed
    return handle


if __name__ == "__main__":
    KubernetesResource.submit = _submit_then_pause  # type: ignore[method-assign]
    main(sys.argv[2:])
