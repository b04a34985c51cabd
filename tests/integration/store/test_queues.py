"""Queue definitions: create, get, list, update, delete."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from launch_core.errors import Conflict, InvalidInput, NotFound
from launch_core.store import QueueStore
from tests.support.store_helpers import FakeClock, enqueue, make_queue

TEMPLATED = {
    "config": {"env": {"EPOCHS": "{{ epochs }}"}},
    "template_variables": {"epochs": {"type": "integer", "minimum": 1, "maximum": 10,
                                      "default": 3}},
}


def test_create_queue_returns_its_id_and_definition(store: QueueStore) -> None:
    queue = make_queue(store, "train", prioritization=True, description="GPU jobs")
    assert queue.id > 0
    assert (queue.entity, queue.name) == ("team", "train")
    assert queue.definition.prioritization is True
    assert queue.definition.description == "GPU jobs"


def test_get_queue_returns_the_stored_definition(store: QueueStore) -> None:
    created = make_queue(store, "train", **TEMPLATED)
    fetched = store.get_queue("team", "train")
    assert fetched.id == created.id
    assert fetched.definition == created.definition
    assert fetched.definition.template_variables["epochs"].maximum == 10
    assert store.get_queue_by_id(created.id).definition == created.definition


def test_get_unknown_queue_raises_not_found(store: QueueStore) -> None:
    make_queue(store, "train")
    with pytest.raises(NotFound):
        store.get_queue("team", "nope")
    with pytest.raises(NotFound):
        store.get_queue("other", "train")
    with pytest.raises(NotFound):
        store.get_queue_by_id(987654)


def test_duplicate_queue_name_in_one_entity_raises_conflict(store: QueueStore) -> None:
    make_queue(store, "train", description="first")
    with pytest.raises(Conflict, match="train"):
        make_queue(store, "train", description="second")
    assert store.get_queue("team", "train").definition.description == "first"


def test_same_queue_name_in_another_entity_is_allowed(store: QueueStore) -> None:
    first = make_queue(store, "train")
    second = make_queue(store, "train", entity="other")
    assert first.id != second.id
    assert store.get_queue("other", "train").id == second.id


def test_list_queues_orders_by_entity_then_name(store: QueueStore) -> None:
    make_queue(store, "zeta")
    make_queue(store, "alpha")
    make_queue(store, "mid", entity="aaa")
    listed = [(q.entity, q.name) for q, _ in store.list_queues()]
    assert listed == [("aaa", "mid"), ("team", "alpha"), ("team", "zeta")]


def test_list_queues_filters_by_entity(store: QueueStore) -> None:
    make_queue(store, "a")
    make_queue(store, "b", entity="other")
    assert [q.name for q, _ in store.list_queues("other")] == ["b"]
    assert store.list_queues("nobody") == []


def test_list_queues_counts_queued_and_active_items_by_state(store: QueueStore) -> None:
    busy = make_queue(store, "busy")
    make_queue(store, "idle")
    items = [enqueue(store, busy) for _ in range(4)]
    store.claim("agent-1", [busy.id], limit=2)
    store.transition(items[1].id, "submitted", actor="agent-1")
    store.transition(items[1].id, "running", actor="agent-1")
    store.transition(items[0].id, "failed", actor="agent-1")
    counts = {q.name: c for q, c in store.list_queues("team")}
    assert counts == {"busy": {"queued": 2, "running": 1}, "idle": {}}


def test_update_queue_changes_given_fields_and_keeps_the_others(
        timed_store: QueueStore, clock: FakeClock) -> None:
    created = make_queue(timed_store, "train", description="old", **TEMPLATED)
    clock.advance(30)
    updated = timed_store.update_queue("team", "train", description="new",
                                       prioritization=True)
    assert updated.id == created.id
    assert updated.updated_at == clock.now
    assert updated.created_at == created.created_at
    stored = timed_store.get_queue("team", "train")
    assert stored.definition.description == "new"
    assert stored.definition.prioritization is True
    assert stored.definition.config == TEMPLATED["config"]
    assert stored.updated_at == clock.now


def test_update_queue_accepts_a_consistent_new_template(store: QueueStore) -> None:
    make_queue(store, "train", **TEMPLATED)
    store.update_queue("team", "train",
                       config={"env": {"LR": "{{ lr }}"}},
                       template_variables={"lr": {"type": "number", "minimum": 0}})
    stored = store.get_queue("team", "train").definition
    assert set(stored.template_variables) == {"lr"}
    assert stored.config == {"env": {"LR": "{{ lr }}"}}


@pytest.mark.parametrize("changes", [
    pytest.param({"config": {"env": {"EPOCHS": "{{ epochs }}", "LR": "{{ lr }}"}}},
                 id="config-uses-undeclared-variable"),
    pytest.param({"config": {}}, id="declared-variable-no-longer-used"),
    pytest.param({"template_variables": {"epochs": {"type": "string", "minimum": 1}}},
                 id="invalid-variable-schema"),
    pytest.param({"config": {"{{ epochs }}": 1}}, id="placeholder-in-key"),
    pytest.param({"resource": "mainframe"}, id="unknown-resource"),
    pytest.param({"colour": "blue"}, id="unknown-field"),
])
def test_update_queue_revalidates_and_writes_nothing_on_error(
        store: QueueStore, changes: dict) -> None:
    before = make_queue(store, "train", description="kept", **TEMPLATED)
    # The store's docstring promises InvalidInput; the API layer converts pydantic's
    # ValidationError. Either way the update must be refused.
    with pytest.raises((InvalidInput, ValidationError)):
        store.update_queue("team", "train", **changes)
    after = store.get_queue("team", "train")
    assert after.definition == before.definition
    assert after.updated_at == before.updated_at


def test_update_queue_refuses_to_change_entity_or_name(store: QueueStore) -> None:
    make_queue(store, "train")
    # The store's guard raises InvalidInput; today the keyword already collides with
    # update_queue's own ``entity``/``name`` parameters (TypeError). Both refuse.
    with pytest.raises((InvalidInput, TypeError)):
        store.update_queue("team", "train", name="renamed")
    with pytest.raises((InvalidInput, TypeError)):
        store.update_queue("team", "train", entity="other")
    assert store.get_queue("team", "train").name == "train"
    with pytest.raises(NotFound):
        store.get_queue("team", "renamed")


def test_update_unknown_queue_raises_not_found(store: QueueStore) -> None:
    with pytest.raises(NotFound):
        store.update_queue("team", "ghost", description="x")


def test_delete_empty_queue_removes_it(store: QueueStore) -> None:
    make_queue(store, "train")
    assert store.delete_queue("team", "train") == 0
    with pytest.raises(NotFound):
        store.get_queue("team", "train")
    make_queue(store, "train")  # the name is free again


def test_delete_unknown_queue_raises_not_found(store: QueueStore) -> None:
    with pytest.raises(NotFound):
        store.delete_queue("team", "ghost")


@pytest.mark.parametrize("path", [
    pytest.param([], id="queued"),
    pytest.param(["claimed"], id="claimed"),
    pytest.param(["claimed", "building"], id="building"),
    pytest.param(["claimed", "submitted", "running"], id="running"),
])
def test_delete_is_refused_while_an_item_is_queued_or_active(
        store: QueueStore, path: list[str]) -> None:
    queue = make_queue(store, "train")
    item = enqueue(store, queue)
    if path:
        assert store.claim("agent-1", [queue.id])[0].id == item.id
    for state in path[1:]:
        store.transition(item.id, state, actor="agent-1")
    with pytest.raises(Conflict, match="train"):
        store.delete_queue("team", "train")
    assert store.get_queue("team", "train").id == queue.id
    assert store.get_item(item.id).state == (path[-1] if path else "queued")


def test_delete_with_force_removes_the_queue_and_all_its_items(store: QueueStore) -> None:
    queue = make_queue(store, "train")
    other = make_queue(store, "other")
    running = enqueue(store, queue)
    queued = enqueue(store, queue)
    kept = enqueue(store, other)
    store.claim("agent-1", [queue.id])
    store.transition(running.id, "submitted", actor="agent-1")
    assert store.delete_queue("team", "train", force=True) == 2
    with pytest.raises(NotFound):
        store.get_queue("team", "train")
    for gone in (running, queued):
        with pytest.raises(NotFound):
            store.get_item(gone.id)
        assert store.events_for(gone.id) == []
    assert store.get_item(kept.id).state == "queued"


def test_delete_is_allowed_once_every_item_has_ended(store: QueueStore) -> None:
    queue = make_queue(store, "train")
    done, cancelled = enqueue(store, queue), enqueue(store, queue)
    store.claim("agent-1", [queue.id])
    store.transition(done.id, "submitted", actor="agent-1")
    store.transition(done.id, "finished", actor="agent-1")
    store.request_cancel(cancelled.id)
    assert store.delete_queue("team", "train") == 2
    with pytest.raises(NotFound):
        store.get_queue("team", "train")
