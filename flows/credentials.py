"""The loader of credentials blocks every backend uses (launch_core.backends.credentials),
installed by the agent's and the job's flows and by the CLI. Prefect is imported when
a block is first loaded, not before."""

from __future__ import annotations

from typing import Any

from launch_core.backends.credentials import install_block_loader
from launch_core.backends.table import import_target


def load_block(block_type: str, name: str) -> Any:
    """The saved block ``name`` of the block class ``block_type`` (``module:Class``)."""
    # _sync: in the agent's worker threads (an async flow's context) load() would
    # return a coroutine.
    return import_target(block_type).load(name, _sync=True)


def install() -> None:
    """Make ``load_block`` the loader of every backend's credentials blocks."""
    install_block_loader(load_block)
