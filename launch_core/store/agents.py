"""Agent registration and heartbeats."""

from __future__ import annotations

import os
import socket
import uuid

from sqlalchemy import func, insert, select, update

from launch_core.store.base import StoreBase
from launch_core.store.records import AgentRecord
from launch_core.store.schema import agents, items
from launch_core.store.states import ACTIVE


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

    def live_agents(self, entity: str, *, stale_after: float = 60.0) -> list[AgentRecord]:
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
