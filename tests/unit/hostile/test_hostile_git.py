"""Hostile git sources: URLs and refs trying option injection, the ``ext::`` and
``fd::`` transports, ``file://`` without the agent's consent, and credentials in the
URL, which never show in errors, events, the pipeline's log or ``job status``.

Real git (a repository made with ``git init``), the real queue store (SQLite) and
the real pipeline without Prefect; clones of https URLs go to 127.0.0.1:9, where
nothing listens, so they fail at once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from launch_core.errors import InvalidInput, LaunchError
from launch_core.pipeline.pipeline import JobPipeline, StageFailed
from launch_core.pipeline.workspace import (
    _clone,
    check_git_uri,
    prepare_workdir,
    redact_url,
    run_dir,
)
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.inputs import parse_model
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from tests.support.marker_jobs import Jobs

SECRET = "s3cr3t-Tok3n-4242"
EVERY_SCHEME = ["ext", "fd", "file", "git", "http", "ssh", "https"]


@pytest.fixture
def repo(tmp_path: Path) -> str:
    """A file:// URL of a one-commit repository."""
    path = tmp_path / "origin"
    path.mkdir()
    env = {**os.environ, "GIT_AUTHOR_NAME": "T", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    (path / "train.py").write_text("print('hi')\n")
    (path / "outside").symlink_to("/etc")  # a hostile repository's way out
    for args in (["init", "--quiet", "."], ["add", "."], ["commit", "--quiet", "-m", "x"]):
        subprocess.run(["git", *args], cwd=path, env=env, check=True, timeout=60)
    return path.as_uri()


@pytest.mark.parametrize("uri", [
    "ext::sh -c touch% pwned",
    "ext::sh -c 'touch pwned'",
    "fd::3",
    "ext://example.com/repo",
    "https://-oProxyCommand=touch%20pwned/repo",
    "ssh://-oProxyCommand=touch%20pwned/repo",
    "ssh://-oProxyCommand@example.com/repo",
    "-oProxyCommand=touch pwned@example.com:repo",
    "git@example.com:--upload-pack=touch pwned",
    "https://example.com/repo --upload-pack=touch",
    "https://example.com/repo\n--upload-pack=touch",
    "https::example.com/repo",
    "/srv/repos/project.git",
])
def test_option_injection_and_command_transports_are_refused_even_when_allowed(
        uri: str) -> None:
    with pytest.raises(InvalidInput, match="^git uri "):
        check_git_uri(uri, EVERY_SCHEME if not uri.startswith("/") else [])


@pytest.mark.parametrize(("field", "value"), [
    ("uri", "--upload-pack=touch pwned"), ("ref", "--upload-pack=touch pwned"),
    ("ref", "-b"), ("uri", " https://example.com/repo"),
])
def test_a_uri_or_ref_that_reads_as_an_option_is_refused_at_enqueue(
        field: str, value: str) -> None:
    fields = {"uri": "https://example.com/repo.git", field: value}
    with pytest.raises(InvalidInput, match=f"^launch: {field} must not start with '-'"):
        parse_model(LaunchSpec, fields, "launch")


def test_a_ref_that_reads_as_an_option_is_refused_at_clone_even_if_stored(
        sqlite_store: QueueStore, jobs: Jobs, repo: str, tmp_path: Path) -> None:
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(uri=repo))
    hostile = dataclasses.replace(item, spec=item.spec.model_copy(
        update={"ref": "--output=" + str(tmp_path / "pwned")}))
    with pytest.raises(InvalidInput, match="must not start with '-'"):
        prepare_workdir(sqlite_store, hostile, ["file"])
    assert not list(tmp_path.rglob("pwned*")) and not (run_dir(item.run_id) / "repo").exists()


@pytest.mark.parametrize("allowed", [[], ["file", "ext"]])
def test_git_itself_refuses_the_ext_transport_in_the_agents_clone(
        tmp_path: Path, allowed: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Below the URL check: the clone runs with GIT_ALLOW_PROTOCOL, so git refuses a
    transport the agent did not allow (and ``ext`` is never in the URL check's list)."""
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "pwned"
    with pytest.raises(LaunchError, match="git failed cloning"):
        _clone(f"ext::sh -c touch% {marker}", None, tmp_path / "repo",
               [s for s in allowed if s != "ext"])
    assert not marker.exists() and not (tmp_path / "repo").exists()


def test_a_build_context_symlinked_out_of_the_checkout_is_refused(
        sqlite_store: QueueStore, jobs: Jobs, repo: str) -> None:
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(uri=repo, build_context="outside"))
    with pytest.raises(InvalidInput, match="build_context 'outside': no such directory"):
        prepare_workdir(sqlite_store, item, ["file"])


def test_file_urls_need_the_agents_consent(sqlite_store: QueueStore, jobs: Jobs,
                                           repo: str) -> None:
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(uri=repo))
    with pytest.raises(InvalidInput, match="only https, ssh and scp-style"):
        prepare_workdir(sqlite_store, item, [])
    assert (prepare_workdir(sqlite_store, item, ["file"]) / "train.py").is_file()


@pytest.mark.parametrize(("uri", "shown"), [
    (f"https://reader:{SECRET}@github.com/org/repo.git", "https://***@github.com/"),
    (f"https://{SECRET}:x-oauth-basic@github.com/o/r.git", "https://***@github.com/"),
    (f"https://{SECRET}@github.com/org/repo.git", "https://***@github.com/"),
    (f"http://oauth2:{SECRET}@gitlab.example/x.git", "http://***@gitlab.example/"),
    (f"ssh://git:{SECRET}@example.com/org/repo.git", "ssh://git:***@example.com/"),
    ("ssh://git@example.com/org/repo.git", "ssh://git@example.com/"),
])
def test_redact_url_hides_credentials(uri: str, shown: str) -> None:
    assert redact_url(uri).startswith(shown) and SECRET not in redact_url(uri)


def test_credentials_in_a_refused_url_are_not_in_the_error() -> None:
    with pytest.raises(InvalidInput) as info:
        check_git_uri(f"http://reader:{SECRET}@example.com/repo.git", [])
    assert SECRET not in str(info.value) and "http://***@example.com" in str(info.value)


@pytest.mark.parametrize("userinfo", [f"reader:{SECRET}", SECRET])
def test_credentials_in_a_git_url_never_reach_errors_events_logs_or_job_status(
        sqlite_store: QueueStore, jobs: Jobs, agent_config: AgentConfig, relaunch: Any,
        userinfo: str) -> None:
    uri = f"https://{userinfo}@127.0.0.1:9/org/repo.git"
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(uri=uri, entry_point=["true"]))
    [claimed] = sqlite_store.claim("agent-a", [jobs.queue.id])
    lines: list[str] = []
    pipeline = JobPipeline(sqlite_store, agent_config, "agent-a", lines.append)
    with pytest.raises(StageFailed) as info:
        asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token))
    ended = sqlite_store.get_item(item.id)
    assert ended.state == "failed" and "git failed cloning https://" in str(ended.reason)
    url = sqlite_store.engine.url.render_as_string(hide_password=False)
    status = [relaunch("job", "status", str(item.id), *flag, env={
        "RELAUNCH_DATABASE_URL": url}) for flag in ([], ["--json"])]
    assert all(result.code == 0 for result in status)
    assert status[1].json()["spec"]["uri"].startswith("https://")
    seen = [str(info.value), str(ended.reason), *lines, *(r.out + r.err for r in status),
            *(f"{e.message}" for e in sqlite_store.events_for(item.id))]
    assert not [text for text in seen if SECRET in text]


def test_git_itself_refuses_a_transport_the_agent_did_not_allow(repo: str,
                                                                tmp_path: Path) -> None:
    """GIT_ALLOW_PROTOCOL at work: file:// passes only when the agent allows it."""
    with pytest.raises(LaunchError, match="transport 'file' not allowed"):
        _clone(repo, None, tmp_path / "refused", [])
    assert not (tmp_path / "refused").exists()
    _clone(repo, None, tmp_path / "allowed", ["file"])
    assert (tmp_path / "allowed" / "train.py").is_file()


secret_text = st.text(st.sampled_from("abcXYZ0189-._~!$&'()*+,;=:@%"), min_size=8, max_size=24)


@settings(max_examples=300, deadline=None)
@given(scheme=st.sampled_from(["https", "http", "ssh", "git", "file", "ftp"]),
       user=st.text(st.sampled_from("abc-_."), max_size=6), password=secret_text,
       host=st.sampled_from(["github.com", "127.0.0.1:9", "h"]),
       path=st.sampled_from(["", "/org/repo.git", "/a@b"]))
def test_no_password_or_token_survives_redaction_or_a_refusal(
        scheme: str, user: str, password: str, host: str, path: str) -> None:
    uri = f"{scheme}://{user}:{password}@{host}{path}"
    texts = [uri, f"git failed cloning {uri}: fatal: {uri}"]
    if not scheme.startswith(("ssh", "git")):  # a token as the user name (ssh's is not)
        texts += [f"{scheme}://{password}@{host}{path}",
                  f"{scheme}://{password}:x-oauth-basic@{host}{path}"]
    for text in texts:
        assert password not in redact_url(text)
    try:
        check_git_uri(uri, [])
    except InvalidInput as exc:
        assert password not in str(exc)
