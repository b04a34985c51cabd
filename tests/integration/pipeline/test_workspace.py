"""launch_core.pipeline.workspace: git URL policy, run working directories, a job's environment.

Real git repositories made with ``git init`` in tmp dirs (cloned over file://, which
the test allows explicitly), and the real queue store (``store`` fixture: SQLite and
PostgreSQL).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from launch_core.errors import InvalidInput, LaunchError
from launch_core.pipeline.workspace import check_git_uri, job_env, prepare_workdir, run_dir
from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.store import QueueItem, QueueRecord, QueueStore
from launch_core.store.blobs import blob_digest, pack_directory

GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.invalid",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.invalid",
           "GIT_CONFIG_NOSYSTEM": "1"}


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(path))
    return path


def git(*args: str, cwd: Path) -> str:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **GIT_ENV}, check=True, timeout=60)
    return proc.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, str]:
    """A git repository with two commits: v1 (tagged, on branch ``old``) and v2 (HEAD)."""
    path = tmp_path / "origin repo"  # a space, to check quoting never matters
    path.mkdir()
    git("init", "--quiet", "--initial-branch=main", ".", cwd=path)
    (path / "version.txt").write_text("one\n")
    (path / "train.py").write_text("print('v1')\n")
    (path / "jobs" / "mnist").mkdir(parents=True)
    (path / "jobs" / "mnist" / "train.py").write_text("print('mnist')\n")
    git("add", ".", cwd=path)
    git("commit", "--quiet", "-m", "first", cwd=path)
    first = git("rev-parse", "HEAD", cwd=path)
    git("tag", "v1", cwd=path)
    git("branch", "old", cwd=path)
    (path / "version.txt").write_text("two\n")
    (path / "added_in_v2.txt").write_text("new\n")
    git("add", ".", cwd=path)
    git("commit", "--quiet", "-m", "second", cwd=path)
    second = git("rev-parse", "HEAD", cwd=path)
    return {"path": str(path), "url": path.as_uri(), "first": first, "second": second}


def make_queue(store: QueueStore, name: str = "q") -> QueueRecord:
    return store.create_queue(QueueDefinition.model_validate(
        {"entity": "team", "name": name, "resource": "local-process"}))


def enqueue(store: QueueStore, queue: QueueRecord, **fields: object) -> QueueItem:
    return store.enqueue(queue, LaunchSpec.model_validate(fields))


# --- check_git_uri ------------------------------------------------------------------


@pytest.mark.parametrize("uri", [
    "https://github.com/org/repo.git",
    "https://gitlab.example.com/group/sub/repo",
    "HTTPS://github.com/org/repo.git",
    "ssh://git@github.com/org/repo.git",
    "ssh://git@git.example.com:2222/org/repo.git",
    "git@github.com:org/repo.git",
    "deploy-bot@git.example.com:team/project.git",
])
def test_git_uri_accepted(uri: str) -> None:
    check_git_uri(uri, [])


@pytest.mark.parametrize("uri", [
    "file:///srv/repos/project.git",
    "http://github.com/org/repo.git",
    "git://github.com/org/repo.git",
    "/srv/repos/project.git",
    "relative/path/repo",
    "./repo",
    "ext::sh -c touch% /tmp/pwned",
    "github.com:org/repo.git",  # scp-style needs user@
    "git@github.com:/etc/passwd",
])
def test_git_uri_refused(uri: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_git_uri(uri, [])
    assert uri in str(info.value)


@pytest.mark.parametrize(("uri", "scheme"), [
    ("file:///srv/repos/project.git", "file"),
    ("git://github.com/org/repo.git", "git"),
    ("http://intranet.example/repo.git", "http"),
])
def test_git_uri_extra_schemes_allow_more(uri: str, scheme: str) -> None:
    check_git_uri(uri, [scheme])
    with pytest.raises(InvalidInput):
        check_git_uri(uri, ["something-else"])


def test_plain_path_stays_refused_even_with_extra_schemes() -> None:
    with pytest.raises(InvalidInput):
        check_git_uri("/srv/repos/project.git", ["file", "git", "http"])


# --- prepare_workdir ----------------------------------------------------------------


def test_checks_out_the_ref_asked_for(store: QueueStore, data_dir: Path,
                                      repo: dict[str, str]) -> None:
    queue = make_queue(store)
    by_sha = enqueue(store, queue, uri=repo["url"], ref=repo["first"])
    by_tag = enqueue(store, queue, uri=repo["url"], ref="v1")
    by_branch = enqueue(store, queue, uri=repo["url"], ref="old")
    head = enqueue(store, queue, uri=repo["url"])
    latest = enqueue(store, queue, uri=repo["url"], ref=repo["second"])

    for item in (by_sha, by_tag, by_branch):
        workdir = prepare_workdir(store, item, ["file"])
        assert workdir == data_dir / "runs" / item.run_id / "repo"
        assert (workdir / "version.txt").read_text() == "one\n"
        assert not (workdir / "added_in_v2.txt").exists()
        assert git("rev-parse", "HEAD", cwd=workdir) == repo["first"]

    for item in (head, latest):
        workdir = prepare_workdir(store, item, ["file"])
        assert (workdir / "version.txt").read_text() == "two\n"
        assert (workdir / "added_in_v2.txt").read_text() == "new\n"
        assert git("rev-parse", "HEAD", cwd=workdir) == repo["second"]


def test_build_context_makes_a_subdirectory_of_the_repository_the_jobs_root(
        store: QueueStore, data_dir: Path, repo: dict[str, str]) -> None:
    queue = make_queue(store)
    item = enqueue(store, queue, uri=repo["url"], build_context="jobs/mnist")
    workdir = prepare_workdir(store, item, ["file"])
    assert workdir == data_dir / "runs" / item.run_id / "repo" / "jobs" / "mnist"
    assert (workdir / "train.py").read_text() == "print('mnist')\n"
    missing = enqueue(store, queue, uri=repo["url"], build_context="jobs/none")
    with pytest.raises(InvalidInput, match="build_context 'jobs/none': no such directory"):
        prepare_workdir(store, missing, ["file"])


@pytest.mark.parametrize("context", ["../up", "/abs", "a/../../b", "~/x"])
def test_build_context_must_stay_inside_the_repository(context: str) -> None:
    with pytest.raises(ValueError, match="must be a path inside the source"):
        LaunchSpec.model_validate({"uri": "https://example.com/r.git",
                                   "build_context": context})


def test_second_prepare_reuses_the_checkout(store: QueueStore, data_dir: Path,
                                            repo: dict[str, str]) -> None:
    item = enqueue(store, make_queue(store), uri=repo["url"], ref="v1")
    workdir = prepare_workdir(store, item, ["file"])
    (workdir / "checkpoint.pt").write_text("state")  # a resumed run keeps its files
    again = prepare_workdir(store, item, ["file"])
    assert again == workdir
    assert (again / "checkpoint.pt").read_text() == "state"


def test_file_url_refused_unless_allowed(store: QueueStore, data_dir: Path,
                                         repo: dict[str, str]) -> None:
    item = enqueue(store, make_queue(store), uri=repo["url"], ref="v1")
    with pytest.raises(InvalidInput, match="file://"):
        prepare_workdir(store, item, [])
    assert not (run_dir(item.run_id) / "repo").exists()


def test_bad_ref_is_a_clear_launch_error(store: QueueStore, data_dir: Path,
                                         repo: dict[str, str]) -> None:
    item = enqueue(store, make_queue(store), uri=repo["url"], ref="no-such-branch")
    with pytest.raises(LaunchError) as info:
        prepare_workdir(store, item, ["file"])
    message = str(info.value)
    assert "no-such-branch" in message
    assert "git" in message
    assert "\n" not in message
    # Nothing half-made is left where the next attempt would take it as a checkout.
    assert not (run_dir(item.run_id) / "repo").exists()


def test_bad_ref_then_retry_with_a_fixed_item_works(store: QueueStore, data_dir: Path,
                                                    repo: dict[str, str]) -> None:
    queue = make_queue(store)
    bad = enqueue(store, queue, uri=repo["url"], ref="nope")
    with pytest.raises(LaunchError):
        prepare_workdir(store, bad, ["file"])
    with pytest.raises(LaunchError):  # a retry fails the same way, not on leftovers
        prepare_workdir(store, bad, ["file"])
    good = enqueue(store, queue, uri=repo["url"], ref="v1")
    assert (prepare_workdir(store, good, ["file"]) / "version.txt").read_text() == "one\n"


def test_missing_repository_is_a_launch_error(store: QueueStore, data_dir: Path,
                                              tmp_path: Path) -> None:
    url = (tmp_path / "not-a-repo").as_uri()
    item = enqueue(store, make_queue(store), uri=url)
    with pytest.raises(LaunchError) as info:
        prepare_workdir(store, item, ["file"])
    assert "cloning" in str(info.value)
    assert url in str(info.value)


def test_code_source_is_unpacked(store: QueueStore, data_dir: Path, tmp_path: Path) -> None:
    code = tmp_path / "code"
    (code / "pkg").mkdir(parents=True)
    (code / "main.py").write_text("print('hi')\n")
    (code / "pkg" / "util.py").write_text("X = 1\n")
    blob = pack_directory(code)
    item = store.enqueue(make_queue(store), LaunchSpec(code=blob_digest(blob)), code_blob=blob)
    workdir = prepare_workdir(store, item, [])
    assert workdir == data_dir / "runs" / item.run_id / "code"
    assert (workdir / "main.py").read_text() == "print('hi')\n"
    assert (workdir / "pkg" / "util.py").read_text() == "X = 1\n"


def test_image_source_gets_an_empty_workdir(store: QueueStore, data_dir: Path) -> None:
    item = enqueue(store, make_queue(store), image="python:3.11")
    workdir = prepare_workdir(store, item, [])
    assert workdir.is_dir()
    assert workdir.is_relative_to(data_dir / "runs" / item.run_id)
    assert list(workdir.iterdir()) == []


# --- job_env ------------------------------------------------------------------------


def test_job_env_has_the_relaunch_variables(store: QueueStore, data_dir: Path) -> None:
    item = enqueue(store, make_queue(store, "gpu"), image="python:3.11", project="vision",
                   name="resnet-sweep", run_config={"lr": 0.1, "layers": [1, 2], "x": None})
    env = job_env(item, "gpu", "team", {}, None)
    assert env["RELAUNCH_RUN_ID"] == item.run_id
    assert env["RELAUNCH_ITEM_ID"] == str(item.id)
    assert env["RELAUNCH_QUEUE"] == "gpu"
    assert env["RELAUNCH_ENTITY"] == "team"
    assert env["RELAUNCH_PROJECT"] == "vision"
    assert env["RELAUNCH_RUN_NAME"] == "resnet-sweep"
    assert json.loads(env["RELAUNCH_RUN_CONFIG"]) == {"lr": 0.1, "layers": [1, 2], "x": None}
    assert "RELAUNCH_RESUME" not in env
    assert "RELAUNCH_IMAGE" not in env
    assert all(isinstance(value, str) for value in env.values())


def test_job_env_image_only_when_there_is_one(store: QueueStore, data_dir: Path) -> None:
    item = enqueue(store, make_queue(store), image="python:3.11")
    env = job_env(item, "q", "team", {}, "registry.example.com/team/app:abc123")
    assert env["RELAUNCH_IMAGE"] == "registry.example.com/team/app:abc123"
    assert "RELAUNCH_IMAGE" not in job_env(item, "q", "team", {}, None)


def test_job_env_without_project_or_name(store: QueueStore, data_dir: Path) -> None:
    item = enqueue(store, make_queue(store), image="python:3.11")
    env = job_env(item, "q", "team", {}, None)
    assert env["RELAUNCH_RUN_NAME"] == item.run_id
    assert env["RELAUNCH_PROJECT"] == ""
    assert json.loads(env["RELAUNCH_RUN_CONFIG"]) == {}


def test_job_env_resume_only_on_resumed_runs(store: QueueStore, data_dir: Path) -> None:
    queue = make_queue(store)
    item = enqueue(store, queue, image="python:3.11")
    assert "RELAUNCH_RESUME" not in job_env(item, "q", "team", {}, None)

    [claimed] = store.claim("agent-1", [queue.id])
    store.transition(claimed.id, "submitted", actor="agent-1", handle={"pid": 1})
    store.preempt(claimed.id, actor="agent-1", reason="spot reclaim")
    resumed = store.get_item(item.id)
    assert resumed.resume_count == 1
    assert resumed.run_id == item.run_id

    env = job_env(resumed, "q", "team", {}, None)
    assert env["RELAUNCH_RESUME"] == "1"
    assert env["RELAUNCH_RUN_ID"] == item.run_id


def test_job_env_has_queue_env_option_stringified(store: QueueStore, data_dir: Path) -> None:
    item = enqueue(store, make_queue(store), image="python:3.11")
    config = {"env": {"WANDB_MODE": "offline", "NUM_WORKERS": 4, "LR": 0.5,
                      "DEBUG": True, "OPTS": {"a": [1, 2]}, "EMPTY": ""}}
    env = job_env(item, "q", "team", config, None)
    assert env["WANDB_MODE"] == "offline"
    assert env["NUM_WORKERS"] == "4"
    assert env["LR"] == "0.5"
    assert env["DEBUG"] == "true"
    assert json.loads(env["OPTS"]) == {"a": [1, 2]}
    assert env["EMPTY"] == ""
    assert all(isinstance(value, str) for value in env.values())


def test_relaunch_variables_win_over_the_queue_env(store: QueueStore, data_dir: Path) -> None:
    item = enqueue(store, make_queue(store), image="python:3.11")
    config = {"env": {"RELAUNCH_RUN_ID": "spoofed", "RELAUNCH_QUEUE": "other"}}
    env = job_env(item, "q", "team", config, None)
    assert env["RELAUNCH_RUN_ID"] == item.run_id
    assert env["RELAUNCH_QUEUE"] == "q"


def test_agent_secrets_do_not_reach_the_job(store: QueueStore, data_dir: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "agent-secret")
    monkeypatch.setenv("RELAUNCH_DATABASE_URL", "postgresql://user:pw@db/relaunch")
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    item = enqueue(store, make_queue(store), image="python:3.11")
    env = job_env(item, "q", "team", {}, None)
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "RELAUNCH_DATABASE_URL" not in env
    assert "agent-secret" not in env.values()
    assert env["PATH"] == "/usr/local/bin:/usr/bin:/bin"  # basics a process needs
