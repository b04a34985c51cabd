"""Agent registration, heartbeats, listing and stop requests."""

from __future__ import annotations

import os
import socket
import uuid

from sqlalchemy import func, insert, select, update

from launch_core.errors import NotFound
from launch_core.store.base import StoreBase
from launch_core.store.records import AgentRecord
from launch_core.store.schema import agents, items
from launch_core.store.states import ACTIVE

STALE_AFTER = 60.0  # seconds without a heartbeat after which an agent counts as lost
STOP_FINISH, STOP_NOW = "finish", "now"  # agents.stop_requested


def agent_state(agent: AgentRecord, running: int, now: float, *,
                stale_after: float = STALE_AFTER) -> str:
    """What an agent is doing: 'stopped' (it recorded its stop), 'lost' (no heartbeat
    for ``stale_after`` seconds), 'stopping' (a stop was asked), 'running' (it holds
    active jobs) or 'polling'."""
    if agent.stopped_at is not None:
        return "stopped"
    if agent.heartbeat_at < now - stale_after:
        return "lost"
    if agent.stop_requested is not None:
        return "stopping"
    return "running" if running else "polling"


class AgentOps(StoreBase):
    """Rows that say which agents poll which queues, and whether they are alive."""

    def register_agent(self, entity: str, queues: list[str], max_jobs: int,
                       gpus: list[str] | None = None) -> AgentRecord:
        """Register a new agent (a fresh id per process start), with the GPU devices
        it shares out, if any."""
        now = self.clock()
        record = AgentRecord(id=f"agent-{uuid.uuid4().hex[:12]}", entity=entity,
                             queues=list(queues), hostname=socket.gethostname(),
                             pid=os.getpid(), max_jobs=max_jobs, started_at=now,
                             heartbeat_at=now, stopped_at=None, gpus=gpus)
        with self._write() as conn:
            conn.execute(insert(agents).values(**record.__dict__))
        return record

    def heartbeat_agent(self, agent_id: str) -> None:
        """Record that the agent is alive."""
        with self._write() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id)
                         .values(heartbeat_at=self.clock()))

    def stop_agent(self, agent_id: str) -> None:
        """Mark an agent as stopped (it no longer polls)."""
        with self._write() as conn:
            conn.execute(update(agents).where(agents.c.id == agent_id)
                         .values(stopped_at=self.clock()))

    def live_agents(self, entity: str, *, stale_after: float = STALE_AFTER
                    ) -> list[AgentRecord]:
        """Agents of ``entity`` that heartbeat within ``stale_after`` seconds and run."""
        cutoff = self.clock() - stale_after
        query = select(agents).where(agents.c.entity == entity, agents.c.stopped_at.is_(None),
                                     agents.c.heartbeat_at >= cutoff)
        with self._read() as conn:
            return [AgentRecord(**row._mapping) for row in conn.execute(query)]

    def active_counts(self, agent_ids: list[str]) -> dict[str, int]:
        """How many active (claimed to running) items each agent holds."""
        if not agent_ids:
            return {}
        query = (select(items.c.agent_id, func.count()).where(
            items.c.agent_id.in_(agent_ids), items.c.state.in_(ACTIVE))
            .group_by(items.c.agent_id))
        with self._read() as conn:
            counts = {agent_id: int(n) for agent_id, n in conn.execute(query)}
        return {agent_id: counts.get(agent_id, 0) for agent_id in agent_ids}

    def list_agents(self, entity: str) -> list[tuple[AgentRecord, int]]:
        """Every agent of ``entity`` (newest first, stopped ones too) with how many
        active items it holds."""
        running = (select(items.c.agent_id, func.count().label("n"))
                   .where(items.c.state.in_(ACTIVE), items.c.agent_id.is_not(None))
                   .group_by(items.c.agent_id).subquery())
        query = (select(agents, func.coalesce(running.c.n, 0).label("running"))
                 .outerjoin(running, running.c.agent_id == agents.c.id)
                 .where(agents.c.entity == entity)
                 .order_by(agents.c.started_at.desc(), agents.c.id))
        with self._read() as conn:
            rows = [row._mapping for row in conn.execute(query)]
        return [(AgentRecord(**{c.name: row[c.name] for c in agents.c}), int(row["running"]))
                for row in rows]

    def request_stop(self, agent_id: str, *, now: bool = False) -> AgentRecord:
        """Ask a running agent to stop: it finishes its running jobs first, or with
        ``now`` releases them for re-adoption. NotFound for an unknown or stopped id."""
        # A stop 'now' asked before stays 'now' (its jobs are being released already).
        mode = STOP_NOW if now else func.coalesce(agents.c.stop_requested, STOP_FINISH)
        with self._write() as conn:
            row = conn.execute(
                update(agents).where(agents.c.id == agent_id, agents.c.stopped_at.is_(None))
                .values(stop_requested=mode).returning(*agents.c)).one_or_none()
            if row is None:
                stopped = conn.execute(select(agents.c.stopped_at)
                                       .where(agents.c.id == agent_id)).one_or_none()
        if row is None:
            raise NotFound(f"agent {agent_id} " + (
                "not found" if stopped is None else "has stopped already"))
        return AgentRecord(**row._mapping)

    def stop_request(self, agent_id: str) -> str | None:
        """What stop was asked of the agent: 'finish', 'now' or None."""
        with self._read() as conn:
            mode = conn.execute(select(agents.c.stop_requested)
                                .where(agents.c.id == agent_id)).scalar()
        return str(mode) if mode is not None else None
