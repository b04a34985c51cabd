"""relaunch's domain: queues, templates, launch specs and the queue store.

Importing this package never imports Prefect (the enqueue path must start fast).
"""

from launch_core.api import (
    PreparedLaunch,
    check_launch,
    create_queue,
    default_entity,
    launch,
    open_store,
    prepare_launch,
    update_queue,
)
from launch_core.errors import LaunchError
from launch_core.models import LaunchSpec, QueueDefinition, TemplateVariable
from launch_core.store import QueueItem, QueueRecord, QueueStore

__all__ = [
    "LaunchError", "LaunchSpec", "PreparedLaunch", "QueueDefinition", "QueueItem",
    "QueueRecord", "QueueStore", "TemplateVariable", "check_launch", "create_queue",
    "default_entity", "launch", "open_store", "prepare_launch", "update_queue",
]
