"""Registry credentials from Prefect blocks, of the block type a registry declares."""

from __future__ import annotations

from typing import Any

from launch_core.backends.registries import Registry
from launch_core.backends.table import has_module, import_target
from launch_core.errors import MissingExtra
from launch_core.masking import add_block_secrets


async def load_block_credentials(registry: type[Registry], block_name: str) -> Any:
    """Load the block ``block_name`` (of ``registry.credentials_block``'s type) and
    turn it into the registry's credentials. Raises MissingExtra naming the extra
    that brings the block type when it is not installed."""
    if not has_module(registry.credentials_block.partition(":")[0]):
        raise MissingExtra(f"registry {registry.kind!r} with", "builder.credentials-block",
                           registry.credentials_extra)
    block = await import_target(registry.credentials_block).aload(block_name)
    add_block_secrets(block)
    return registry.credentials_from_block(block)
