"""Hostile runs: entry points and args full of shell metacharacters run as argv (no
shell ever interprets them), environment variable names validated (the queue's
``env`` option, a submitter's resource args; the run config never becomes variables),
and local-container's options limited to its allowlist (no privileged, host mounts,
added capabilities, host PID/IPC, devices).

The real pipeline on SQLite with local-process (no Prefect), the real CLI (``relaunch``
fixture) and the real local-container option model (no Docker call is made)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from launch_core.backends.docker.dockerfile import generate_dockerfile
from launch_core.backends.resource import get_resource
from launch_core.errors import InvalidInput
from launch_core.pipeline.pipeline import JobPipeline
from launch_core.pipeline.workspace import job_env
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from tests.support.marker_jobs import Jobs

METACHARACTERS = ["a; touch pwned1", "$(touch pwned2)", "`touch pwned3`", "| touch pwned4",
                  "&& touch pwned5", "> pwned6", "*", "$HOME", "'quoted'", "\"double\"",
                  "a\nb", "~"]


def test_entry_point_and_args_run_as_argv_never_through_a_shell(
        sqlite_store: QueueStore, jobs: Jobs, agent_config: AgentConfig,
        tmp_path: Path) -> None:
    marker = tmp_path / "argv.json"
    script = f"import json, sys; open({str(marker)!r}, 'w').write(json.dumps(sys.argv[1:]))"
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(
        image="local", entry_point=[sys.executable, "-c", script, *METACHARACTERS[:6]],
        args=METACHARACTERS[6:]))
    [claimed] = sqlite_store.claim("agent-a", [jobs.queue.id])
    pipeline = JobPipeline(sqlite_store, agent_config, "agent-a", lambda line: None)
    assert asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token)) == "finished"
    assert json.loads(marker.read_text()) == METACHARACTERS  # each one a literal argument
    assert not list(tmp_path.rglob("pwned*"))


def test_the_cli_splits_an_entry_point_like_a_shell_but_runs_no_shell(relaunch: Any) -> None:
    assert relaunch("queue", "create", "q", "-r", "local-process").code == 0
    result = relaunch("launch", "-q", "q", "-d", "img:1", "--dry-run",
                      "-E", "python train.py; touch pwned $(id) `id` | cat")
    assert result.code == 0, result.err
    assert result.json()["spec"]["entry_point"] == [
        "python", "train.py;", "touch", "pwned", "$(id)", "`id`", "|", "cat"]


def test_a_generated_dockerfile_uses_the_exec_form_entry_point(tmp_path: Path) -> None:
    text = generate_dockerfile(tmp_path, "python:3.11-slim", ["python", "a; rm -rf / #"])
    assert 'ENTRYPOINT ["python", "a; rm -rf / #"]' in text.splitlines()


# --- environment variable names -------------------------------------------------------

BAD_NAMES = ["A=B", "", "1ABC", "A B", "A\tB", "A$B", "A;B", "=A", "A" * 300]


def _counts(relaunch_env: dict[str, str]) -> tuple[int, int]:
    with sqlite3.connect(Path(relaunch_env["RELAUNCH_DATA_DIR"]) / "relaunch.db") as db:
        return (db.execute("select count(*) from queues").fetchone()[0],
                db.execute("select count(*) from items").fetchone()[0])


@pytest.mark.parametrize("name", BAD_NAMES, ids=lambda n: repr(n)[:20])
@pytest.mark.parametrize("resource", ["local-process", "local-container"])
def test_a_bad_env_name_in_a_queue_config_is_refused(resource: str, name: str) -> None:
    from launch_core.api import create_queue

    store = QueueStore("sqlite://")
    with pytest.raises(InvalidInput, match=r"option 'env': .* (is not a variable name|is not "
                                           r"KEY=VALUE)"):
        create_queue(store, "q", resource, entity="team", config={"env": {name: "x"}})
    assert store.list_queues("team") == []


def test_bad_env_names_are_refused_by_the_cli_at_create_and_at_enqueue(
        relaunch: Any, cli_env: dict[str, str]) -> None:
    result = relaunch("queue", "create", "bad", "-r", "local-process",
                      "--config", '{"env": {"LD_PRELOAD=/x.so B": "1"}}')
    assert result.code == 2 and "option 'env'" in result.err
    assert relaunch("queue", "create", "open", "-r", "local-process").code == 0
    before = _counts(cli_env)
    result = relaunch("launch", "-q", "open", "-d", "img:1", "-R",
                      '{"local-process": {"env": {"A;touch pwned": "1"}}}')
    assert result.code == 2 and "is not a variable name" in result.err
    assert result.err.count("\n") == 1 and _counts(cli_env) == before


def test_the_run_config_never_becomes_environment_variables(
        sqlite_store: QueueStore, jobs: Jobs) -> None:
    run_config = {"PATH": "/evil", "LD_PRELOAD": "/evil.so", "A=B": 1, "X\nY": 2}
    item = sqlite_store.enqueue(jobs.queue, LaunchSpec(image="img", run_config=run_config))
    env = job_env(item, "q", "team", {}, None)
    assert "LD_PRELOAD" not in env and env.get("PATH") != "/evil"
    assert all("=" not in key and "\n" not in key for key in env)
    assert json.loads(env["WANDB_CONFIG"]) == run_config == json.loads(
        env["RELAUNCH_RUN_CONFIG"])


# --- local-container's allowlist ---------------------------------------------------------

REFUSED_OPTIONS = {
    "privileged": True, "--privileged": True, "volumes": {"/": {"bind": "/host"}},
    "v": ["/:/host"], "-v": "/:/host", "volume": "/:/host", "mounts": [{"source": "/"}],
    "binds": ["/:/host"], "cap_add": ["SYS_ADMIN"], "cap-add": "ALL", "--cap-add": "ALL",
    "cap_drop": ["ALL"], "pid_mode": "host", "pid": "host", "--pid": "host",
    "ipc_mode": "host", "ipc": "host", "uts_mode": "host", "userns_mode": "host",
    "devices": ["/dev/sda:/dev/sda"], "device": "/dev/mem", "device_requests": [{}],
    "device_cgroup_rules": ["a *:* rwm"], "security_opt": ["seccomp=unconfined"],
    "runtime": "runc", "sysctls": {"kernel.x": "1"}, "cgroup_parent": "/",
    "volumes_from": ["other"], "tmpfs": {"/run": ""}, "group_add": ["docker"],
}


@pytest.mark.parametrize("option", sorted(REFUSED_OPTIONS))
def test_local_container_refuses_options_outside_its_allowlist(option: str) -> None:
    resource = get_resource("local-container")
    with pytest.raises(InvalidInput, match="is not allowed"):
        resource.validate({option: REFUSED_OPTIONS[option]})


@pytest.mark.parametrize("network", ["container:other", "host:x", "macvlan"])
def test_local_container_refuses_other_networks(network: str) -> None:
    with pytest.raises(InvalidInput, match="option 'network'"):
        get_resource("local-container").validate({"network": network})


def test_gpus_the_queue_allows_pass(relaunch: Any) -> None:
    get_resource("local-container").validate({"gpus": "all"})
    result = relaunch("queue", "create", "gpu", "-r", "local-container",
                      "--config", '{"gpus": 1, "network": "bridge"}')
    assert result.code == 0, result.err
    result = relaunch("queue", "create", "root", "-r", "local-container",
                      "--config", '{"gpus": 1, "privileged": true}')
    assert result.code == 2 and "'privileged' is not allowed" in result.err
