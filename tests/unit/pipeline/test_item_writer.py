"""ItemWriter: a store write retried while the store is unreachable, then tried once
more; any other error (a lost claim) raised at once."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

from launch_core.errors import LostClaim
from launch_core.pipeline import item_writer
from launch_core.pipeline.item_writer import ItemWriter


def test_a_write_is_retried_while_the_store_is_unreachable(monkeypatch):
    monkeypatch.setattr(item_writer, "STORE_RETRY_DELAYS", (0, 0))
    calls, lines = [], []

    def write(*args, **kwargs):
        calls.append((args, kwargs))
        if len(calls) < 3:
            raise OperationalError("select", {}, Exception("down"))
        return "done"

    writer = ItemWriter(None, "agent-1", lines.append)  # type: ignore[arg-type]
    assert asyncio.run(writer.retried(write, 7, claim="c")) == "done"
    assert len(calls) == 3 and calls[0] == ((7,), {"claim": "c"})
    assert len(lines) == 2 and "store unreachable" in lines[0]


def test_a_lost_claim_is_not_retried(monkeypatch):
    calls = []

    def write(*args, **kwargs):
        calls.append(1)
        raise LostClaim(7, "agent-1", 3)

    writer = ItemWriter(None, "agent-1", print)  # type: ignore[arg-type]
    with pytest.raises(LostClaim):
        asyncio.run(writer.retried(write))
    assert calls == [1]
