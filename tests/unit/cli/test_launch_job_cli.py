"""Launch jobs through the console script: ``relaunch job create`` (versions, aliases,
``latest``), ``describe``, ``versions``, ``alias``, ``delete``, ``launch -j`` (run
config checked against the inputs, defaults filled, the code never uploaded again)
and ``job rerun``, on the CLI's own SQLite store."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, func, select

from launch_core.store import QueueStore
from launch_core.store.schema import blobs, launch_job_versions

INPUTS = {"lr": {"type": "number", "minimum": 0.0001, "maximum": 1, "default": 0.01},
          "epochs": {"type": "integer", "minimum": 1, "maximum": 100}}
SCHEMA: dict[str, Any] = {"type": "object", "required": ["epochs"],
          "properties": {"lr": {"type": "number", "minimum": 0.0001, "maximum": 1,
                                "default": 0.01, "title": "Learning rate"},
                         "epochs": {"type": "integer", "minimum": 1, "maximum": 100}}}


def code_dir(root: Path, says: str = "hello") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(f"print({says!r})\n")
    return root


def write(path: Path, data: object) -> Path:
    path.write_text(json.dumps(data))
    return path


def ok(result: Any) -> Any:
    assert result.code == 0, result.err
    return result


def refused(result: Any) -> str:
    """The one ``error:`` line of a command that exited 2."""
    assert result.code == 2, (result.code, result.out, result.err)
    lines = result.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err
    return str(lines[0])


def count(tmp_path: Path, table: Table) -> int:
    store = QueueStore(f"sqlite:///{tmp_path / 'data' / 'relaunch.db'}")
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        store.dispose()


def create(relaunch: Any, *args: str) -> Any:
    return relaunch("job", "create", *args, "--json")


def test_versions_follow_content_and_aliases_move(relaunch: Any, tmp_path: Path) -> None:
    code = code_dir(tmp_path / "code")
    first = ok(create(relaunch, "code", str(code), "-n", "train", "-E", "python3 main.py",
                      "-a", "prod")).json()
    assert (first["version"], first["created"], first["aliases"]) == ("v0", True,
                                                                      ["latest", "prod"])
    again = ok(relaunch("job", "create", "code", str(code), "-n", "train", "-E",
                        "python3 main.py", "-a", "exp"))
    assert "same content as v0, no new version; alias exp now names it" in again.out
    code_dir(code, "changed")
    second = ok(create(relaunch, "code", str(code), "-n", "train", "-E", "python3 main.py",
                       "-a", "prod")).json()
    assert (second["version"], second["moved"]) == ("v1", {"prod": "v0"})
    listed = ok(relaunch("job", "versions", "train", "--json")).json()
    assert [(v["version"], v["aliases"]) for v in listed] == [
        ("v1", ["latest", "prod"]), ("v0", ["exp"])]
    assert ok(relaunch("job", "describe", "train:exp", "--json")).json()["version"] == "v0"
    moved = ok(relaunch("job", "alias", "train:v1", "exp"))
    assert moved.out.strip() == "alias exp names train:v1 (was v0)"
    shown = ok(relaunch("job", "describe", "train"))
    assert shown.out.startswith("job train:v1 in entity team\n  aliases: latest, exp, prod\n")
    assert "entry point: python3 main.py" in shown.out
    assert count(tmp_path, launch_job_versions) == 2


def test_launch_by_alias_checks_the_run_config_and_never_uploads_the_code_again(
        relaunch: Any, tmp_path: Path) -> None:
    ok(relaunch("queue", "create", "q", "-r", "local-process"))
    code = code_dir(tmp_path / "code")
    made = ok(create(relaunch, "code", str(code), "-n", "train", "-E", "python3 main.py",
                     "-a", "prod", "--inputs", str(write(tmp_path / "in.json", INPUTS)))).json()
    assert count(tmp_path, blobs) == 1
    shutil.rmtree(code)  # the job's code is the version's tarball, not the directory
    item = ok(relaunch("launch", "-q", "q", "-j", "train:prod", "--run-config",
                       '{"epochs": 3}', "--json")).json()
    assert item["spec"]["run_config"] == {"lr": 0.01, "epochs": 3}  # the default filled
    assert item["spec"]["job"] == "train:v0"
    assert item["spec"]["code"] == made["source"]["code"]
    assert item["spec"]["entry_point"] == ["python3", "main.py"]
    # -E wins over the job's entry point; -c's run config is checked as --run-config's
    other = ok(relaunch("launch", "-q", "q", "-j", "train", "-E", "python3 -V", "-c",
                        json.dumps({"overrides": {"run_config": {"epochs": 7}}}),
                        "--json")).json()
    assert (other["spec"]["entry_point"], other["spec"]["run_config"]["epochs"]) == (
        ["python3", "-V"], 7)
    assert count(tmp_path, blobs) == 1
    status = ok(relaunch("job", "status", str(item["id"])))
    assert "launched from job train:v0" in status.out
    for config, message in [
        ('{"epochs": 300}', "error: run config: key 'epochs' of job train:v0: 300 is above "
                            "maximum 100"),
        ('{"lr": 0.1}', "error: run config: key 'epochs' needs a value: job train:v0 gives "
                        "it no default"),
        ('{"epochs": 3, "momentum": 0.9}', "error: run config: key 'momentum' is not an "
                                           "input of job train:v0 (inputs: epochs, lr)"),
    ]:
        result = relaunch("launch", "-q", "q", "-j", "train:prod", "--run-config", config)
        assert refused(result) == message
    assert len(ok(relaunch("job", "list", "--json")).json()) == 2  # nothing more enqueued


def test_entity_project_name_form(relaunch: Any, tmp_path: Path) -> None:
    ok(relaunch("queue", "create", "q", "-r", "local-process", "-e", "lab"))
    ok(create(relaunch, "image", "repo/train:1", "-n", "train", "-e", "lab"))
    item = ok(relaunch("launch", "-q", "q", "-j", "lab/vision/train:v0", "--json")).json()
    assert (item["spec"]["image"], item["project"]) == ("repo/train:1", "vision")
    own = ok(relaunch("launch", "-q", "q", "-j", "lab/vision/train", "-p", "mine",
                      "--json")).json()
    assert own["project"] == "mine"  # -p wins over the reference's project
    assert refused(relaunch("launch", "-q", "q", "-j", "lab/vision/train", "-e", "team")) == (
        "error: -j/--job: job 'lab/vision/train' belongs to entity 'lab', the launch is in "
        "'team' (-e): a queue launches its own entity's jobs")
    assert refused(relaunch("launch", "-q", "q", "-j", "train")) == (
        "error: -j/--job: job 'train' not found in entity 'team'")
    assert refused(relaunch("launch", "-q", "q", "-j", "vision/train", "-e", "lab")).startswith(
        "error: -j/--job: 'vision/train' is not a job reference")


def test_json_schema_inputs_and_their_refusals(relaunch: Any, tmp_path: Path) -> None:
    ok(relaunch("queue", "create", "q", "-r", "local-process"))
    schema = write(tmp_path / "schema.json", SCHEMA)
    made = ok(create(relaunch, "image", "repo/train:1", "-n", "train", "--inputs",
                     str(schema))).json()
    assert made["inputs"]["lr"] == {"type": "number", "minimum": 0.0001, "maximum": 1,
                                    "default": 0.01, "description": ""}
    assert refused(relaunch("launch", "-q", "q", "-j", "train", "--run-config",
                            '{"epochs": 0}')) == (
        "error: run config: key 'epochs' of job train:v0: 0 is below minimum 1")
    nested = write(tmp_path / "nested.json", {**SCHEMA, "properties": {
        **SCHEMA["properties"], "lr": {"type": "number", "exclusiveMaximum": 1,
                                       "default": 0.1}}})
    assert refused(create(relaunch, "image", "repo/train:2", "-n", "other", "--inputs",
                          str(nested))) == (
        f"error: --inputs ({nested}): properties.lr: key 'exclusiveMaximum' is not "
        "supported (a property may use default, description, enum, label, maximum, "
        "minimum, pattern, placeholder, title, type)")
    assert refused(relaunch("job", "describe", "other")) == (
        "error: job 'other' not found in entity 'team'")  # nothing half-written


@pytest.mark.parametrize(("args", "message"), [
    (["bundle", "x", "-n", "j"], "error: KIND: 'bundle' is not one of code, git, image"),
    (["code", "./missing", "-n", "j"], "error: SOURCE: missing is not a directory"),
    (["image", "img", "-n", "j", "-g", "main"], "error: -g/--git-hash: applies to a git job"),
    (["image", "img", "-n", "j", "-B", "python:3"], "takes no base image"),
    (["image", "img", "-n", "j", "-E", ""], "error: -E/--entry-point: the command is empty"),
    (["image", "img", "-n", "bad name"], "error: -n/--name: job name 'bad name' must match"),
    (["image", "img", "-n", "j", "-a", "latest"], "error: -a/--alias: alias 'latest' always "
                                                  "names the newest version"),
    (["image", "img", "-n", "j", "-a", "v2"], "alias 'v2' looks like a version"),
    (["git", "https://user:ghp_TOKEN@example.com/r.git", "-n", "j"],
     "error: SOURCE: https://***@example.com/r.git has credentials in it"),
    (["image", "img", "-n", "j", "--inputs", "missing.yaml"],
     "error: --inputs: file missing.yaml not found"),
])
def test_bad_create_input_is_one_line_and_stores_nothing(relaunch: Any, tmp_path: Path,
                                                         args: list[str], message: str
                                                         ) -> None:
    line = refused(relaunch("job", "create", *args))
    assert line.startswith(message) or message in line, line
    assert "ghp_TOKEN" not in line
    assert refused(relaunch("job", "versions", "j")).startswith("error: job 'j' not found")


def test_a_job_and_a_source_together_are_refused(relaunch: Any, tmp_path: Path) -> None:
    ok(relaunch("queue", "create", "q", "-r", "local-process"))
    ok(create(relaunch, "image", "repo/train:1", "-n", "train"))
    assert refused(relaunch("launch", "-q", "q", "-j", "train", "-d", "img")) == (
        "error: -j/--job: a job brings its own source; give -j or -d/--docker-image, "
        "not both")
    assert refused(relaunch("launch", "-q", "q", "-j", "train", "-B", "python:3")) == (
        "error: -B/--base-image: an image job builds nothing, so it takes no base image")
    # -c's job is W&B's launch spec field: a reference, as -j
    item = ok(relaunch("launch", "-q", "q", "-c", json.dumps({"job": "team/p/train:latest"}),
                       "--json")).json()
    assert (item["spec"]["job"], item["project"]) == ("train:v0", "p")


def test_rerun_enqueues_the_same_spec_under_a_new_run_id(relaunch: Any,
                                                         tmp_path: Path) -> None:
    ok(relaunch("queue", "create", "q", "-r", "local-process", "--template-variables",
                json.dumps({"threads": {"type": "integer", "maximum": 4, "default": 1}}),
                "--config", json.dumps({"env": {"THREADS": "{{threads}}"}})))
    ok(relaunch("queue", "create", "small", "-r", "local-process", "--template-variables",
                json.dumps({"threads": {"type": "integer", "maximum": 2, "default": 1}}),
                "--config", json.dumps({"env": {"THREADS": "{{threads}}"}})))
    ok(create(relaunch, "image", "repo/train:1", "-n", "train"))
    first = ok(relaunch("launch", "-q", "q", "-j", "train", "-v", "threads=3", "--name", "r1",
                        "--json")).json()
    again = ok(relaunch("job", "rerun", str(first["id"]), "--json")).json()
    assert again["id"] != first["id"] and again["run_id"] != first["run_id"]
    assert again["queue"] == "q" and again["spec"] == first["spec"]
    # into another queue, whose checks apply again
    assert refused(relaunch("job", "rerun", str(first["id"]), "-q", "small")) == (
        "error: template variable 'threads': 3 is above maximum 2")
    text = ok(relaunch("job", "rerun", str(again["id"]), "-q", "q"))
    assert text.out.startswith("enqueued job 3 (run ") and "a rerun of job 2" in text.out
    assert refused(relaunch("job", "rerun", "99")) == "error: job 99 not found"


def test_delete_a_version_then_the_job_and_enqueued_runs_keep_working(relaunch: Any,
                                                                      tmp_path: Path) -> None:
    ok(relaunch("queue", "create", "q", "-r", "local-process"))
    for tag in ("1", "2"):
        ok(create(relaunch, "image", f"repo/train:{tag}", "-n", "train"))
    item = ok(relaunch("launch", "-q", "q", "-j", "train:v1", "--json")).json()
    assert ok(relaunch("job", "delete", "train:v1")).out.strip() == "deleted train:v1"
    assert ok(relaunch("job", "describe", "train", "--json")).json()["version"] == "v0"
    assert refused(relaunch("job", "delete", "train:prod")).startswith(
        "error: NAME[:vN]: 'train:prod' names an alias; give the version")
    assert ok(relaunch("job", "delete", "train")).out.strip() == (
        "deleted job train (1 version(s): v0)")
    assert refused(relaunch("launch", "-q", "q", "-j", "train")) == (
        "error: -j/--job: job 'train' not found in entity 'team'")
    kept = ok(relaunch("job", "status", str(item["id"]), "--json")).json()
    assert (kept["state"], kept["spec"]["job"], kept["spec"]["image"]) == (
        "queued", "train:v1", "repo/train:2")
    rerun = ok(relaunch("job", "rerun", str(item["id"]), "--json")).json()
    assert rerun["spec"]["image"] == "repo/train:2"  # its own spec, not the job's
