"""Registry credentials from Prefect blocks, of the block type a registry declares."""

from __future__ import annotations

import importlib
from typing import Any

from launch_core.registries import Registry


async def load_block_credentials(registry: type[Registry], block_name: str) -> Any:
    """Load the block ``block_name`` (of ``registry.credentials_block``'s type) and
    turn it into the registry's credentials."""
    module, _, attr = registry.credentials_block.partition(":")
    block = await getattr(importlib.import_module(module), attr).aload(block_name)
    return registry.credentials_from_block(block)
