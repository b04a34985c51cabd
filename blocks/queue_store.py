"""Block: the queue-store connection a deployed agent uses (the URL is a secret)."""

from __future__ import annotations

from prefect.blocks.core import Block
from pydantic import Field, SecretStr


class QueueStoreBlock(Block):
    """Where relaunch's queue store lives (sqlite:///... or postgresql://...)."""

    _block_type_name = "relaunch queue store"
    _block_type_slug = "relaunch-queue-store"
    _description = "Connection URL of a relaunch queue store (stored as a secret)."

    url: SecretStr = Field(..., description="SQLAlchemy URL, e.g. postgresql://u:p@host/db")
