"""Block: an agent's launch-config, so a deployed agent needs no file on disk."""

from __future__ import annotations

from typing import Any

from prefect.blocks.core import Block
from pydantic import Field

from blocks.queue_store import QueueStoreBlock


class AgentConfigBlock(Block):
    """The keys of ``launch-config.yaml``, plus an optional queue-store block."""

    _block_type_name = "relaunch agent config"
    _block_type_slug = "relaunch-agent-config"
    _description = "A relaunch agent's launch-config.yaml, stored in Prefect."

    config: dict[str, Any] = Field(default_factory=dict,
                                   description="launch-config.yaml keys (max_jobs, queues...)")
    queue_store: QueueStoreBlock | None = Field(
        None, description="Queue-store connection; overrides config['database'].")

    def as_config_data(self) -> dict[str, Any]:
        """The config mapping, with the database URL taken from the store block."""
        data = dict(self.config)
        if self.queue_store is not None:
            data["database"] = self.queue_store.url.get_secret_value()
        return data
