"""Hostile template values and patterns.

A value whose macros climb out of its rule once filled (``-v 'sub=${run_name}'
--name ../../etc/cron.d/x`` against ``pattern: ^[^/]+$``) is refused at enqueue and at
a dry run (exit 2, one line naming the variable and the pattern), and an item that
got into the queue anyway is failed by the agent before anything runs. A pattern that
backtracks catastrophically is answered at once; one RE2 cannot match in linear time
(a backreference) is refused when the queue is created.

The real CLI (``relaunch`` fixture) and the real pipeline on SQLite with local-process
(no Prefect)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from launch_core import api
from launch_core.pipeline.pipeline import JobPipeline, StageFailed
from launch_core.spec.agent_config import AgentConfig
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueStore
from launch_core.store.states import FAILED

VARIABLES = {"sub": {"type": "string", "pattern": "^[^/]+$"}}
CONFIG = {"env": {"SUB": "/data/{{ sub }}"}}


def _counts(cli_env: dict[str, str]) -> tuple[int, int]:
    with sqlite3.connect(Path(cli_env["RELAUNCH_DATA_DIR"]) / "relaunch.db") as db:
        return (db.execute("select count(*) from queues").fetchone()[0],
                db.execute("select count(*) from items").fetchone()[0])


@pytest.fixture
def files(tmp_path: Path) -> tuple[str, str]:
    (tmp_path / "vars.json").write_text(json.dumps(VARIABLES))
    (tmp_path / "config.json").write_text(json.dumps(CONFIG))
    return str(tmp_path / "config.json"), str(tmp_path / "vars.json")


@pytest.mark.parametrize("dry_run", [True, False], ids=["dry-run", "enqueue"])
def test_a_run_name_that_climbs_out_is_refused_at_enqueue_and_dry_run(
        relaunch: Any, cli_env: dict[str, str], files: tuple[str, str], dry_run: bool) -> None:
    config, variables = files
    assert relaunch("queue", "create", "q", "-r", "local-process", "--config", config,
                    "--template-variables", variables).code == 0
    flags = ["--dry-run"] if dry_run else []
    before = _counts(cli_env)
    result = relaunch("launch", "-q", "q", "-d", "img:1", *flags, "-v", "sub=${run_name}",
                      "--name", "../../etc/cron.d/x")
    assert result.code == 2, result.out
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "template variable 'sub'" in result.err
    assert "'../../etc/cron.d/x' does not match pattern '^[^/]+$'" in result.err
    assert _counts(cli_env) == before
    # the same value with a name that keeps the rule goes through
    result = relaunch("launch", "-q", "q", "-d", "img:1", *flags, "-v", "sub=${run_name}",
                      "--name", "nightly")
    assert result.code == 0, result.err


def test_the_agent_fails_an_item_whose_filled_value_breaks_the_rule(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    # an item enqueued without the enqueue check (e.g. by an older relaunch)
    queue = api.create_queue(sqlite_store, "q", "local-process", entity="team",
                             config=CONFIG, template_variables=VARIABLES)
    marker = tmp_path / "ran"
    script = f"import os; open({str(marker)!r}, 'w').write(os.environ['SUB'])"
    item = sqlite_store.enqueue(queue, LaunchSpec(
        image="local", entry_point=[sys.executable, "-c", script],
        template_values={"sub": "${run_name}"}, name="../../etc/cron.d/x"))
    [claimed] = sqlite_store.claim("agent-a", [queue.id])
    pipeline = JobPipeline(sqlite_store, agent_config, "agent-a", lambda line: None)
    with pytest.raises(StageFailed, match=r"'sub'.*does not match pattern"):
        asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token))
    failed = sqlite_store.get_item(item.id)
    assert failed.state == FAILED and failed.stage == "agent"
    assert "'../../etc/cron.d/x' does not match pattern '^[^/]+$'" in str(failed.reason)
    assert not marker.exists()  # nothing ran


def test_the_agent_runs_an_item_whose_filled_value_keeps_the_rule(
        sqlite_store: QueueStore, agent_config: AgentConfig, tmp_path: Path) -> None:
    queue = api.create_queue(sqlite_store, "q", "local-process", entity="team",
                             config=CONFIG, template_variables=VARIABLES)
    marker = tmp_path / "ran"
    script = f"import os; open({str(marker)!r}, 'w').write(os.environ['SUB'])"
    item = sqlite_store.enqueue(queue, LaunchSpec(
        image="local", entry_point=[sys.executable, "-c", script],
        template_values={"sub": "run-${run_name}"}, name="nightly"))
    [claimed] = sqlite_store.claim("agent-a", [queue.id])
    pipeline = JobPipeline(sqlite_store, agent_config, "agent-a", lambda line: None)
    assert asyncio.run(pipeline.run(item.id, claim_token=claimed.claim_token)) == "finished"
    assert marker.read_text() == "/data/run-nightly"


# --- patterns ------------------------------------------------------------------------------

def test_a_backtracking_pattern_is_answered_at_enqueue(relaunch: Any, tmp_path: Path) -> None:
    (tmp_path / "vars.json").write_text(json.dumps(
        {"v": {"type": "string", "pattern": "^(a+)+$"}}))
    assert relaunch("queue", "create", "q", "-r", "local-process", "--config",
                    '{"env": {"V": "{{ v }}"}}', "--template-variables", "vars.json").code == 0
    # ~2**60000 ways for a backtracking matcher; RE2 answers in one pass
    result = relaunch("launch", "-q", "q", "-d", "img:1", "--dry-run",
                      "-v", "v=" + "a" * 60_000 + "b")
    assert result.code == 2 and result.err.count("\n") == 1
    assert "template variable 'v'" in result.err and "does not match pattern '^(a+)+$'" in (
        result.err)
    result = relaunch("launch", "-q", "q", "-d", "img:1", "--dry-run", "-v", "v=" + "a" * 60_000)
    assert result.code == 0, result.err


def test_a_backreference_pattern_is_refused_at_queue_create(
        relaunch: Any, cli_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "vars.json").write_text(json.dumps(
        {"tag": {"type": "string", "pattern": "^(a+)\\1$"}}))
    result = relaunch("queue", "create", "q", "-r", "local-process", "--config",
                      '{"env": {"TAG": "{{ tag }}"}}', "--template-variables", "vars.json")
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Traceback" not in result.err
    assert "template_variables.tag: pattern uses a backreference '\\1'" in result.err
    assert "RE2" in result.err and "does not support" in result.err
    assert not (Path(cli_env["RELAUNCH_DATA_DIR"]) / "relaunch.db").exists() or (
        _counts(cli_env) == (0, 0))
