"""Table definitions of the queue store (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

metadata = MetaData()
# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")

queues = Table(
    "queues", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("entity", String(64), nullable=False),
    Column("name", String(64), nullable=False),
    Column("definition", JSON, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("entity", "name", name="uq_queues_entity_name"),
)

items = Table(
    "items", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("queue_id", Id, ForeignKey("queues.id", ondelete="CASCADE"), nullable=False),
    Column("state", String(16), nullable=False),
    Column("priority", SmallInteger, nullable=False),
    Column("enqueued_at", Float, nullable=False),
    Column("run_id", String(32), nullable=False, unique=True),
    Column("spec", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("max_attempts", Integer, nullable=False, server_default="3"),
    Column("agent_id", String(64)),
    # Fencing token: +1 at each claim and re-adoption; an agent's writes name it.
    Column("claim_token", Integer, nullable=False, server_default="0"),
    Column("lease_expires_at", Float),
    Column("handle", JSON),
    Column("stage", String(16)),
    Column("reason", Text),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Column("resume_count", Integer, nullable=False, server_default="0"),
    Column("exit_code", Integer),
    Column("started_at", Float),
    Column("finished_at", Float),
    Column("updated_at", Float, nullable=False),
    # Scheduling (migration 0004): who enqueued it (the PostgreSQL role or the OS
    # user), its project ('' for none), the GPUs its resource's demand() counted, the
    # agent's GPU devices it holds while active, how many times it was retried, and
    # the template values a retry raised (over the spec's own; the spec never changes).
    Column("submitter", String(128), nullable=False, server_default=""),
    Column("project", String(128), nullable=False, server_default=""),
    Column("gpus", Integer),  # NULL: enqueued before migration 0004, not counted
    Column("devices", JSON),
    Column("retries", Integer, nullable=False, server_default="0"),
    Column("raised", JSON),
)

events = Table(
    "events", metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("item_id", Id, ForeignKey("items.id", ondelete="CASCADE"), nullable=False),
    Column("from_state", String(16)),
    Column("to_state", String(16), nullable=False),
    Column("actor", String(128), nullable=False),
    Column("at", Float, nullable=False),
    Column("message", Text),
)

agents = Table(
    "agents", metadata,
    Column("id", String(64), primary_key=True),
    Column("entity", String(64), nullable=False),
    Column("queues", JSON, nullable=False),
    Column("hostname", String(255), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("max_jobs", Integer, nullable=False),
    Column("started_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("stopped_at", Float),
    Column("gpus", JSON),  # the GPU devices it shares out (launch-agent --gpus), or NULL
    # relaunch agent stop: NULL, 'finish' (end its jobs, then exit) or 'now' (release them)
    Column("stop_requested", String(8)),
)

quotas = Table(
    "quotas", metadata,
    # Limits over every queue of an entity (relaunch quota set): for the whole entity
    # (scope 'entity', name ''), one user or one project. NULL: no limit of that kind.
    Column("entity", String(64), primary_key=True),
    Column("scope", String(8), primary_key=True),
    Column("name", String(128), primary_key=True),
    Column("running", Integer),
    Column("gpus", Integer),
    Column("updated_at", Float, nullable=False),
)

blobs = Table(
    "blobs", metadata,
    # The entity that uploaded the tarball owns it: only its jobs may name it and
    # only its agents read it (docs/access.md). The same bytes uploaded by two
    # entities are two rows.
    Column("entity", String(64), primary_key=True),
    Column("digest", String(71), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", Float, nullable=False),
)


def declare_indexes() -> MetaData:
    """Add the indexes to ``metadata`` (idempotent) and return it.

    Not done at import: the partial indexes' ``postgresql_where`` loads the
    PostgreSQL dialect, which would slow every CLI start. Alembic and the schema
    test call this; the migrations create the indexes.
    """
    if items.indexes:
        return metadata
    active = "state IN ('claimed', 'building', 'submitted', 'running')"
    orphan = "state IN ('submitted', 'running') AND agent_id IS NULL"
    queued = "state = 'queued'"
    c = items.c
    Index("ix_items_claim", c.queue_id, c.priority, c.enqueued_at, c.id,
          postgresql_where=text(queued), sqlite_where=text(queued))
    Index("ix_items_lease", c.lease_expires_at,
          postgresql_where=text(active), sqlite_where=text(active))
    Index("ix_items_agent", c.agent_id, postgresql_where=text(active), sqlite_where=text(active))
    Index("ix_items_orphans", c.queue_id, postgresql_where=text(orphan), sqlite_where=text(orphan))
    Index("ix_items_queue_state", c.queue_id, c.state)
    Index("ix_items_fair_submitter", c.queue_id, c.submitter, c.priority, c.enqueued_at, c.id,
          postgresql_where=text(queued), sqlite_where=text(queued))
    Index("ix_items_fair_project", c.queue_id, c.project, c.priority, c.enqueued_at, c.id,
          postgresql_where=text(queued), sqlite_where=text(queued))
    Index("ix_events_item_id", events.c.item_id)
    return metadata
