"""Table definitions of the queue store (the migrations create them)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
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
MAX_ID = 2**63 - 1  # the largest id an item can have (a 64-bit integer column)

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
    # Groups (migration 0007): the group an array (or a sweep) put it in, its index in
    # the array (RELAUNCH_ARRAY_INDEX), and whether it is held: queued, but not to be
    # claimed until every item it waits for (item_deps) has finished.
    Column("group_id", String(64)),
    Column("array_index", Integer),
    Column("held", Boolean, nullable=False, server_default=text("false")),
)

item_deps = Table(
    "item_deps", metadata,
    # launch --after: item_id waits until after_id has finished; it is cancelled when
    # after_id fails or is cancelled (launch_core/store/dependencies.py). An item waits
    # only for items older than itself, so dependencies never form a cycle.
    Column("item_id", Id, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("after_id", Id, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    CheckConstraint("after_id < item_id", name="ck_item_deps_older"),
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

# Launch jobs (migration 0008): named recipes of an entity (relaunch job create), in
# versions v0, v1, ... (never reused while the job exists: next_version) whose content
# digest decides whether a create is new, and aliases naming one version each.
launch_jobs = Table(
    "launch_jobs", metadata,
    Column("entity", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("next_version", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

launch_job_versions = Table(
    "launch_job_versions", metadata,
    Column("entity", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("digest", String(71), nullable=False),
    Column("recipe", JSON, nullable=False),  # launch_core.spec.job_recipe.JobRecipe
    Column("created_at", Float, nullable=False),
    ForeignKeyConstraint(["entity", "name"], ["launch_jobs.entity", "launch_jobs.name"],
                         name="fk_launch_job_versions_job", ondelete="CASCADE"),
    UniqueConstraint("entity", "name", "digest", name="uq_launch_job_versions_digest"),
)

launch_job_aliases = Table(
    "launch_job_aliases", metadata,
    Column("entity", String(64), primary_key=True),
    Column("name", String(64), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    ForeignKeyConstraint(["entity", "name", "version"],
                         ["launch_job_versions.entity", "launch_job_versions.name",
                          "launch_job_versions.version"],
                         name="fk_launch_job_aliases_version", ondelete="CASCADE"),
)

# Sweeps (migration 0009): a sweep (relaunch launch-sweep) with its W&B config, the
# seed of its search, its state (running, stopped, finished) and the item that runs
# its scheduler; its trials, one row per number (a trial is launched once), each with
# its parameters, Optuna's record of it (sweeps/sampler.py TrialRecord), its item,
# state and metric. A trial's row is written in the transaction that enqueues it.
sweeps = Table(
    "sweeps", metadata,
    Column("id", String(64), primary_key=True),
    Column("entity", String(64), nullable=False, index=True),
    Column("project", String(128), nullable=False, server_default=""),
    Column("queue_id", Id, ForeignKey("queues.id", ondelete="CASCADE",
                                      name="fk_sweeps_queue"), nullable=False),
    Column("config", JSON, nullable=False),
    Column("seed", Integer),
    Column("state", String(16), nullable=False),
    Column("scheduler_item", Id),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

sweep_trials = Table(
    "sweep_trials", metadata,
    Column("sweep_id", String(64), ForeignKey("sweeps.id", ondelete="CASCADE",
                                              name="fk_sweep_trials_sweep"),
           primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("params", JSON, nullable=False),
    Column("record", JSON, nullable=False),
    Column("item_id", Id),
    Column("state", String(16), nullable=False),
    Column("metric", Float),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)


# What a claim may take: a queued item that waits for nothing (not held). The claim
# indexes are partial on this predicate; a query must say it in these very words (see
# claimable() in claims.py) for SQLite and PostgreSQL to use them.
CLAIMABLE = "state = 'queued' AND NOT held"


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
    c = items.c
    Index("ix_items_claim", c.queue_id, c.priority, c.enqueued_at, c.id,
          postgresql_where=text(CLAIMABLE), sqlite_where=text(CLAIMABLE))
    Index("ix_items_lease", c.lease_expires_at,
          postgresql_where=text(active), sqlite_where=text(active))
    Index("ix_items_agent", c.agent_id, postgresql_where=text(active), sqlite_where=text(active))
    Index("ix_items_orphans", c.queue_id, postgresql_where=text(orphan), sqlite_where=text(orphan))
    Index("ix_items_queue_state", c.queue_id, c.state)
    Index("ix_items_fair_submitter", c.queue_id, c.submitter, c.priority, c.enqueued_at, c.id,
          postgresql_where=text(CLAIMABLE), sqlite_where=text(CLAIMABLE))
    Index("ix_items_fair_project", c.queue_id, c.project, c.priority, c.enqueued_at, c.id,
          postgresql_where=text(CLAIMABLE), sqlite_where=text(CLAIMABLE))
    grouped = "group_id IS NOT NULL"
    Index("ix_items_group", c.group_id, postgresql_where=text(grouped),
          sqlite_where=text(grouped))
    Index("ix_item_deps_after", item_deps.c.after_id)
    Index("ix_events_item_id", events.c.item_id)
    # relaunch queue stats (migration 0006): items that ended in a window, and runs
    # started (submitted -> running) in a window and the first one of each item.
    Index("ix_items_ended", c.queue_id, c.finished_at, c.state, c.started_at)
    start = "from_state = 'submitted' AND to_state = 'running'"
    e = events.c
    Index("ix_events_start_at", e.at, e.item_id,
          postgresql_where=text(start), sqlite_where=text(start))
    Index("ix_events_start_item", e.item_id, e.id,
          postgresql_where=text(start), sqlite_where=text(start))
    return metadata
