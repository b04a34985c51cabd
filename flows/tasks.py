"""The six named tasks of the launch-job flow, each one stage of the pipeline in
``launch_core.pipeline``: the Prefect UI shows every launch step by step."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from prefect import Task
from prefect.cache_policies import NO_CACHE

from launch_core.masking import mask
from launch_core.pipeline import STAGES


async def _stage(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    try:
        return await fn(*args)
    except Exception as exc:
        _mask_exception(exc)  # its message becomes the task run's state message
        raise


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
    """Run one pipeline stage as the Prefect task of that name."""
    return await TASKS[name](fn, *args)
