"""`relaunch launch` (enqueue) through the console script."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

VARS = json.dumps({
    "gpus": {"type": "integer", "minimum": 1, "maximum": 8, "default": 1},
    "tier": {"type": "string", "enum": ["small", "large"]},
})
CONFIG = json.dumps({"env": {"GPUS": "{{ gpus }}", "TIER": "tier-{{ tier }}"}})


@pytest.fixture
def queue(relaunch):
    result = relaunch("queue", "create", "q", "-r", "local-process", "--prioritization",
                      "--config", CONFIG, "--template-variables", VARS)
    assert result.code == 0, result.err
    return "q"


def test_enqueue_stores_argv_and_typed_values(relaunch, queue):
    result = relaunch("launch", "-q", queue, "-d", "img:1", "-E", "python train.py --epochs 3",
                      "-a", "--lr 0.1", "-a", "--name='a b'", "-v", "gpus=4", "-v", "tier=large",
                      "--run-config", '{"lr": 0.1}', "-p", "proj", "--name", "run1", "--json")
    assert result.code == 0, result.err
    job = result.json()
    assert job["state"] == "queued" and job["position"] == 1
    spec = job["spec"]
    assert spec["entry_point"] == ["python", "train.py", "--epochs", "3"]
    assert spec["args"] == ["--lr", "0.1", "--name=a b"]
    assert spec["template_values"] == {"gpus": 4, "tier": "large"}
    assert spec["run_config"] == {"lr": 0.1}
    assert (spec["project"], spec["name"]) == ("proj", "run1")


def test_dry_run_prints_rendered_config_and_enqueues_nothing(relaunch, queue):
    result = relaunch("launch", "-q", queue, "-d", "img", "-v", "tier=small", "--dry-run")
    assert result.code == 0, result.err
    assert json.loads(result.out)["resource_config"] == {
        "env": {"GPUS": 1, "TIER": "tier-small"}}
    assert relaunch("job", "list", "--json").json() == []


@pytest.mark.parametrize(("args", "message"), [
    (["-v", "gpus=9", "-v", "tier=small"], "template variable 'gpus': 9 is above maximum 8"),
    (["-v", "gpus=two", "-v", "tier=small"], "template variable 'gpus': expected an integer"),
    (["-v", "tier=huge"], "template variable 'tier': 'huge' is not one of"),
    ([], "template variable 'tier' needs a value (no default)"),
    (["-v", "tier=small", "-v", "nope=1"], "unknown template variable 'nope'"),
    (["-v", "tier"], "-v/--set-var: expected KEY=VALUE"),
    (["-v", "tier=small", "-R", '{"local-process": {"a": 1}}'],
     "resource_args: queue 'q' declares template"),
    (["-v", "tier=small", "-P", "urgent"], "launch: priority: Input should be"),
    (["-v", "tier=small", "-c", "[1, 2]"], "-c/--config: expected a mapping, got list"),
    (["-v", "tier=small", "--run-config", "[1]"], "--run-config: expected a mapping, got list"),
    (["-v", "tier=small", "-E", "python 'unclosed"], "-E/--entry-point: cannot split"),
])
def test_bad_input_is_exit_2_one_line_and_nothing_written(relaunch, queue, args, message):
    result = relaunch("launch", "-q", queue, "-d", "img", *args)
    assert result.code == 2
    assert result.err.startswith("error: ") and message in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert relaunch("job", "list", "--json").json() == []


def test_two_sources_rejected(relaunch, queue):
    result = relaunch("launch", "-q", queue, "-d", "img", "-u", "https://x/y.git",
                      "-v", "tier=small")
    assert result.code == 2 and "exactly one source" in result.err


def test_unknown_queue_is_exit_2(relaunch):
    result = relaunch("launch", "-q", "missing", "-d", "img")
    assert result.code == 2
    assert result.err.strip() == "error: queue 'missing' not found in entity 'team'"


def test_priority_refused_on_queue_without_prioritization(relaunch):
    relaunch("queue", "create", "plain", "-r", "local-process")
    result = relaunch("launch", "-q", "plain", "-d", "img", "-P", "high")
    assert result.code == 2 and "has no prioritization" in result.err
    assert relaunch("launch", "-q", "plain", "-d", "img", "-R",
                    '{"local-process": {"env": {"A": "1"}}}').code == 0


def test_code_directory_is_packed_into_the_store(relaunch, tmp_path: Path):
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("print('hi')\n")
    relaunch("queue", "create", "plain", "-r", "local-process")
    first = relaunch("launch", "-q", "plain", "--code", str(code), "--json").json()
    second = relaunch("launch", "-q", "plain", "--code", str(code), "--json").json()
    assert first["spec"]["code"].startswith("sha256:")
    assert first["spec"]["code"] == second["spec"]["code"]


def test_missing_code_directory_names_flag(relaunch):
    relaunch("queue", "create", "plain", "-r", "local-process")
    result = relaunch("launch", "-q", "plain", "--code", "does-not-exist")
    assert result.code == 2 and result.err.startswith("error: --code: does-not-exist")


def test_priorities_order_the_queue(relaunch, queue):
    for name, prio in (("a", "low"), ("b", "medium"), ("c", "critical"), ("d", "high")):
        relaunch("launch", "-q", queue, "-d", "img", "-v", "tier=small", "--name", name,
                 "-P", prio)
    pending = relaunch("queue", "show", queue, "--json").json()["pending"]
    assert [(p["position"], p["spec"]["name"]) for p in pending] == [
        (1, "c"), (2, "d"), (3, "b"), (4, "a")]
