"""Small hostile inputs and broken stores, each refused with one ``error:`` line and
nothing written: git URLs the agent would refuse (checked at enqueue and ``--dry-run``
by the agent's own function), a job id past any integer column, an empty ``-E``,
``--allow-field`` on a resource without guarded fields, a template variable given twice,
a store file that is no database, and a store on a read-only mount (which still
serves the read-only commands). ``job logs`` of a job that never ran says so.

The real console script (``relaunch`` fixture) on a real SQLite store; the read-only
store is a real read-only bind mount (which binds root too)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launch_core.errors import InvalidInput
from launch_core.pipeline.workspace import check_git_uri
from launch_core.store import QueueStore

HUGE = "99999999999999999999999"


def _counts(data: Path) -> tuple[int, int]:
    with sqlite3.connect(data / "relaunch.db") as db:
        return (db.execute("select count(*) from queues").fetchone()[0],
                db.execute("select count(*) from items").fetchone()[0])


def _one_error_line(result: Any, code: int = 2) -> str:
    assert result.code == code, (result.code, result.out, result.err)
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    return str(lines[0])


@pytest.fixture
def data(relaunch: Any, cli_env: dict[str, str]) -> Path:
    """The data dir of a store with one local-process queue ``q``."""
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    return Path(cli_env["RELAUNCH_DATA_DIR"])


# --- git URLs the agent refuses --------------------------------------------------------

@pytest.mark.parametrize("uri", ["ext::sh -c touch% /tmp/pwned", "fd::3",
                                 "file:///srv/repos/project.git", "ftp://example.com/repo.git",
                                 "https::example.com/repo"])
@pytest.mark.parametrize("dry_run", [False, True], ids=["enqueue", "dry-run"])
def test_a_git_url_the_agent_refuses_is_refused_at_enqueue(
        relaunch: Any, data: Path, uri: str, dry_run: bool) -> None:
    result = relaunch("launch", "-q", "q", "-u", uri, "-E", "python t.py",
                      *(["--dry-run"] if dry_run else []))
    line = _one_error_line(result)
    with pytest.raises(InvalidInput) as agent:  # the agent's own check, word for word
        check_git_uri(uri, [])
    assert line == f"error: -u/--uri: {agent.value}"
    assert _counts(data) == (1, 0)


def test_a_scheme_the_launch_config_allows_passes_at_enqueue(relaunch: Any, data: Path,
                                                             tmp_path: Path) -> None:
    config = tmp_path / "launch-config.yaml"
    config.write_text("allow_git_schemes: [file]\n")
    uri = "file:///srv/repos/project.git"
    result = relaunch("launch", "-q", "q", "-u", uri, "-E", "python t.py", "--json",
                      env={"RELAUNCH_CONFIG": str(config)})
    assert result.code == 0, result.err
    assert result.json()["spec"]["uri"] == uri
    refused = relaunch("launch", "-q", "q", "-u", "ext::sh -c id", "-E", "python t.py",
                       env={"RELAUNCH_CONFIG": str(config)})
    assert "only https, ssh and scp-style" in _one_error_line(refused)


# --- a job id past any integer column ------------------------------------------------

@pytest.mark.parametrize("command", [["job", "status"], ["job", "logs"], ["job", "cancel"]])
def test_a_huge_job_id_is_a_clear_error_naming_it(relaunch: Any, data: Path,
                                                  command: list[str]) -> None:
    line = _one_error_line(relaunch(*command, HUGE))
    assert line.startswith(f"error: job {HUGE} not found")
    assert "Overflow" not in line


# --- launch flags --------------------------------------------------------------------

@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_entry_point_is_refused(relaunch: Any, data: Path, value: str) -> None:
    line = _one_error_line(relaunch("launch", "-q", "q", "-d", "img:1", "-E", value))
    assert line.startswith("error: -E/--entry-point: ")
    assert _counts(data) == (1, 0)


def test_a_template_variable_given_twice_is_refused(relaunch: Any, data: Path) -> None:
    variables = json.dumps({"lr": {"type": "number"}})
    assert relaunch("queue", "create", "tv", "-r", "local-process", "--config",
                    json.dumps({"env": {"LR": "{{ lr }}"}}),
                    "--template-variables", variables).code == 0
    for extra in ([], ["--dry-run"]):
        result = relaunch("launch", "-q", "tv", "-d", "img:1", "-v", "lr=0.1", "-v", "lr=0.2",
                          *extra)
        line = _one_error_line(result)
        assert line.startswith("error: -v/--set-var: ") and "'lr'" in line
    assert _counts(data) == (2, 0)


@pytest.mark.parametrize("command", [
    ["queue", "create", "other", "-r", "local-process", "--allow-field", "privileged"],
    ["queue", "update", "q", "--allow-field", "hostPath"],
])
def test_allow_field_on_a_resource_without_guarded_fields_is_refused(
        relaunch: Any, data: Path, command: list[str]) -> None:
    line = _one_error_line(relaunch(*command))
    assert "--allow-field" in line
    assert _counts(data) == (1, 0)
    shown = relaunch("queue", "show", "q", "--json").json()
    assert shown["allow_fields"] == []


# --- job logs of a job that never ran ---------------------------------------------------

def test_logs_of_a_job_that_never_ran_say_so(relaunch: Any, data: Path) -> None:
    queued = relaunch("launch", "-q", "q", "-d", "img:1", "--json").json()["id"]
    cancelled = relaunch("launch", "-q", "q", "-d", "img:1", "--json").json()["id"]
    assert relaunch("job", "cancel", str(cancelled)).code == 0
    line = _one_error_line(relaunch("job", "logs", str(queued)), code=1)
    assert line == f"error: job {queued} has no logs: it has not run (queued)"
    line = _one_error_line(relaunch("job", "logs", str(cancelled)), code=1)
    assert line == f"error: job {cancelled} has no logs: it never ran (cancelled)"
    following = relaunch("job", "logs", str(cancelled), "--follow")
    assert _one_error_line(following, code=1) == line


# --- a store file that is no database ------------------------------------------------

@pytest.mark.parametrize("command", [["job", "list"], ["queue", "list"],
                                     ["queue", "create", "x", "-r", "local-process"],
                                     ["launch", "-q", "q", "-d", "img:1"]])
def test_a_store_that_is_no_database_is_named(relaunch: Any, cli_env: dict[str, str],
                                              command: list[str]) -> None:
    data = Path(cli_env["RELAUNCH_DATA_DIR"])
    data.mkdir(mode=0o700)
    store = data / "relaunch.db"
    store.write_bytes(b"this is not a database, it has text in it\n" * 200)
    before = store.read_bytes()
    line = _one_error_line(relaunch(*command), code=1)
    assert str(store) in line and "not a database" in line
    assert store.read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == ["relaunch.db"]


# --- a store on a read-only mount ------------------------------------------------------

@pytest.fixture
def read_only_view(relaunch: Any, tmp_path: Path) -> Iterator[Path]:
    """A store (queue ``q``, a queued job 1, a cancelled job 2) whose data dir is seen
    through a read-only bind mount: the view's path (the store's own dir stays
    writable, at tmp_path/data)."""
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    for _ in range(2):
        assert relaunch("launch", "-q", "q", "-d", "img:1").code == 0
    assert relaunch("job", "cancel", "2").code == 0
    view = tmp_path / "view"
    view.mkdir()
    try:
        subprocess.run(["mount", "--bind", str(tmp_path / "data"), str(view)], check=True,
                       capture_output=True, timeout=30)
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.skip(f"a read-only bind mount needs mount privileges: {exc}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True,
                       capture_output=True, timeout=30)
        with pytest.raises(OSError):
            (view / "probe").write_text("x")  # read-only even for root
        yield view
    finally:
        subprocess.run(["umount", str(view)], check=True, timeout=30)


READS = [["job", "list"], ["job", "list", "--json"], ["job", "status", "1"],
         ["job", "status", "2", "--json"], ["queue", "list"], ["queue", "show", "q"],
         ["queue", "show", "q", "--json"]]
WRITES = [["queue", "create", "x", "-r", "local-process"], ["queue", "delete", "q", "--force"],
          ["queue", "update", "q", "--description", "d"], ["job", "cancel", "1"],
          ["launch", "-q", "q", "-d", "img:1"]]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def test_read_commands_work_on_a_read_only_store(relaunch: Any, read_only_view: Path) -> None:
    env = {"RELAUNCH_DATA_DIR": str(read_only_view)}
    for command in READS:
        result = relaunch(*command, env=env)
        assert result.code == 0, (command, result.err)
    jobs = relaunch("job", "list", "--json", env=env).json()
    assert [(job["id"], job["state"]) for job in jobs] == [(2, "cancelled"), (1, "queued")]
    logs = relaunch("job", "logs", "1", env=env)
    assert _one_error_line(logs, code=1).endswith("it has not run (queued)")


def test_write_commands_on_a_read_only_store_name_the_file(
        relaunch: Any, read_only_view: Path) -> None:
    env = {"RELAUNCH_DATA_DIR": str(read_only_view)}
    before = _digest(read_only_view)
    for command in WRITES:
        line = _one_error_line(relaunch(*command, env=env), code=1)
        assert line.startswith(f"error: queue store {read_only_view / 'relaunch.db'} is "
                               "read-only"), (command, line)
    assert _digest(read_only_view) == before


def test_a_read_only_store_sees_what_a_writer_has_not_checkpointed(
        relaunch: Any, read_only_view: Path, tmp_path: Path) -> None:
    """A live writer (through the writable path) keeps its last commits in the -wal
    file: the read-only view reads them too."""
    writer = QueueStore(f"sqlite:///{tmp_path / 'data' / 'relaunch.db'}")
    try:
        from launch_core import api

        api.launch(writer, "q", {"image": "img:2"}, entity="team")
        assert (read_only_view / "relaunch.db-wal").stat().st_size > 0
        jobs = relaunch("job", "list", "--json", env={"RELAUNCH_DATA_DIR": str(read_only_view)})
        assert jobs.code == 0, jobs.err
        assert [job["id"] for job in jobs.json()] == [3, 2, 1]
    finally:
        writer.dispose()
