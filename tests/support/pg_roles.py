"""A PostgreSQL database set up as docs/access.md says: migrations applied by the
server's admin, scripts/pg-roles.sql applied, login roles mapped to entities.

Roles are cluster-wide, so every setup renames the script's group roles with a
unique suffix (``relaunch_agent`` -> ``relaunch_agent_<hex>``) and drops all its
roles again in ``close``.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from launch_core.store import QueueStore

SCRIPT = Path(__file__).parents[2] / "scripts" / "pg-roles.sql"
GROUPS = ("admin", "agent", "submitter")
# login role -> (group, entity it serves or None); '*' is every entity (a shared agent)
LOGINS = {"admin_1": ("admin", None), "team_a_submitter": ("submitter", "team-a"),
          "team_b_submitter": ("submitter", "team-b"), "agent_1": ("agent", "team-a"),
          "agent_b": ("agent", "team-b"), "agent_shared": ("agent", "*")}


@dataclass
class RoleSetup:
    """One fresh database with the roles of docs/access.md (call ``close``)."""

    server_url: str  # a superuser's URL on the test server
    suffix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    created: list[str] = field(default_factory=list)

    @property
    def database(self) -> str:
        return f"relaunch_roles_{self.suffix}"

    def role(self, name: str) -> str:
        """The cluster-wide name of a login role (``agent_1``) or group (``agent``)."""
        return f"relaunch_{name}_{self.suffix}" if name in GROUPS else f"{name}_{self.suffix}"

    def url(self, login: str | None = None) -> str:
        """The database's URL as ``login`` (a key of LOGINS), or as the superuser."""
        base = make_url(self.server_url).set(database=self.database)
        if login is not None:
            base = base.set(username=self.role(login), password=None)
        return base.render_as_string(hide_password=False)

    def script(self) -> str:
        """scripts/pg-roles.sql with this setup's group role names."""
        return re.sub(r"\brelaunch_(admin|agent|submitter)\b",
                      lambda m: self.role(m.group(1)), SCRIPT.read_text())

    def apply_script(self) -> None:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(self.script())

    def sql(self, login: str | None, statement: str, params: tuple[object, ...] = ()
            ) -> list[tuple[object, ...]]:
        """Run one statement as ``login`` (autocommit) and return its rows."""
        with psycopg.connect(self.url(login), autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def open(self) -> RoleSetup:
        """Create the database, migrate it, apply the script, add the logins."""
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.database}"')
        QueueStore(self.url()).dispose()  # the migrations, as the server's admin
        self.created.extend(self.role(g) for g in GROUPS)
        self.apply_script()
        with psycopg.connect(self.url(), autocommit=True) as conn:
            for login, (group, entity) in LOGINS.items():
                conn.execute(f'CREATE ROLE "{self.role(login)}" LOGIN '
                             f'IN ROLE "{self.role(group)}"')
                self.created.insert(0, self.role(login))
                if entity is not None:
                    conn.execute("INSERT INTO relaunch_entity_roles VALUES (%s, %s)",
                                 (self.role(login), entity))
        return self

    def close(self) -> None:
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            for role in self.created:
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')


# The items columns a test's raw INSERT names (as a submitter's SQL would write them).
# The columns a submitter's own INSERT names; submitter must be its role (the VALUES
# give it as current_user) and gpus a count (the VALUES give 0).
ITEM_COLUMNS = ("queue_id, state, priority, enqueued_at, run_id, spec, max_attempts, "
                "updated_at, submitter, gpus")


def roles_with_cpu_queues(admin_url: str, *, script_twice: bool = False
                          ) -> Iterator[RoleSetup]:
    """A RoleSetup (the roles script applied; with ``script_twice``, applied again) with
    a local-process queue ``cpu`` in entities team-a and team-b; closed after."""
    from launch_core import api
    from launch_core.store import QueueStore

    setup = RoleSetup(admin_url)
    try:
        setup.open()
        if script_twice:
            setup.apply_script()  # a second run changes nothing
        admin = QueueStore(setup.url("admin_1"))
        for entity in ("team-a", "team-b"):
            api.create_queue(admin, "cpu", "local-process", entity=entity)
        admin.dispose()
        yield setup
    finally:
        setup.close()
