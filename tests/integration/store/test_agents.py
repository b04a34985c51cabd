"""Agents in the store: the list with running counts and states, and stop requests
(relaunch agent list|stop)."""

from __future__ import annotations

import pytest

from launch_core.errors import NotFound
from launch_core.store import QueueStore
from launch_core.store.agents import STALE_AFTER, agent_state
from tests.support.store_helpers import FakeClock, enqueue, make_queue


def states(store: QueueStore, entity: str = "team") -> dict[str, tuple[int, str]]:
    now = store.clock()
    return {agent.id: (running, agent_state(agent, running, now))
            for agent, running in store.list_agents(entity)}


def test_list_counts_each_agents_active_jobs_and_says_its_state(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = make_queue(timed_store)
    for _ in range(4):
        enqueue(timed_store, queue)
    polling = timed_store.register_agent("team", ["q"], 2)
    clock.advance(1)
    running = timed_store.register_agent("team", ["q"], 4)
    clock.advance(1)
    stopped = timed_store.register_agent("team", ["q"], 1)
    clock.advance(1)
    lost = timed_store.register_agent("team", ["q"], 1)
    clock.advance(1)
    stopping = timed_store.register_agent("team", ["q"], 1)
    timed_store.register_agent("other", ["q"], 1)  # another entity's: not listed
    one, two, _ = timed_store.claim(running.id, [queue.id], limit=3)
    timed_store.transition(one.id, "building", actor=running.id, claim=one.claim)
    timed_store.transition(two.id, "failed", actor=running.id, claim=two.claim)  # ended
    timed_store.claim(stopping.id, [queue.id])
    timed_store.request_stop(stopping.id)
    timed_store.stop_agent(stopped.id)
    clock.advance(STALE_AFTER - 1)
    for agent in (polling, running, stopping):
        timed_store.heartbeat_agent(agent.id)
    clock.advance(2)  # lost last beat STALE_AFTER + 1 s ago; the others 2 s ago
    assert states(timed_store) == {
        polling.id: (0, "polling"), running.id: (2, "running"), stopped.id: (0, "stopped"),
        lost.id: (0, "lost"), stopping.id: (1, "stopping")}
    listed = [agent.id for agent, _ in timed_store.list_agents("team")]
    assert listed == [stopping.id, lost.id, stopped.id, running.id, polling.id]  # newest first


def test_a_stop_request_is_read_by_its_agent_and_now_is_never_softened(
        timed_store: QueueStore) -> None:
    agent = timed_store.register_agent("team", ["q"], 1)
    other = timed_store.register_agent("team", ["q"], 1)
    assert timed_store.stop_request(agent.id) is None
    assert timed_store.request_stop(agent.id).stop_requested == "finish"
    assert timed_store.stop_request(agent.id) == "finish"
    assert timed_store.request_stop(agent.id, now=True).stop_requested == "now"
    assert timed_store.request_stop(agent.id).stop_requested == "now"  # stays 'now'
    assert timed_store.stop_request(agent.id) == "now"
    assert timed_store.stop_request(other.id) is None  # only the one asked


def test_stopping_an_unknown_or_stopped_agent_is_not_found(timed_store: QueueStore) -> None:
    agent = timed_store.register_agent("team", ["q"], 1)
    timed_store.stop_agent(agent.id)
    with pytest.raises(NotFound, match=f"^agent {agent.id} has stopped already$") as stopped:
        timed_store.request_stop(agent.id)
    assert stopped.value.exit_code == 2
    with pytest.raises(NotFound, match="^agent agent-nobody not found$"):
        timed_store.request_stop("agent-nobody", now=True)
    assert timed_store.stop_request(agent.id) is None
