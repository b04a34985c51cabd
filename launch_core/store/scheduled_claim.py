"""The scheduled claim: caps, fair share, quotas and GPU slots, decided atomically.

A claim takes this path when one of the agent's queues has a cap or fair share, the
entity has a quota, or the agent shares out GPU devices (``--gpus``); otherwise the
plain priority-then-age claim of claims.py runs. Every scheduled claim of an entity
holds one lock for its whole transaction (PostgreSQL: a transaction-scoped advisory
lock on the entity; SQLite: the database write lock taken at BEGIN), reads what is
running, and picks item by item, so two agents can never together overshoot a cap,
a quota or a device.

Order within a queue: priority, then (fair share) the user or project with the
fewest items running in the queue, then enqueue time, then id. An item held for its
dependencies is never taken, as in the plain claim.
"""

from __future__ import annotations

import socket
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    func,
    select,
    text,
    tuple_,
    update,
)

from launch_core.spec.policy import QueuePolicy
from launch_core.store.records import QueueItem
from launch_core.store.schema import CLAIMABLE, agents, items, queues, quotas
from launch_core.store.states import ACTIVE, CLAIMED, QUEUED

# Queued rows read per query while looking for one the quotas allow.
_PAGE = 32
ENTITY, USER, PROJECT = "entity", "user", "project"


@dataclass(frozen=True)
class GpuSlots:
    """The GPU devices an agent shares out (``launch-agent --gpus``) and the queues
    whose runs use them (those of a resource that runs on the agent's host)."""

    devices: tuple[str, ...]
    queue_ids: frozenset[int]


@dataclass(frozen=True)
class Quota:
    """A limit over every queue of an entity: for the whole entity, a user or a
    project. None: no limit of that kind."""

    entity: str
    scope: str  # ENTITY, USER or PROJECT
    name: str  # '' for ENTITY
    running: int | None
    gpus: int | None


def _key(scope: str, entity: str, name: str) -> tuple[str, str, str]:
    return (scope, entity, "" if scope == ENTITY else name)


def item_keys(entity: str, submitter: str, project: str) -> list[tuple[str, str, str]]:
    """The quota keys an item of ``entity`` counts under."""
    return [_key(ENTITY, entity, ""), _key(USER, entity, submitter),
            _key(PROJECT, entity, project)]


@dataclass
class Usage:
    """What runs now: per queue, per fair-share group of a queue, per quota key
    (items and GPUs), and the agent's devices in use."""

    entity_of: dict[int, str]
    policies: dict[int, QueuePolicy]
    quotas: dict[tuple[str, str, str], Quota]
    per_queue: Counter[int] = field(default_factory=Counter)
    per_group: Counter[tuple[int, str]] = field(default_factory=Counter)
    running: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    gpus: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    devices_in_use: set[str] = field(default_factory=set)

    def group(self, queue_id: int, submitter: str, project: str) -> str | None:
        share = self.policies[queue_id].fair_share
        return submitter if share == USER else project if share == PROJECT else None

    def add(self, queue_id: int, submitter: str, project: str, gpus: int,
            count: int = 1) -> None:
        """Count ``count`` active items of this queue, user and project, holding
        ``gpus`` GPUs in all."""
        self.per_queue[queue_id] += count
        group = self.group(queue_id, submitter, project)
        if group is not None:
            self.per_group[(queue_id, group)] += count
        for key in item_keys(self.entity_of[queue_id], submitter, project):
            self.running[key] += count
            self.gpus[key] += gpus

    def at_cap(self, queue_id: int) -> bool:
        cap = self.policies[queue_id].max_running
        return cap is not None and self.per_queue[queue_id] >= cap

    def quota_block(self, entity: str, submitter: str, project: str, gpus: int) -> str | None:
        """Why a quota stops an item of this user and project now, else None."""
        for key in item_keys(entity, submitter, project):
            quota = self.quotas.get(key)
            if quota is None:
                continue
            who = "entity" if quota.scope == ENTITY else f"{quota.scope} {quota.name}"
            if quota.running is not None and self.running[key] >= quota.running:
                return f"quota: {who} runs {self.running[key]} of {quota.running}"
            if gpus and quota.gpus is not None and self.gpus[key] + gpus > quota.gpus:
                return (f"quota: {who} uses {self.gpus[key]} of {quota.gpus} GPUs; "
                        f"this job needs {gpus}")
        return None

    def entity_full(self, entity: str) -> bool:
        """Whether the entity's own quota of running items is reached."""
        quota = self.quotas.get(_key(ENTITY, entity, ""))
        return (quota is not None and quota.running is not None
                and self.running[_key(ENTITY, entity, "")] >= quota.running)

    def blocked(self, scope: str, entity: str) -> list[str]:
        """Users or projects of ``entity`` whose running quota is reached."""
        return [key[2] for key, quota in self.quotas.items()
                if key[0] == scope and key[1] == entity and quota.running is not None
                and self.running[key] >= quota.running]

    def gpus_left(self, entity: str) -> int | None:
        quota = self.quotas.get(_key(ENTITY, entity, ""))
        if quota is None or quota.gpus is None:
            return None
        return max(quota.gpus - self.gpus[_key(ENTITY, entity, "")], 0)


def lock_entities(conn: Connection, entities: Iterable[str]) -> None:
    """Serialise the scheduled claims of these entities until the transaction ends
    (PostgreSQL; SQLite's write lock already does). Sorted, so never a deadlock."""
    if conn.dialect.name != "postgresql":
        return
    for entity in sorted(set(entities)):
        key = zlib.crc32(f"relaunch-claim:{entity}".encode())
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def read_quotas(conn: Connection, entities: Iterable[str]
                ) -> dict[tuple[str, str, str], Quota]:
    rows = conn.execute(select(quotas).where(quotas.c.entity.in_(sorted(set(entities)))))
    return {(r.scope, r.entity, r.name): Quota(r.entity, r.scope, r.name, r.running, r.gpus)
            for r in rows}


def read_usage(conn: Connection, entities: Iterable[str], *, devices: bool = False
               ) -> Usage:
    """What runs now in every queue of ``entities``, with their policies and quotas
    (counted in SQL, one row per queue, user and project); with ``devices``, also the
    GPU devices held on this host."""
    entities = sorted(set(entities))
    queue_rows = conn.execute(select(queues.c.id, queues.c.entity, queues.c.definition)
                              .where(queues.c.entity.in_(entities))).all()
    usage = Usage(entity_of={r.id: r.entity for r in queue_rows},
                  policies={r.id: policy_of(r.definition) for r in queue_rows},
                  quotas=read_quotas(conn, entities))
    active = (items.c.queue_id.in_(list(usage.entity_of)), items.c.state.in_(list(ACTIVE)))
    counted = conn.execute(select(items.c.queue_id, items.c.submitter, items.c.project,
                                  func.count().label("items"),
                                  func.coalesce(func.sum(items.c.gpus), 0).label("gpus"))
                           .where(*active)
                           .group_by(items.c.queue_id, items.c.submitter, items.c.project))
    for row in counted:
        usage.add(row.queue_id, row.submitter, row.project, int(row.gpus), int(row.items))
    if devices:
        held = conn.execute(select(items.c.agent_id, items.c.devices)
                            .where(*active, items.c.devices.is_not(None))).all()
        usage.devices_in_use = devices_on_this_host(conn, [r for r in held if r.devices])
    return usage


def devices_on_this_host(conn: Connection, rows: list[Any]) -> set[str]:
    """The devices active items hold on this host: those of agents of this host (an
    agent's id changes at each start, its jobs' processes and containers outlive
    it), and those of items no agent holds now (orphans await re-adoption; counted
    wherever they run, so no device is ever given twice)."""
    here = socket.gethostname()
    ids = sorted({row.agent_id for row in rows if row.agent_id})
    hosts = dict(conn.execute(select(agents.c.id, agents.c.hostname)
                              .where(agents.c.id.in_(ids))).all()) if ids else {}
    return {str(device) for row in rows for device in row.devices
            if row.agent_id is None or hosts.get(row.agent_id, here) == here}


def policy_of(definition: Any) -> QueuePolicy:
    data = definition.get("policy") if isinstance(definition, dict) else None
    return QueuePolicy.model_validate(data or {})


@dataclass(frozen=True)
class _Candidate:
    id: int
    queue_id: int
    priority: int
    level: int  # the fair-share group's running items (0 without fair share)
    enqueued_at: float
    submitter: str
    project: str
    gpus: int

    @property
    def order(self) -> tuple[int, int, float, int]:
        return (self.priority, self.level, self.enqueued_at, self.id)


def _queued(queue_id: int) -> Any:
    return (select(items.c.id, items.c.queue_id, items.c.priority, items.c.enqueued_at,
                   items.c.submitter, items.c.project, items.c.gpus)
            .where(text(CLAIMABLE), items.c.queue_id == queue_id)
            .order_by(items.c.priority, items.c.enqueued_at, items.c.id))


class Picker:
    """Chooses, one at a time, the next item a scheduled claim takes."""

    def __init__(self, conn: Connection, usage: Usage, slots: GpuSlots | None) -> None:
        self.conn = conn
        self.usage = usage
        self.slots = slots
        self.taken: set[int] = set()

    def free_devices(self) -> list[str]:
        if self.slots is None:
            return []
        return [d for d in self.slots.devices if d not in self.usage.devices_in_use]

    def next(self, queue_ids: Sequence[int]) -> _Candidate | None:
        best: _Candidate | None = None
        for queue_id in queue_ids:
            if queue_id not in self.usage.policies or self.usage.at_cap(queue_id):
                continue
            found = self._best_in_queue(queue_id)
            if found is not None and (best is None or found.order < best.order):
                best = found
        return best

    def take(self, candidate: _Candidate) -> list[str] | None:
        """Count ``candidate`` as running; the devices it gets (None: no slots)."""
        self.taken.add(candidate.id)
        self.usage.add(candidate.queue_id, candidate.submitter, candidate.project,
                       candidate.gpus)
        if self.slots is None or candidate.queue_id not in self.slots.queue_ids:
            return None
        devices = self.free_devices()[:candidate.gpus]
        self.usage.devices_in_use.update(devices)
        return devices

    def _best_in_queue(self, queue_id: int) -> _Candidate | None:
        usage = self.usage
        entity = usage.entity_of[queue_id]
        if usage.entity_full(entity):
            return None
        query = _queued(queue_id)
        if self.taken:
            query = query.where(items.c.id.not_in(sorted(self.taken)))
        if users := usage.blocked(USER, entity):
            query = query.where(items.c.submitter.not_in(users))
        if projects := usage.blocked(PROJECT, entity):
            query = query.where(items.c.project.not_in(projects))
        limits = [n for n in (usage.gpus_left(entity), self._slot_limit(queue_id))
                  if n is not None]
        if limits:
            query = query.where(func.coalesce(items.c.gpus, 0) <= min(limits))
        share = usage.policies[queue_id].fair_share
        if share == "none":
            return self._first_allowed(query, queue_id, 0)
        column = items.c.submitter if share == USER else items.c.project
        levels: dict[int, list[str]] = {}
        for (qid, group), count in usage.per_group.items():
            if qid == queue_id and count > 0:
                levels.setdefault(count, []).append(group)
        busy = [group for groups in levels.values() for group in groups]
        found = [self._first_allowed(query.where(column.not_in(busy)) if busy else query,
                                     queue_id, 0)]
        found += [self._first_allowed(query.where(column.in_(groups)), queue_id, level)
                  for level, groups in sorted(levels.items())]
        present = [c for c in found if c is not None]
        return min(present, key=lambda c: c.order) if present else None

    def _slot_limit(self, queue_id: int) -> int | None:
        if self.slots is None or queue_id not in self.slots.queue_ids:
            return None
        return len(self.free_devices())

    def _first_allowed(self, query: Any, queue_id: int, level: int) -> _Candidate | None:
        """The first row of ``query`` (claim order) whose user and project quotas
        allow it, read a page at a time."""
        entity = self.usage.entity_of[queue_id]
        after: ColumnElement[bool] | None = None
        while True:
            page = query if after is None else query.where(after)
            rows = self.conn.execute(page.limit(_PAGE)).all()
            for row in rows:
                gpus = row.gpus or 0
                if self.usage.quota_block(entity, row.submitter, row.project, gpus) is None:
                    return _Candidate(row.id, queue_id, row.priority, level, row.enqueued_at,
                                      row.submitter, row.project, gpus)
            if len(rows) < _PAGE:
                return None
            last = rows[-1]
            after = _after(last.priority, last.enqueued_at, last.id)


def _after(priority: int, enqueued_at: float, item_id: int) -> ColumnElement[bool]:
    return (tuple_(items.c.priority, items.c.enqueued_at, items.c.id)
            > tuple_(priority, enqueued_at, item_id))


def claim_picked(conn: Connection, picker: Picker, queue_ids: Sequence[int], limit: int,
                 values: dict[str, Any]) -> list[Any]:
    """Claim up to ``limit`` items ``picker`` chooses; their rows as updated."""
    rows: list[Any] = []
    while len(rows) < limit:
        candidate = picker.next(queue_ids)
        if candidate is None:
            break
        devices = picker.take(candidate)
        row = conn.execute(update(items).where(  # still queued where the picker saw it
            items.c.id == candidate.id, items.c.state == QUEUED, items.c.held.is_(False),
            items.c.queue_id == candidate.queue_id,
        ).values(state=CLAIMED, claim_token=items.c.claim_token + 1, devices=devices,
                 **values).returning(*items.c)).first()
        if row is not None:  # else cancelled meanwhile: its slot stays counted this once
            rows.append(row)
    return rows


def waiting_reasons(conn: Connection, item: QueueItem, entity: str, *,
                    uses_slots: bool = False, usage: Usage | None = None) -> list[str]:
    """Why a queued item is not claimed now, as ``job status`` says it: its queue's
    cap, a quota, its fair-share turn, or (``uses_slots``: its resource runs on the
    agents' hosts) GPUs no agent of its queue has free. Empty: nothing holds it.
    ``usage``: ``read_usage(conn, [entity])`` read once for several items."""
    usage = usage or read_usage(conn, [entity])
    reasons = []
    policy = usage.policies.get(item.queue_id, QueuePolicy())
    if usage.at_cap(item.queue_id):
        reasons.append(f"queue at max-running {policy.max_running}")
    block = usage.quota_block(entity, item.submitter, item.project, item.gpus or 0)
    if block is not None:
        reasons.append(block)
    group = usage.group(item.queue_id, item.submitter, item.project)
    if group is not None and (mine := usage.per_group[(item.queue_id, group)]) > 0:
        column = items.c.submitter if policy.fair_share == USER else items.c.project
        others = conn.execute(select(column).distinct().where(
            items.c.queue_id == item.queue_id, items.c.state == QUEUED, column != group,
            items.c.priority <= item.priority).limit(1000)).scalars()
        fewer = sum(1 for g in others if usage.per_group[(item.queue_id, g)] < mine)
        if fewer:
            reasons.append(f"fair share by {policy.fair_share}: {group or '(none)'} runs "
                           f"{mine} in this queue; {fewer} with fewer running go first")
    if uses_slots and item.gpus:
        reasons.extend(_gpu_wait(conn, item, entity))
    return reasons


def _gpu_wait(conn: Connection, item: QueueItem, entity: str) -> list[str]:
    """"needs 2 GPUs, agent A has 1 free" for the live agents of the item's queue that
    share out GPUs (none such: no agent limits it)."""
    queue_name = conn.execute(select(queues.c.name).where(
        queues.c.id == item.queue_id)).scalar_one()
    best: tuple[int, str] | None = None
    rows = conn.execute(select(agents.c.id, agents.c.queues, agents.c.gpus).where(
        agents.c.entity == entity, agents.c.stopped_at.is_(None),
        agents.c.gpus.is_not(None))).all()
    for row in rows:
        if queue_name not in (row.queues or []):
            continue
        held = conn.execute(select(items.c.devices).where(
            items.c.agent_id == row.id, items.c.state.in_(list(ACTIVE)))).scalars()
        used = {str(d) for devices in held for d in (devices or [])}
        free = len([d for d in row.gpus if str(d) not in used])
        if best is None or free > best[0]:
            best = (free, row.id)
    needs = item.gpus or 0
    if best is None or best[0] >= needs:
        return []
    return [f"needs {needs} GPUs, agent {best[1]} has {best[0]} free"]
