"""Helpers of the kaniko builder tests: a queue item, a build request with the
agent's builder section, a job's code directory."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from launch_core.backends.builder import BuildRequest
from launch_core.spec.agent_config import BuilderConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store.records import QueueItem

ENTRY = ["python3", "main.py"]


def item(spec: LaunchSpec) -> QueueItem:
    """Item 7, first attempt."""
    now = time.time()
    return QueueItem(id=7, queue_id=1, state="building", priority=2, enqueued_at=now,
                     run_id="r7", spec=spec, attempts=1, max_attempts=3, agent_id=None,
                     claim_token=0, lease_expires_at=None, handle=None, stage=None,
                     reason=None, cancel_requested=False, resume_count=0, exit_code=None,
                     started_at=None, finished_at=None, updated_at=now)


def build_request(code: Path, registry: Any, settings: dict[str, Any], log: list[str]
                  ) -> BuildRequest:
    """A code job's build request; ``settings`` are kaniko's builder keys."""
    return BuildRequest(
        item=item(LaunchSpec(code="sha256:" + "0" * 64, entry_point=ENTRY)),
        resource="kubernetes", context=code, registry=registry,
        base_image="relaunch/python:bookworm", log=log.append,
        settings=BuilderConfig.model_validate({"type": "kaniko", **settings}))


def write_code(tmp_path: Path) -> Path:
    code = tmp_path / "code"
    code.mkdir()
    (code / "main.py").write_text("print('built by kaniko')\n")
    return code


def container(manifest: dict[str, Any]) -> dict[str, Any]:
    """The first container of a Job manifest."""
    return dict(manifest["spec"]["template"]["spec"]["containers"][0])
