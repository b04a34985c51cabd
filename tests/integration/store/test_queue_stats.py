"""QueueStore.queue_stats (relaunch queue stats) on SQLite and PostgreSQL: every figure
of a queue whose items went through their lives at known times (the store's clock),
against values worked out by hand here."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from launch_core.errors import InvalidInput
from launch_core.store import QueueRecord, QueueStore
from launch_core.store.stats import FailureReason, QueueStats, Spread
from tests.support.store_helpers import START, FakeClock, enqueue, make_queue

AGENT = "agent-stats"
WINDOW = 3600.0
NOW = START + 10_000  # the window is START + 6400 .. START + 10000


class Life:
    """Runs item lives step by step at given clock times (in time order, as a real
    store would see them), naming items by letter."""

    def __init__(self, store: QueueStore, clock: FakeClock, queue: QueueRecord) -> None:
        self.store, self.clock, self.queue = store, clock, queue
        self.ids: dict[str, int] = {}
        self.steps: list[tuple[float, int, Callable[[], object]]] = []

    def at(self, offset: float, step: Callable[[], object]) -> None:
        self.steps.append((START + offset, len(self.steps), step))

    def run(self) -> None:
        for when, _, step in sorted(self.steps, key=lambda s: s[:2]):
            self.clock.now = when
            step()
        self.clock.now = NOW

    def enqueue(self, name: str, offset: float, **spec: object) -> None:
        def step() -> None:
            self.ids[name] = enqueue(self.store, self.queue, **spec).id
        self.at(offset, step)

    def claim(self, name: str, offset: float) -> None:
        self.at(offset, lambda: self.store.claim_item(self.ids[name], AGENT))

    def start(self, name: str, offset: float) -> None:
        """Claimed (unless it is), submitted and running at ``offset``."""
        def step() -> None:
            item = self.store.get_item(self.ids[name])
            if item.state == "queued":
                item = self.store.claim_item(item.id, AGENT)
            for state in ("submitted", "running"):
                self.store.transition(item.id, state, actor=AGENT, claim=item.claim)
        self.at(offset, step)

    def end(self, name: str, offset: float, state: str = "finished") -> None:
        def step() -> None:
            item = self.store.get_item(self.ids[name])
            self.store.transition(item.id, state, actor=AGENT, claim=item.claim)
        self.at(offset, step)

    def fail(self, name: str, offset: float, stage: str, reason: str) -> None:
        def step() -> None:
            item = self.store.get_item(self.ids[name])
            self.store.fail(item.id, stage, reason, actor=AGENT, claim=item.claim)
        self.at(offset, step)

    def preempt(self, name: str, offset: float) -> None:
        def step() -> None:
            item = self.store.get_item(self.ids[name])
            self.store.preempt(item.id, actor=AGENT, claim=item.claim)
        self.at(offset, step)

    def cancel(self, name: str, offset: float) -> None:
        self.at(offset, lambda: self.store.request_cancel(self.ids[name]))


def lease_reason(agent: str) -> str:
    return f"not launched after 3 attempts; last: lease of agent {agent} expired"


@pytest.fixture
def seeded(timed_store: QueueStore, clock: FakeClock) -> QueueRecord:
    """Queue ``q`` of ``team`` (priorities, fair share by project) with items in every
    state; the comments give each one's times (offsets from START)."""
    queue = make_queue(timed_store, prioritization=True, policy={"fair_share": "project"})
    life = Life(timed_store, clock, queue)
    # Ended before the window: counted nowhere.
    life.enqueue("old-finished", 0)
    life.start("old-finished", 100)
    life.end("old-finished", 200)
    life.enqueue("old-failed", 0)
    life.claim("old-failed", 250)
    life.fail("old-failed", 300, "agent", "config error 0")
    # Finished in the window: wait 500, run 500.
    life.enqueue("B", 6000)
    life.start("B", 6500)
    life.end("B", 7000)
    # Failed in the window after running: waits 600 and 1000, runs 1300 and 200.
    life.enqueue("C", 6100)
    life.start("C", 6700)
    life.fail("C", 8000, "run", "exit code 1")
    life.enqueue("D", 6200)
    life.start("D", 7200)
    life.fail("D", 7400, "run", "exit code 1")
    # Failed in the window before running: no wait, no run.
    life.enqueue("E", 6300)
    life.claim("E", 6350)
    life.fail("E", 7500, "build", "build failed for image sha-0123abcd4567")
    for name, offset, agent in (("N", 6600, "agent-1a2b3c4d5e6f"),
                                ("O", 6650, "agent-9f8e7d6c5b4a")):  # only their ids differ
        life.enqueue(name, offset)
        life.claim(name, offset + 10)
        life.fail(name, offset + 20, "agent", lease_reason(agent))
    for name, offset in (("Q1", 6800), ("Q2", 6810), ("Q3", 6820)):
        life.enqueue(name, offset)
        life.claim(name, offset + 1)
        life.fail(name, offset + 2, "agent", f"config error {name[-1]}")
    # Cancelled while queued in the window.
    life.enqueue("F", 6400)
    life.cancel("F", 7600)
    # First started before the window, preempted, started again and finished in it:
    # no wait in the window; its run is the last one, 1000.
    life.enqueue("G", 5000)
    life.start("G", 6000)
    life.preempt("G", 6500)
    life.start("G", 8000)
    life.end("G", 9000)
    # First started in the window (wait 500), preempted, running again: one wait.
    life.enqueue("H", 6500, project="p1")
    life.start("H", 7000)
    life.preempt("H", 7100)
    life.start("H", 7800)
    # Running (wait 1000) and only claimed: active.
    life.enqueue("I", 8000, project="p1")
    life.start("I", 9000)
    life.enqueue("M", 9100, project="p2")
    life.claim("M", 9200)
    # Queued: the oldest since 9000 (age 1000).
    life.enqueue("K", 9000, priority="low")
    life.enqueue("J", 9500, priority="high")
    life.enqueue("L", 9600, priority="high", project="p3")
    life.run()
    return queue


def test_every_figure_of_a_queue_against_its_items_lives(
        timed_store: QueueStore, seeded: QueueRecord) -> None:
    [stats] = timed_store.queue_stats([seeded], WINDOW)
    assert (stats.entity, stats.queue, stats.now, stats.window) == ("team", "q", NOW, WINDOW)
    assert stats.queued == {"critical": 0, "high": 2, "medium": 0, "low": 1}
    assert stats.oldest_queued_at == START + 9000
    assert stats.running == 3  # H and I running, M claimed
    assert stats.ended == {"finished": 2, "failed": 8, "cancelled": 1}
    # Waits [500, 500, 600, 1000, 1000] (B, H, C, D, I): nearest rank, p50 is the
    # 3rd value, p95 the 5th.
    assert stats.wait == Spread(5, 600.0, 1000.0)
    # Runs [200, 500, 1000, 1300] (D, B, G, C): p50 the 2nd value, p95 the 4th.
    assert stats.run == Spread(4, 500.0, 1300.0)
    assert stats.failure_reasons == [
        # the example: of the reasons most often written, the first in text order
        FailureReason("agent", lease_reason("<id>"), 2, lease_reason("agent-1a2b3c4d5e6f")),
        FailureReason("run", "exit code 1", 2, "exit code 1"),
        FailureReason("agent", "config error 1", 1, "config error 1"),
        FailureReason("agent", "config error 2", 1, "config error 2"),
        FailureReason("agent", "config error 3", 1, "config error 3"),
    ]  # the sixth, build's, is left out; the old failure is before the window
    assert (stats.fair_share, stats.running_by) == ("project", {"p1": 2, "p2": 1})


def test_a_wider_window_takes_in_the_older_items(
        timed_store: QueueStore, seeded: QueueRecord) -> None:
    [stats] = timed_store.queue_stats([seeded], NOW - START)  # from START on
    assert stats.ended == {"finished": 3, "failed": 9, "cancelled": 1}
    # old-finished waited 100 and G 1000 (its first start), besides the five above.
    assert stats.wait == Spread(7, 600.0, 1000.0)
    assert stats.run == Spread(5, 500.0, 1300.0)  # old-finished's 100 s run too
    assert [(r.stage, r.reason, r.count) for r in stats.failure_reasons][2] == (
        "agent", "config error 0", 1)


def test_queues_in_the_order_asked_and_an_empty_one(
        timed_store: QueueStore, clock: FakeClock) -> None:
    busy = make_queue(timed_store, "busy", policy={"fair_share": "user"})
    empty = make_queue(timed_store, "empty")
    item = enqueue(timed_store, busy)
    clock.advance(30)
    timed_store.claim_item(item.id, AGENT)
    first, second = timed_store.queue_stats([empty, busy], WINDOW)
    assert (first.queue, second.queue) == ("empty", "busy")
    assert first == QueueStats(
        entity="team", queue="empty", now=clock.now, window=WINDOW,
        queued={"critical": 0, "high": 0, "medium": 0, "low": 0}, oldest_queued_at=None,
        running=0, ended={"finished": 0, "failed": 0, "cancelled": 0},
        wait=Spread(0, None, None), run=Spread(0, None, None), failure_reasons=[],
        fair_share=None, running_by={})
    # Fair share by user: the submitter as the store recorded it.
    assert (second.fair_share, second.running_by) == ("user", {item.submitter: 1})
    assert timed_store.queue_stats([], WINDOW) == []


def test_a_window_of_zero_is_refused(timed_store: QueueStore) -> None:
    queue = make_queue(timed_store)
    with pytest.raises(InvalidInput, match="window"):
        timed_store.queue_stats([queue], 0)
