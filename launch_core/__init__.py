"""relaunch's domain: queues, templates, launch specs and the queue store.

Importing this package never imports Prefect (the enqueue path must start fast), and
its public names load on first use, so ``relaunch_cli`` starts without them.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "LaunchError": "launch_core.errors",
    "LaunchRequest": "launch_core.spec.launch_request",
    "LaunchSpec": "launch_core.spec.models",
    "QueueDefinition": "launch_core.spec.models",
    "TemplateVariable": "launch_core.spec.models",
    "QueueItem": "launch_core.store",
    "QueueRecord": "launch_core.store",
    "QueueStore": "launch_core.store",
    "PreparedLaunch": "launch_core.api",
    "check_launch": "launch_core.api",
    "create_queue": "launch_core.api",
    "default_entity": "launch_core.api",
    "enqueue": "launch_core.api",
    "launch": "launch_core.api",
    "open_store": "launch_core.api",
    "prepare_launch": "launch_core.api",
    "prepare_request": "launch_core.api",
    "update_queue": "launch_core.api",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'launch_core' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
