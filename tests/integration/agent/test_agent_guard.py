"""The agent guard (a real guard process, real SQLite and PostgreSQL stores): when
the pipe of its agent closes without a clean stop it sweeps the agent's items at
once, as the lease expiry would; disarmed, it touches nothing."""

from __future__ import annotations

from launch_core.agent.guard import AgentGuard
from launch_core.store import QueueStore
from tests.support.store_helpers import make_queue, spec


def _held(store: QueueStore) -> tuple[str, list[int]]:
    """An agent holding three items: claimed, building, running; (agent id, ids)."""
    queue = make_queue(store)
    items = [store.enqueue(queue, spec()).id for _ in range(3)]
    agent = store.register_agent("team", ["q"], 3).id
    store.claim(agent, [queue.id], limit=3, lease_seconds=600)
    store.transition(items[1], "building", actor=agent)
    store.transition(items[2], "submitted", actor=agent, handle={"pid": 4242})
    store.transition(items[2], "running", actor=agent)
    return agent, items


def test_guard_sweeps_at_once_the_items_of_an_agent_that_ended_without_stopping(
        store: QueueStore, store_url: str) -> None:
    agent, (claimed, building, running) = _held(store)
    guard = AgentGuard(store_url)
    guard.watch(agent)
    guard.close()  # the pipe ends without DISARM: what the agent's death looks like
    states = {i: store.get_item(i) for i in (claimed, building, running)}
    assert [(states[i].state, states[i].agent_id, states[i].attempts)
            for i in (claimed, building, running)] == [
        ("queued", None, 0),  # claimed only: not counted, as the sweep does
        ("queued", None, 1),  # building: its launch may be what killed the agent
        ("running", None, 0)]  # re-adoptable, never resubmitted
    assert all(store.events_for(i)[-1].actor == "sweeper" for i in states)
    assert store.live_agents("team") == []


def test_a_disarmed_guard_leaves_the_released_items_alone(
        store: QueueStore, store_url: str) -> None:
    agent, items = _held(store)
    guard = AgentGuard(store_url)
    guard.watch(agent)
    store.release(agent)
    events = {i: len(store.events_for(i)) for i in items}
    guard.disarm()
    assert {i: len(store.events_for(i)) for i in items} == events
    assert store.get_item(items[1]).attempts == 0  # released: not counted


def test_a_guard_never_told_its_agent_exits_doing_nothing(store_url: str) -> None:
    guard = AgentGuard(store_url)
    guard.close()
    assert guard._proc.returncode == 0
