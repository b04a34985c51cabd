"""The pipeline's writes to its item: each fenced by the claim it runs under (a stale
agent's write is refused with LostClaim) and retried while the store is unreachable
(a restarting database must not turn a finished job into a lost one)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from launch_core.spec.failure_class import Failure
from launch_core.store import Claim, QueueStore

STORE_RETRY_DELAYS = (1, 2, 4, 8, 15, 30)  # about a minute of store outage is ridden out


class ItemWriter:
    """Writes ``actor``'s changes to items of ``store``; every stage writes through it."""

    def __init__(self, store: QueueStore, actor: str, log: Callable[[str], None]) -> None:
        self.store, self.actor, self.log = store, actor, log

    async def transition(self, item_id: int, state: str, claim: Claim, **fields: Any) -> Any:
        """Move the item to ``state`` (``fields``: handle, message, exit code...)."""
        return await self.retried(self.store.transition, item_id, state, actor=self.actor,
                                  claim=claim, **fields)

    async def note(self, item_id: int, message: str, claim: Claim) -> Any:
        """Record ``message`` as an event of the item."""
        return await self.retried(self.store.note, item_id, message, actor=self.actor,
                                  claim=claim)

    async def fail(self, item_id: int, claim: Claim, stage: str, reason: str, *,
                   failure: Failure | None = None, exit_code: int | None = None) -> Any:
        """End the item ``failed`` (or, when its queue retries ``failure``, queued again:
        see ``QueueStore.fail``); returns the item as written."""
        return await self.retried(self.store.fail, item_id, stage, reason, actor=self.actor,
                                  claim=claim, failure=failure, exit_code=exit_code)

    async def preempt(self, item_id: int, claim: Claim, reason: str) -> Any:
        """Record that the resource preempted the item's run."""
        return await self.retried(self.store.preempt, item_id, actor=self.actor, claim=claim,
                                  reason=reason)

    async def retried(self, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``write(*args, **kwargs)`` in a thread, retried while the store is
        unreachable (STORE_RETRY_DELAYS), then tried once more."""
        from sqlalchemy.exc import DBAPIError

        for delay in STORE_RETRY_DELAYS:
            try:
                return await asyncio.to_thread(write, *args, **kwargs)
            except DBAPIError as exc:
                self.log(f"store unreachable ({type(exc).__name__}); retrying in {delay}s")
                await asyncio.sleep(delay)
        return await asyncio.to_thread(write, *args, **kwargs)
