"""Prefect Block types of relaunch: `prefect block register -m blocks`."""

from blocks.agent_config import AgentConfigBlock
from blocks.queue_store import QueueStoreBlock

__all__ = ["AgentConfigBlock", "QueueStoreBlock"]
