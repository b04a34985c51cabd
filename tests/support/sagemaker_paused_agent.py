"""Runs the real ``relaunch`` CLI with one fault injected, for the re-adoption test.

Usage: python paused_agent.py FILE relaunch-args...

The sagemaker resource's submission pauses right after CreateTrainingJob was sent,
before the agent can record ``submitted`` (FILE gets the training job's name); the
test kills the agent there. Everything else is the real CLI, agent, store and flows.
"""

import sys
import time
from pathlib import Path
from typing import Any

from launch_core.backends.sagemaker.resource import SageMakerResource
from relaunch_cli.main import main

FILE = Path(sys.argv[1])
_submit = SageMakerResource.submit


def _submit_then_pause(self: SageMakerResource, job: Any) -> dict[str, Any]:
    handle = _submit(self, job)
    FILE.write_text(handle["training_job_name"])  # the training job exists now
    time.sleep(600)  # until killed
    return handle


if __name__ == "__main__":
    SageMakerResource.submit = _submit_then_pause  # type: ignore[method-assign]
    main(sys.argv[2:])
