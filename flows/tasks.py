"""The six named tasks of the launch-job flow, each one stage of the pipeline in
``launch_core.pipeline.pipeline``: the Prefect UI shows every launch step by step.

A stage's work runs once, whatever happens to its task run: Prefect's bookkeeping
around it (the task run's creation, its states, a tag's concurrency slot) may fail
when the Prefect API is unreachable or answers 503. Before the work started such a
failure is retried with backoff (``RETRY_DELAYS``); if Prefect stays unreachable the
stage runs without its task run and one warning says the UI misses that step. After
the work ended, its result is kept and the failed report only warned about.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from prefect import Task
from prefect.cache_policies import NO_CACHE

from flows.runtime import run_logger
from launch_core.errors import one_line
from launch_core.masking import mask
from launch_core.pipeline.pipeline import STAGES

# Seconds between tries of a stage's task run whose bookkeeping failed before the
# stage's work began (Prefect's client has already retried each API call by then).
RETRY_DELAYS = (0.5, 1.0, 2.0)


@dataclass
class StageRun:
    """One call of a stage: its work, and what became of it inside the task run."""

    fn: Callable[..., Awaitable[Any]]
    started: bool = False
    finished: bool = False
    result: Any = None
    error: Exception | None = None

    async def work(self, *args: Any) -> Any:
        self.started = True
        try:
            self.result = await self.fn(*args)
        except Exception as exc:
            _mask_exception(exc)  # its message becomes the task run's state message
            self.error = exc
            raise
        self.finished = True
        return self.result


async def _stage(run: StageRun, *args: Any) -> Any:
    return await run.work(*args)


def _mask_exception(exc: BaseException | None) -> None:
    """Mask secret values in the string arguments and attributes of ``exc`` and its
    causes (some build their message from attributes: docker's APIError quotes the
    daemon's ``explanation``, which can hold a value the job's config carried)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc.args = tuple(mask(arg) if isinstance(arg, str) else arg for arg in exc.args)
        for name, value in list(vars(exc).items()):
            if isinstance(value, str):
                setattr(exc, name, mask(value))
        exc = exc.__cause__ or exc.__context__


# fetch-config, merge-overrides, build-image, push-to-registry, submit-to-resource,
# wait-for-completion. No result persistence or caching: each run is new work.
TASKS: dict[str, Task[..., Any]] = {
    name: Task(_stage, name=name, cache_policy=NO_CACHE, persist_result=False)
    for name in STAGES
}


async def prefect_step(name: str, fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    """Run one pipeline stage as the Prefect task of that name; its work runs once.

    Raises what the stage's work raised. A failure of Prefect's bookkeeping alone
    never fails the stage (see the module's docstring).
    """
    run = StageRun(fn)
    for delay in (*RETRY_DELAYS, None):
        try:
            return await TASKS[name](run, *args)
        except Exception as exc:
            if exc is run.error:
                raise
            if run.error is not None:  # the stage failed, and so did its report
                raise run.error from exc
            if run.finished:
                _warn(name, "its end", exc)
                return run.result
            if run.started:  # ended neither way: cannot happen, but never run it twice
                raise
            if delay is None:
                _warn(name, "it", exc)
                return await run.work(*args)
            run_logger().info("task %s: Prefect failed before it started (%s); trying "
                           "again in %g s", name, one_line(exc), delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


def _warn(name: str, what: str, exc: Exception) -> None:
    run_logger().warning("task %s: Prefect could not record %s (%s); the stage ran once, "
                      "the Prefect UI misses that step", name, what, one_line(exc))
