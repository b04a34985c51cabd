"""Credentials blocks for backends, through the one loader the Prefect layer installs
(``flows.credentials``), so the domain never imports Prefect. A backend names the
block type it wants (an integration's ``module:Class``), the block, and the setting
that named it (for errors)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from launch_core.backends.table import has_module
from launch_core.errors import InvalidInput
from launch_core.masking import add_block_secrets

BlockLoader = Callable[[str, str], Any]  # (block type "module:Class", block name) -> block
_installed: list[BlockLoader] = []


def install_block_loader(loader: BlockLoader) -> None:
    """Make ``loader`` the way every backend loads a credentials block."""
    _installed[:] = [loader]


def load_block(block_type: str, name: str, *, setting: str, extra: str) -> Any:
    """The block ``name`` of ``block_type``, its secrets masked wherever they would show.

    Raises InvalidInput naming ``setting`` when the integration (``relaunch[extra]``)
    is missing, when the block does not load, or when no loader is installed.
    """
    kind = block_type.rpartition(":")[2]
    if not has_module(block_type.partition(":")[0]):
        raise InvalidInput(f"{setting}: {kind} blocks need the {extra} extra: "
                           f"pip install 'relaunch[{extra}]'")
    if not _installed:
        raise InvalidInput(f"{setting}: a {kind} block is loaded by the Prefect layer, "
                           "which this process did not start")
    try:
        block = _installed[0](block_type, name)
    except ValueError as exc:  # Prefect: no block of that name
        raise InvalidInput(f"{setting}: {str(exc).splitlines()[0]}") from None
    add_block_secrets(block)
    return block
