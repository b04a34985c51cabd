"""End to end under scripts/pg-roles.sql (real PostgreSQL, the session's Prefect server,
launch-agent): a team-b job naming team-a's code tarball never runs team-a's code,
even on an agent that serves both entities; team-a's own job does."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core.store import QueueStore
from tests.support.blob_owner import write_code, write_item
from tests.support.pg_roles import RoleSetup

SECRET = "team a's model, not for team b"


@pytest.fixture
def roles(postgres_admin_url: str) -> Iterator[RoleSetup]:
    setup = RoleSetup(postgres_admin_url)
    try:
        yield setup.open()
    finally:
        setup.close()


def test_a_job_naming_another_entitys_code_never_prints_it(relaunch, roles: RoleSetup,
                                                           tmp_path: Path):
    queue = f"owner-{roles.suffix}"  # flow runs are named <queue>-<job> on the shared server

    def as_role(login: str, *args: str, timeout: float = 60):
        return relaunch(*args, env={"RELAUNCH_DATABASE_URL": roles.url(login)},
                        timeout=timeout)

    for entity in ("team-a", "team-b"):
        made = as_role("admin_1", "queue", "create", queue, "-r", "local-process", "-e", entity)
        assert made.code == 0, made.err
    launched = as_role("team_a_submitter", "launch", "-q", queue, "-e", "team-a", "--code",
                       str(write_code(tmp_path / "a", SECRET)), "-E", "python3 main.py",
                       "--json")
    assert launched.code == 0, launched.err
    own = int(launched.json()["id"])
    admin = QueueStore(roles.url())
    try:
        digest = str(admin.get_item(own).spec.code)
        b_queue = admin.get_queue("team-b", queue).id
    finally:
        admin.dispose()
    # Written as the tables' owner: a row from before this release, or from a
    # submitter's SQL before the script checked the code of new items.
    forged = write_item(roles.url(), b_queue, digest, at=time.time())

    for entity in ("team-b", "team-a"):
        agent = as_role("agent_shared", "launch-agent", "-q", queue, "-e", entity,
                        "--until-idle", timeout=180)
        assert agent.code == 0, agent.err[-3000:]
    logs = as_role("team_b_submitter", "job", "logs", str(forged))
    assert SECRET not in logs.out + logs.err
    status = as_role("team_b_submitter", "job", "status", str(forged), "--json").json()
    assert (status["state"], status["stage"]) == ("failed", "build"), status
    assert "not found" in status["reason"], status
    assert SECRET not in str(status)
    # The control: the same agent ran team-a's job, with its code.
    assert as_role("team_a_submitter", "job", "status", str(own), "--json"
                   ).json()["state"] == "finished"
    assert SECRET in as_role("team_a_submitter", "job", "logs", str(own)).out
