"""Files relaunch writes under its data dir are private to its user, whatever the
umask: the data dir and every folder relaunch makes in it 0700, the SQLite store (and
the -wal/-shm SQLite makes beside it), its lock file, logs and each run's own files
0600. A job's code keeps its files' modes (images built from it keep them) inside its
run's 0700 folder. Credentials in a ``-u`` git URL are refused at enqueue, never stored.

The real console script (``relaunch`` fixture, and ``subprocess`` for umask 000), the
real store (SQLite) and the real pipeline without Prefect (local-process);
tests/e2e/hostile/test_hostile_files_agent.py runs ``launch --async`` through a real
agent on the session's Prefect server."""

from __future__ import annotations

import asyncio
import base64
import http.server
import json
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from launch_core import api
from launch_core.errors import LaunchError
from launch_core.pipeline.pipeline import JobPipeline
from launch_core.pipeline.workspace import _clone, prepare_workdir, run_dir
from launch_core.spec.agent_config import load_agent_config
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueItem, QueueStore
from tests.support import RELAUNCH
from tests.support.file_modes import modes, run_files, write_code_dir

TOKEN = "ghp_s3cr3tT0ken4242"


@pytest.fixture
def umask_000() -> Iterator[None]:
    """The loosest umask there is: whatever relaunch creates would be 0666 / 0777."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    return write_code_dir(tmp_path)


def run_code_job(store: QueueStore, code_dir: Path) -> QueueItem:
    """Enqueue ``code_dir``'s main.py on a local-process queue and run it through the
    real pipeline; it must finish."""
    queue = api.create_queue(store, "q", "local-process", entity="team")
    item = api.launch(store, "q", {"entry_point": [sys.executable, "main.py"]},
                      entity="team", code_dir=code_dir)
    [claimed] = store.claim("agent-a", [queue.id])
    config, _ = load_agent_config(flags={"database": str(store.engine.url)}, environ={})
    pipeline = JobPipeline(store, config, "agent-a", lambda line: None)
    assert asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token)) == "finished"
    return item


def test_store_and_run_files_are_private_under_umask_000(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_000: None,
        code_dir: Path) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(data))
    monkeypatch.delenv("RELAUNCH_DATABASE_URL", raising=False)
    store = QueueStore()  # the default store: <data dir>/relaunch.db
    try:
        item = run_code_job(store, code_dir)
        found = modes(data)  # while the store is open: with its -wal and -shm
    finally:
        store.dispose()
    assert {path: found.get(path) for path in (
        ".", "relaunch.db", "relaunch.db-wal", "relaunch.db-shm", "relaunch.migrate.lock",
        "runs", f"runs/{item.run_id}", f"runs/{item.run_id}/code")} == {
        ".": 0o700, "relaunch.db": 0o600, "relaunch.db-wal": 0o600, "relaunch.db-shm": 0o600,
        "relaunch.migrate.lock": 0o600, "runs": 0o700, f"runs/{item.run_id}": 0o700,
        f"runs/{item.run_id}/code": 0o700}
    own = run_files(found, item.run_id)  # output.log, the runner's claim and exit files
    assert f"runs/{item.run_id}/output.log" in own and len(own) >= 4, own
    assert {path: mode for path, mode in own.items()
            if mode != (0o700 if path == f"runs/{item.run_id}" else 0o600)} == {}


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o000], ids=oct)
def test_the_cli_makes_a_private_store_whatever_the_umask(
        cli_env: dict[str, str], tmp_path: Path, code_dir: Path, umask: int) -> None:
    for args in (["queue", "create", "q", "-r", "local-process"],
                 ["launch", "-q", "q", "--code", str(code_dir), "-E", "python main.py"]):
        result = subprocess.run([RELAUNCH, *args], env=cli_env, cwd=tmp_path, umask=umask,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
    found = modes(Path(cli_env["RELAUNCH_DATA_DIR"]))
    assert found == {".": 0o700, "relaunch.db": 0o600, "relaunch.migrate.lock": 0o600}


def test_an_existing_open_data_dir_is_made_private(relaunch: Any,
                                                   cli_env: dict[str, str]) -> None:
    data = Path(cli_env["RELAUNCH_DATA_DIR"])
    data.mkdir()
    data.chmod(0o755)  # as relaunch made it before
    assert relaunch("queue", "list").code == 0
    assert stat.S_IMODE(data.stat().st_mode) == 0o700


def test_a_git_checkout_is_made_in_a_private_folder(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, umask_000: None) -> None:
    origin = tmp_path / "origin"
    origin.mkdir()
    (origin / "train.py").write_text("print('hi')\n")
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    for args in (["init", "--quiet", "."], ["add", "."], ["commit", "--quiet", "-m", "x"]):
        subprocess.run(["git", *args], cwd=origin, env=env, check=True, timeout=60)
    data = tmp_path / "data"
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(data))
    store = QueueStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        queue = api.create_queue(store, "q", "local-process", entity="team")
        item = store.enqueue(queue, LaunchSpec(uri=origin.as_uri()))
        workdir = prepare_workdir(store, item, ["file"])
    finally:
        store.dispose()
    assert (workdir / "train.py").is_file()
    found = modes(data)
    assert {path: found[path] for path in (".", "runs", f"runs/{item.run_id}",
                                           f"runs/{item.run_id}/repo")} == {
        ".": 0o700, "runs": 0o700, f"runs/{item.run_id}": 0o700,
        f"runs/{item.run_id}/repo": 0o700}
    assert stat.S_IMODE((tmp_path / "store.db").stat().st_mode) == 0o600


def test_making_a_run_private_follows_no_link_the_job_left(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code_dir: Path) -> None:
    """The job may write into its run's folder (it runs in it): a symlink it leaves
    there to a file outside, or a FIFO, is neither followed nor opened for good."""
    victim = tmp_path / "victim.txt"
    victim.write_text("not relaunch's\n")
    victim.chmod(0o644)
    (code_dir / "main.py").write_text(
        "import os\n"
        f"os.symlink({str(victim)!r}, '../planted-link')\n"
        "os.mkfifo('../planted-fifo')\n")
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(tmp_path / "data"))
    store = QueueStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        item = run_code_job(store, code_dir)
    finally:
        store.dispose()
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644
    assert (run_dir(item.run_id) / "planted-link").is_symlink()
    assert stat.S_IMODE((run_dir(item.run_id) / "output.log").stat().st_mode) == 0o600


# --- credentials in a git URL -------------------------------------------------------

def _counts(data: Path) -> tuple[int, int]:
    with sqlite3.connect(data / "relaunch.db") as db:
        return (db.execute("select count(*) from queues").fetchone()[0],
                db.execute("select count(*) from items").fetchone()[0])


@pytest.mark.parametrize("uri", [
    f"https://user:{TOKEN}@github.com/org/repo.git",
    f"https://{TOKEN}@github.com/org/repo.git",
    f"https://{TOKEN}:x-oauth-basic@github.com/org/repo.git",
    f"http://oauth2:{TOKEN}@gitlab.example/org/repo.git",
    f"ssh://git:{TOKEN}@example.com/org/repo.git",
])
@pytest.mark.parametrize("how", ["enqueue", "dry-run", "spec"])
def test_credentials_in_a_git_url_are_refused_and_never_stored(
        relaunch: Any, cli_env: dict[str, str], uri: str, how: str) -> None:
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    if how == "spec":
        args = ["-c", json.dumps({"uri": uri})]
    else:
        args = ["-u", uri, *(["--dry-run"] if how == "dry-run" else [])]
    result = relaunch("launch", "-q", "q", "-E", "python train.py", *args)
    assert result.code == 2, result.err
    assert result.out == "" and len(result.err.splitlines()) == 1
    assert result.err.startswith("error: -u/--uri: ") and "credentials" in result.err
    assert TOKEN not in result.err
    assert _counts(Path(cli_env["RELAUNCH_DATA_DIR"])) == (1, 0)
    with sqlite3.connect(Path(cli_env["RELAUNCH_DATA_DIR"]) / "relaunch.db") as db:
        assert not [row for row in db.execute("select * from events") if TOKEN in str(row)]


@pytest.mark.parametrize("uri", ["ssh://git@example.com/org/repo.git",
                                 "git@example.com:org/repo.git",
                                 "https://github.com/org/repo.git"])
def test_a_git_url_with_a_user_name_only_or_none_is_enqueued(relaunch: Any, uri: str) -> None:
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    result = relaunch("launch", "-q", "q", "-u", uri, "-E", "python train.py", "--json")
    assert result.code == 0, result.err
    assert result.json()["spec"]["uri"] == uri


def test_git_gets_its_token_from_the_agents_environment_through_askpass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What docs/cli.md (Git credentials) tells: a GIT_ASKPASS program in the agent's
    environment answers git's prompts in the agent's clone, which never prompts on a
    terminal. A real HTTP server asks for Basic credentials and records them."""
    seen: list[str | None] = []

    class AskForCredentials(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            seen.append(self.headers.get("Authorization"))
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="repo"')
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    askpass = tmp_path / "askpass"
    askpass.write_text('#!/bin/sh\ncase "$1" in Username*) echo x-access-token ;; '
                       '*) echo "$GIT_TOKEN" ;; esac\n')
    askpass.chmod(0o700)
    monkeypatch.setenv("GIT_ASKPASS", str(askpass))
    monkeypatch.setenv("GIT_TOKEN", TOKEN)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), AskForCredentials)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        uri = f"http://127.0.0.1:{server.server_address[1]}/org/private.git"
        with pytest.raises(LaunchError, match="git failed cloning") as failed:
            _clone(uri, None, tmp_path / "repo", ["http"])
    finally:
        server.shutdown()
        thread.join()
    token = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert f"Basic {token}" in seen
    assert TOKEN not in str(failed.value) and not (tmp_path / "repo.partial").exists()
