"""The queue item lifecycle (docs/operations.md, "Job states")."""

from __future__ import annotations

import itertools

import pytest

from launch_core.errors import IllegalTransition
from launch_core.store.states import (
    ACTIVE,
    TERMINAL,
    TRANSITIONS,
    check_transition,
)

STATES = ("queued", "claimed", "building", "submitted", "running",
          "finished", "failed", "cancelled")

# The allowed moves, written out from the design's diagram:
# forward through the pipeline, cancel from any live state, failure once claimed,
# back to queued on lease expiry / release (before submission) or preemption or retry
# (after); queued to failed past a queue's max_pending.
ALLOWED = {
    ("queued", "claimed"), ("queued", "cancelled"), ("queued", "failed"),
    ("claimed", "building"), ("claimed", "submitted"), ("claimed", "queued"),
    ("claimed", "failed"), ("claimed", "cancelled"),
    ("building", "submitted"), ("building", "queued"), ("building", "failed"),
    ("building", "cancelled"),
    ("submitted", "running"), ("submitted", "finished"), ("submitted", "failed"),
    ("submitted", "cancelled"), ("submitted", "queued"),
    ("running", "finished"), ("running", "failed"), ("running", "cancelled"),
    ("running", "queued"),
}


def test_every_state_is_in_the_table() -> None:
    assert set(TRANSITIONS) == set(STATES)
    assert all(targets <= set(STATES) for targets in TRANSITIONS.values())


@pytest.mark.parametrize(("current", "target"), sorted(ALLOWED))
def test_allowed_transitions_pass(current: str, target: str) -> None:
    check_transition(1, current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(STATES, STATES)) - ALLOWED),
)
def test_other_transitions_are_illegal(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition) as info:
        check_transition(7, current, target)
    assert (info.value.item_id, info.value.current, info.value.target) == (7, current, target)
    assert str(info.value) == f"item 7: cannot go from {current} to {target}"


@pytest.mark.parametrize("state", TERMINAL)
def test_terminal_states_have_no_exit(state: str) -> None:
    assert TRANSITIONS[state] == frozenset()


@pytest.mark.parametrize("state", ("queued",) + ACTIVE)
def test_every_live_state_can_be_cancelled(state: str) -> None:
    check_transition(1, state, "cancelled")


@pytest.mark.parametrize(
    ("current", "target"),
    [("unknown", "queued"), ("queued", "unknown"), ("", ""), ("QUEUED", "CLAIMED"),
     ("queued", "queued")],
)
def test_unknown_or_self_transitions_are_illegal(current: str, target: str) -> None:
    with pytest.raises(IllegalTransition):
        check_transition(1, current, target)


def test_terminal_and_active_partition_the_non_queued_states() -> None:
    assert set(TERMINAL) | set(ACTIVE) | {"queued"} == set(STATES)
    assert not set(TERMINAL) & set(ACTIVE)
