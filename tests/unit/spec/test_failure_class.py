"""Failure classes (--retry-on) and the next allowed value of a raised variable."""

from __future__ import annotations

from typing import Any

import pytest

from launch_core.spec.failure_class import (
    OOM,
    PREEMPTION,
    infra_failure,
    last_retry,
    retry_message,
    run_failure,
)
from launch_core.spec.models import TemplateVariable
from launch_core.spec.policy import QueuePolicy
from launch_core.store.retries import next_value


def policy(*classes: str) -> QueuePolicy:
    return QueuePolicy(retry=1, retry_on=list(classes))


@pytest.mark.parametrize(("failure", "listed", "retried"), [
    (run_failure(3, None), "exit:3", True),
    (run_failure(3, None), "exit:4", False),
    (run_failure(137, OOM), "oom", True),
    (run_failure(137, OOM), "exit:137", True),  # an OOM kill is its exit code too
    (run_failure(137, None), "oom", False),  # 137 alone (a SIGKILL) is no OOM
    (run_failure(None, None), "exit:0", False),
    (infra_failure("API server unreachable"), "infra", True),
    (PREEMPTION, "preempted", True),
    (PREEMPTION, "infra", False),
])
def test_a_failure_is_retried_by_the_classes_it_belongs_to(
        failure: Any, listed: str, retried: bool) -> None:
    assert failure.retried_by(policy(listed)) is retried


def test_retry_messages_say_what_the_retry_came_after() -> None:
    assert retry_message(1, 2, run_failure(3, None)) == "retry 1 of 2 after exit code 3"
    assert retry_message(2, 2, run_failure(137, OOM)) == "retry 2 of 2 after OOM"
    assert retry_message(1, 1, infra_failure("503\nmore")) == (
        "retry 1 of 1 after an infrastructure error: 503")
    assert retry_message(1, 3, PREEMPTION) == "retry 1 of 3 after preemption"
    assert last_retry([None, "retry 1 of 2 after OOM", "re-adopted",
                       "retry 2 of 2 after OOM"]) == "retry 2 of 2 after OOM"
    assert last_retry(["re-adopted", None]) is None


@pytest.mark.parametrize(("schema", "value", "expected"), [
    ({"type": "string", "enum": ["16Gi", "32Gi", "64Gi"]}, "16Gi", "32Gi"),
    ({"type": "string", "enum": ["16Gi", "32Gi", "64Gi"]}, "64Gi", None),  # at the top
    ({"type": "integer", "maximum": 12}, 5, 10),
    ({"type": "integer", "maximum": 12}, 8, 12),  # doubled, capped
    ({"type": "integer", "maximum": 12}, 12, None),
    ({"type": "number", "maximum": 3.0}, 1.25, 2.5),
    ({"type": "integer"}, 5, None),  # no maximum: nowhere to raise to
    ({"type": "integer", "maximum": 8}, 0, None),  # doubling 0 raises nothing
    ({"type": "string", "pattern": "^[a-z]+$"}, "abc", None),
])
def test_the_next_allowed_value(schema: dict[str, Any], value: Any, expected: Any) -> None:
    assert next_value(TemplateVariable.model_validate(schema), value) == expected
