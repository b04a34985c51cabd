"""The real ``relaunch`` CLI with a pause at one point of a job's launch, for the
fault matrix (tests/support/faults/matrix.py). Everything else is the real agent, store, resources
and Prefect flows.

Usage: python _fault_cli.py STAGE DIR relaunch-args...

STAGE is where every job's pipeline pauses: ``claimed`` (before its config is
resolved), ``building`` (after its build), ``pushing`` (after its push), ``submitted``
(after the resource started the run, before ``submitted`` is recorded: the ``submit``
of every resource in launch_core.backends.table is paused), ``ending``
(after the run ended, before its end is recorded); anything else: no pause. At the
pause the pipeline writes DIR/reached (the agent's pid) and waits, without blocking
the agent's event loop, until DIR/go exists.
"""

from __future__ import annotations

import asyncio
import functools
import os
import sys
import time
from pathlib import Path
from typing import Any

from launch_core.backends.table import BACKENDS, import_target
from launch_core.pipeline.pipeline import JobPipeline
from relaunch_cli.main import main

DIR = Path(sys.argv[2])


def _reached() -> None:
    (DIR / "reached").write_text(str(os.getpid()))


async def _pause() -> None:
    _reached()
    while not (DIR / "go").exists():
        await asyncio.sleep(0.1)


def _pause_in_thread() -> None:  # resource.submit runs in a worker thread
    _reached()
    while not (DIR / "go").exists():
        time.sleep(0.1)


def _before(method: Any) -> Any:
    @functools.wraps(method)
    async def paused(self: Any, *args: Any) -> Any:
        await _pause()
        return await method(self, *args)
    return paused


def _after(method: Any) -> Any:
    @functools.wraps(method)
    async def paused(self: Any, *args: Any) -> Any:
        result = await method(self, *args)
        await _pause()
        return result
    return paused


def _after_sync(method: Any) -> Any:
    @functools.wraps(method)
    def paused(self: Any, *args: Any) -> Any:
        result = method(self, *args)
        _pause_in_thread()
        return result
    return paused


def install(stage: str) -> None:
    if stage == "claimed":
        JobPipeline.resolve = _before(JobPipeline.resolve)  # type: ignore[method-assign]
    elif stage == "building":
        JobPipeline.build = _after(JobPipeline.build)  # type: ignore[method-assign]
    elif stage == "pushing":
        JobPipeline.push = _after(JobPipeline.push)  # type: ignore[method-assign]
    elif stage == "submitted":
        for plugin in BACKENDS["resource"].values():
            cls = import_target(plugin.target)
            cls.submit = _after_sync(cls.submit)
    elif stage == "ending":
        JobPipeline._record_end = _before(JobPipeline._record_end)  # type: ignore[method-assign]


if __name__ == "__main__":
    install(sys.argv[1])
    main(sys.argv[3:])
