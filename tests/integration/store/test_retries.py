"""Retries under a queue's policy (--retry, --retry-on, --retry-raise): a failed run of a
class the queue retries goes back to queued with the same run id, one more resume and
one more retry, fenced by the claim like any agent write; on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from launch_core.errors import LostClaim
from launch_core.spec.failure_class import OOM, infra_failure, last_retry, run_failure
from launch_core.store import QueueItem, QueueRecord, QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue, spec

MEMORY = {"type": "string", "enum": ["16Gi", "32Gi", "64Gi"], "default": "16Gi"}
THREADS = {"type": "integer", "minimum": 1, "maximum": 12}


def retrying_queue(store: QueueStore, name: str = "q", **policy: Any) -> QueueRecord:
    return make_queue(store, name, policy=policy,
                      config={"env": {"MEM": "{{ memory }}", "THREADS": "{{ threads }}"}},
                      template_variables={"memory": MEMORY, "threads": THREADS})


def running(store: QueueStore, queue: QueueRecord, item: QueueItem | None = None,
            **fields: Any) -> QueueItem:
    """``item`` (else a new item of ``queue``) claimed by agent-1 and running."""
    if item is None:
        item = enqueue(store, queue, **fields)
    [claimed] = store.claim("agent-1", [queue.id])
    assert claimed.id == item.id
    store.transition(item.id, "submitted", actor="agent-1", claim=claimed.claim,
                     handle={"pid": 1})
    return store.transition(item.id, "running", actor="agent-1", claim=claimed.claim)


def fail_run(store: QueueStore, item: QueueItem, code: int, cause: str | None = None
             ) -> QueueItem:
    message = "OOMKilled (exit code 137)" if cause == OOM else f"exit code {code}"
    return store.fail(item.id, "run", message, actor="agent-1", claim=item.claim,
                      failure=run_failure(code, cause, message), exit_code=code)


def messages(store: QueueStore, item: QueueItem) -> list[str | None]:
    return [event.message for event in store.events_for(item.id)]


def test_a_listed_exit_code_requeues_the_same_run_until_the_retries_are_used(
        store: QueueStore) -> None:
    queue = retrying_queue(store, retry=2, retry_on=["exit:3"])
    item = running(store, queue, template_values={"threads": 2})
    again = fail_run(store, item, 3)
    assert (again.state, again.run_id, again.resume_count, again.retries) == (
        "queued", item.run_id, 1, 1)
    assert (again.handle, again.agent_id, again.lease_expires_at) == (None, None, None)
    assert last_retry(messages(store, item)) == "retry 1 of 2 after exit code 3"

    again = fail_run(store, running(store, queue, again), 3)
    assert (again.state, again.resume_count, again.retries) == ("queued", 2, 2)
    assert last_retry(messages(store, item)) == "retry 2 of 2 after exit code 3"

    ended = fail_run(store, running(store, queue, again), 3)
    assert (ended.state, ended.stage, ended.reason, ended.exit_code, ended.retries) == (
        "failed", "run", "exit code 3", 3, 2)


def test_a_failure_of_a_class_not_listed_fails_at_once(store: QueueStore) -> None:
    queue = retrying_queue(store, retry=2, retry_on=["exit:3", "oom"])
    ended = fail_run(store, running(store, queue), 4)
    assert (ended.state, ended.exit_code, ended.retries) == ("failed", 4, 0)
    assert last_retry(messages(store, ended)) is None


def test_a_queue_without_a_retry_policy_fails_as_before(store: QueueStore) -> None:
    queue = make_queue(store)
    ended = fail_run(store, running(store, queue), 3)
    assert (ended.state, ended.resume_count, ended.retries) == ("failed", 0, 0)


def test_an_oom_retry_raises_the_named_variables_to_their_next_allowed_value(
        store: QueueStore) -> None:
    queue = retrying_queue(store, retry=3, retry_on=["oom"], retry_raise=["memory", "threads"])
    item = running(store, queue, template_values={"threads": 5})
    again = fail_run(store, item, 137, OOM)
    assert again.state == "queued"
    assert again.raised == {"memory": "32Gi", "threads": 10}
    assert again.spec.template_values == {"threads": 5}  # the spec is never changed
    assert last_retry(messages(store, item)) == (
        "retry 1 of 3 after OOM; raised memory 16Gi -> 32Gi; raised threads 5 -> 10")

    again = fail_run(store, running(store, queue, again), 137, OOM)
    assert again.raised == {"memory": "64Gi", "threads": 12}  # doubled, capped at 12
    again = fail_run(store, running(store, queue, again), 137, OOM)
    assert (again.state, again.retries, again.raised) == (
        "queued", 3, {"memory": "64Gi", "threads": 12})
    assert last_retry(messages(store, item)) == (
        "retry 3 of 3 after OOM; memory already at its top (64Gi); "
        "threads already at its top (12)")


def test_a_retry_after_another_class_raises_nothing(store: QueueStore) -> None:
    queue = retrying_queue(store, retry=1, retry_on=["exit:3"], retry_raise=["memory"])
    again = fail_run(store, running(store, queue), 3)
    assert (again.state, again.raised) == ("queued", None)


def test_an_oom_kill_is_also_its_exit_code(store: QueueStore) -> None:
    queue = retrying_queue(store, retry=1, retry_on=["exit:137"])
    again = fail_run(store, running(store, queue), 137, OOM)
    assert again.state == "queued"
    assert last_retry(messages(store, again)) == "retry 1 of 1 after OOM"


def test_a_stale_claim_can_neither_retry_nor_fail_the_item(store: QueueStore) -> None:
    queue = retrying_queue(store, retry=2, retry_on=["exit:3"])
    item = running(store, queue)
    store.expire_agent("agent-1")  # its lease is gone: the run awaits re-adoption
    with pytest.raises(LostClaim):
        fail_run(store, item, 3)
    now = store.get_item(item.id)
    assert (now.state, now.retries, now.resume_count) == ("running", 0, 0)


def test_a_cancel_requested_item_is_not_retried(store: QueueStore) -> None:
    queue = retrying_queue(store, retry=2, retry_on=["exit:3"])
    item = running(store, queue)
    store.request_cancel(item.id)
    assert fail_run(store, item, 3).state == "failed"


def test_an_infrastructure_failure_of_the_launch_is_retried_with_infra(
        store: QueueStore) -> None:
    queue = retrying_queue(store, retry=1, retry_on=["infra"])
    item = enqueue(store, queue)
    [claimed] = store.claim("agent-1", [queue.id])
    reason = "kubernetes: API server unreachable: ServerDisconnectedError"
    again = store.fail(item.id, "run", reason, actor="agent-1", claim=claimed.claim,
                       failure=infra_failure(reason))
    # Not launched: its resume count stays, so a run it started unrecorded is found again.
    assert (again.state, again.retries, again.resume_count) == ("queued", 1, 0)
    assert last_retry(messages(store, item)) == (
        f"retry 1 of 1 after an infrastructure error: {reason}")


def test_an_item_whose_agents_keep_dying_is_retried_with_infra(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = retrying_queue(timed_store, retry=1, retry_on=["infra"])
    item = timed_store.enqueue(queue, spec(), max_attempts=2)

    def lose_it() -> QueueItem:
        [claimed] = timed_store.claim("agent-1", [queue.id], lease_seconds=10)
        timed_store.transition(item.id, "building", actor="agent-1", claim=claimed.claim)
        clock.advance(11)
        timed_store.sweep_expired()
        return timed_store.get_item(item.id)

    first = lose_it()
    assert (first.state, first.attempts, first.retries) == ("queued", 1, 0)
    again = lose_it()
    # Out of attempts: a retry instead of failed, with its attempts counted afresh.
    assert (again.state, again.retries, again.attempts) == ("queued", 1, 0)
    assert last_retry(messages(timed_store, item)) == (
        "retry 1 of 1 after an infrastructure error: not launched after 2 attempts; "
        "last: lease of agent agent-1 expired")
    lose_it()
    ended = lose_it()
    assert (ended.state, ended.stage, ended.retries) == ("failed", "agent", 1)
    assert ended.reason.startswith("not launched after 2 attempts")


def test_lost_agents_fail_an_item_as_before_when_infra_is_not_listed(
        timed_store: QueueStore, clock: FakeClock) -> None:
    queue = retrying_queue(timed_store, retry=1, retry_on=["exit:3"])
    item = timed_store.enqueue(queue, spec(), max_attempts=1)
    [claimed] = timed_store.claim("agent-1", [queue.id], lease_seconds=10)
    timed_store.transition(item.id, "building", actor="agent-1", claim=claimed.claim)
    clock.advance(11)
    assert timed_store.sweep_expired().failed == [item.id]


def test_with_preempted_listed_the_queues_retry_is_the_budget_of_preemptions(
        store: QueueStore) -> None:
    queue = retrying_queue(store, retry=1, retry_on=["preempted"])
    item = running(store, queue)
    again = store.preempt(item.id, actor="agent-1", reason="preempted: evicted",
                          claim=item.claim)
    assert (again.state, again.resume_count, again.retries) == ("queued", 1, 1)
    assert last_retry(messages(store, item)) == "retry 1 of 1 after preemption"
    item = running(store, queue, again)
    ended = store.preempt(item.id, actor="agent-1", reason="preempted: evicted",
                          claim=item.claim)
    assert (ended.state, ended.stage, ended.reason) == (
        "failed", "run", "preempted after 1 retries")


def test_without_preempted_listed_preemptions_requeue_as_before(store: QueueStore) -> None:
    queue = retrying_queue(store, retry=1, retry_on=["exit:3"])
    item = running(store, queue)
    again = store.preempt(item.id, actor="agent-1", claim=item.claim)
    assert (again.state, again.resume_count, again.retries) == ("queued", 1, 0)


def test_a_retry_starts_the_clocks_of_max_pending_and_max_runtime_again(
        timed_store: QueueStore, clock: FakeClock) -> None:
    """Three hours into a run, a retry is a new wait: max_pending (30m) counts from the
    requeue, and the next try's max_runtime from its own start."""
    queue = retrying_queue(timed_store, retry=1, retry_on=["exit:3"], max_pending="30m")
    item = running(timed_store, queue, template_values={"memory": "16Gi", "threads": 1})
    clock.advance(3 * 3600)
    back = fail_run(timed_store, item, 3)
    assert (back.state, back.started_at) == ("queued", None)
    clock.advance(60)
    assert timed_store.expire_pending([queue.id], actor="agent-1").failed == []
    clock.advance(30 * 60)
    assert timed_store.expire_pending([queue.id], actor="agent-1").failed == [item.id]
