"""Retrying a failed item under its queue's policy (``--retry``, ``--retry-on``,
``--retry-raise``): the item goes back to ``queued`` with the same run id, one more
resume and one more retry, instead of ending ``failed``.

Called inside the transaction that would fail the item (``ItemOps.fail``, ``preempt``,
``ClaimOps._another_attempt``), so the retry is fenced and logged as that write is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select

from launch_core.errors import TemplateError
from launch_core.spec.failure_class import OOM, Failure, infra_failure, retry_message
from launch_core.spec.models import LaunchSpec, QueueDefinition, TemplateVariable, coerce_value
from launch_core.spec.templating import resolve_values
from launch_core.store.base import StoreBase
from launch_core.store.records import Claim, QueueItem
from launch_core.store.schema import queues
from launch_core.store.states import LAUNCHED, QUEUED


def queue_definition(conn: Connection, queue_id: int) -> QueueDefinition:
    """The definition of the queue with this id, read in ``conn``'s transaction."""
    row = conn.execute(select(queues.c.definition).where(queues.c.id == queue_id)).one()
    return QueueDefinition.model_validate(row.definition)


def retry(store: StoreBase, conn: Connection, item: QueueItem, failure: Failure, actor: str,
          claim: Claim | None) -> QueueItem | None:
    """Send ``item`` back to ``queued`` for another try when its queue's policy retries
    ``failure`` and has retries left; None (nothing written) otherwise.

    A launched item gets resume_count+1 (its next run is a resume, under a new run
    name); an unsubmitted one keeps it, so a run an earlier attempt started unrecorded
    is re-attached, never started twice. After an OOM, the queue's ``retry_raise``
    variables go to their next allowed value (``items.raised``). Raises LostClaim as
    ``_move`` does.
    """
    if item.cancel_requested:
        return None
    queue = queue_definition(conn, item.queue_id)
    policy = queue.policy
    if not failure.retried_by(policy) or item.retries >= policy.retry:
        return None
    raised: dict[str, Any] = dict(item.raised or {})
    notes: list[str] = []
    if OOM in failure.classes and policy.retry_raise:
        raised, notes = raise_values(queue, item, policy.retry_raise)
    number = item.retries + 1
    message = "; ".join([retry_message(number, policy.retry, failure), *notes])
    values: dict[str, Any] = {
        "agent_id": None, "lease_expires_at": None, "updated_at": store.clock(),
        "handle": None, "retries": number, "attempts": 0, "raised": raised or None,
        "started_at": None,  # max_runtime counts from this try's start
        "resume_count": item.resume_count + (1 if item.state in LAUNCHED else 0)}
    return store._move(conn, item, QUEUED, actor, message, values, claim)


def with_raised(item: QueueItem) -> LaunchSpec:
    """``item``'s spec with the template values its retries raised (``items.raised``)
    over the ones it was enqueued with: what the agent resolves its config from."""
    if not item.raised:
        return item.spec
    values = {**item.spec.template_values, **item.raised}
    return item.spec.model_copy(update={"template_values": values})


def raise_values(queue: QueueDefinition, item: QueueItem, names: list[str]
                 ) -> tuple[dict[str, Any], list[str]]:
    """(the item's raised values with each of ``names`` at its next allowed value, one
    note per name saying what changed or why it did not). The result is checked
    against the queue's variables again; a value they refuse is not raised."""
    raised = dict(item.raised or {})
    try:
        current = resolve_values(queue.template_variables,
                                 {**item.spec.template_values, **raised})
    except TemplateError as exc:
        return raised, [f"nothing raised: {exc}"]
    notes = []
    for name in names:
        var = queue.template_variables.get(name)
        if var is None:
            notes.append(f"{name} not raised: the queue has no such variable")
            continue
        value = next_value(var, current[name])
        if value is None or value == current[name]:
            notes.append(f"{name} already at its top ({current[name]})")
            continue
        try:
            resolve_values(queue.template_variables,
                           {**item.spec.template_values, **raised, name: value})
        except TemplateError as exc:
            notes.append(f"{name} not raised: {exc}")
            continue
        raised[name] = value
        notes.append(f"raised {name} {current[name]} -> {value}")
    return raised, notes


def next_value(var: TemplateVariable, value: Any) -> Any:
    """The value after ``value`` within ``var``'s bounds: an enum's next value in its
    order; a number doubled, capped at its maximum. None when there is none (the
    last of the enum, a number at its maximum or without one)."""
    if var.enum is not None:
        if value not in var.enum:
            return None
        index = var.enum.index(value)
        return var.enum[index + 1] if index + 1 < len(var.enum) else None
    if var.type in ("integer", "number") and var.maximum is not None \
            and isinstance(value, int | float) and value < var.maximum:
        return coerce_value(var, min(value * 2, var.maximum)) if value > 0 else None
    return None


def retry_infra(store: StoreBase, conn: Connection, item: QueueItem, why: str, actor: str,
                claim: Claim | None) -> QueueItem | None:
    """``retry`` for an item that failed for the infrastructure's sake (``why``: its
    agents died before it was launched, say)."""
    return retry(store, conn, item, infra_failure(why), actor, claim)
