"""CLI fuzzing of ``queue create`` and ``launch`` with random and hostile input: huge
files, deep nesting, YAML aliases expanding (billion laughs), binary, non-UTF-8,
duplicate keys, YAML tags. Every refusal is exit 2 with one ``error:`` line on
stderr, no traceback, nothing on stdout, and no row written: the store's queue,
item, event and blob counts are the same after it. Runs the console script through
the ``relaunch`` fixture (forked in-process with RELAUNCH_TEST_CLI=fork)."""

from __future__ import annotations

import os
import re
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launch_core import api
from launch_core.store import QueueStore

LAUGHS = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"{n}: &{n} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, n in zip("abcdefgh", "bcdefghi", strict=True))
HOSTILE: dict[str, tuple[str, bytes]] = {
    "huge": (".yaml", b"a: " + b"x" * (1024 * 1024 + 16)),
    "deep-json": (".json", b'{"a":' * 5000 + b"1" + b"}" * 5000),
    "deep-json-65": (".json", b'{"a":' * 65 + b"1" + b"}" * 65),
    "deep-yaml": (".yaml", b"a: " + b"[" * 200 + b"]" * 200),
    "billion-laughs": (".yaml", LAUGHS.encode()),
    "merge-alias": (".yaml", b"base: &b {x: 1}\nother:\n  <<: *b\n"),
    "binary": (".yaml", bytes(range(256)) * 4),
    "png": (".json", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
    "latin-1": (".yaml", "name: café".encode("latin-1")),
    "utf-16": (".json", '{"a": 1}'.encode("utf-16")),
    "duplicate-json": (".json", b'{"a": 1, "a": 2}'),
    "duplicate-yaml": (".yaml", b"a: 1\nb: 2\na: 3\n"),
    "nan": (".json", b'{"a": NaN}'),
    "infinity": (".json", b'{"a": 1e999}'),
    "nul-escape": (".json", b'{"a": "x\\u0000y"}'),
    "python-tag": (".yaml", b"a: !!python/object/apply:os.system ['touch pwned']\n"),
    "binary-tag": (".yaml", b"a: !!binary aGVsbG8=\n"),
    "set-tag": (".yaml", b"a: !!set {x, y}\n"),
    "two-documents": (".yaml", b"a: 1\n---\nb: 2\n"),
    "not-a-mapping": (".yaml", b"- 1\n- 2\n"),
    "integer-key": (".yaml", b"1: one\n"),
    "long-integer": (".yaml", b"a: " + b"9" * 5000),
    "lone-surrogate": (".json", b'{"a": "\\udcff"}'),
}
TARGETS = {
    "queue --config": ["queue", "create", "fresh", "-r", "local-process", "--config"],
    "queue --template-variables": ["queue", "create", "fresh", "-r", "local-process",
                                   "--template-variables"],
    "launch -c": ["launch", "-q", "q", "-d", "img:1", "-c"],
    "launch --run-config": ["launch", "-q", "q", "-d", "img:1", "--run-config"],
    "launch -R": ["launch", "-q", "q", "-d", "img:1", "-R"],
}
CASES = [(name, target) for index, name in enumerate(HOSTILE)
         for target in (list(TARGETS)[index % 2], list(TARGETS)[2 + index % 3])]


def _counts(env: dict[str, str]) -> dict[str, int]:
    with sqlite3.connect(Path(env["RELAUNCH_DATA_DIR"]) / "relaunch.db") as db:
        return {table: db.execute(f"select count(*) from {table}").fetchone()[0]
                for table in ("queues", "items", "events", "blobs")}


@pytest.fixture
def store_counts(cli_env: dict[str, str]) -> Iterator[Callable[[], dict[str, int]]]:
    """The CLI's store with a queue ``q`` holding one job (written through the API);
    yields a function counting the store's rows."""
    store = QueueStore(f"sqlite:///{Path(cli_env['RELAUNCH_DATA_DIR']) / 'relaunch.db'}")
    api.create_queue(store, "q", "local-process", entity="team")
    api.launch(store, "q", {"image": "img:1"}, entity="team")
    store.dispose()
    yield lambda: _counts(cli_env)


def _refused(result: Any) -> None:
    assert result.code == 2, (result.code, result.out, result.err)
    assert result.err.startswith("error: ") and result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err and result.out == ""


@pytest.mark.parametrize(("name", "target"), CASES, ids=[f"{n}|{t}" for n, t in CASES])
def test_hostile_file_is_refused_with_one_line_and_nothing_written(
        relaunch: Any, store_counts: Any, tmp_path: Path, name: str, target: str) -> None:
    suffix, content = HOSTILE[name]
    path = tmp_path / f"input{suffix}"
    path.write_bytes(content)
    before = store_counts()
    result = relaunch(*TARGETS[target], path.name)
    _refused(result)
    assert target.split()[1] in result.err or path.name in result.err
    assert store_counts() == before
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("args", [
    ["queue", "create", "caf\udce9", "-r", "local-process"],
    ["queue", "create", "fresh", "-r", "local-process", "--description", "\udcff"],
    ["queue", "create", "fresh", "-r", "local-process", "--config", "{a: \udcff}"],
    ["queue", "create", "fresh", "-r", "local-process", "--config", "[" * 5000],
    ["queue", "create", "fresh", "-r", "local-process", "--config", LAUGHS],
    ["queue", "update", "q", "--config", '{"env": {"A": 1}, "env": {"B": 2}}'],
    ["launch", "-q", "q", "-d", "img:1", "--name", "run-\udcff"],
    ["launch", "-q", "q", "-d", "img:1", "-E", "python \udcff.py"],
    ["launch", "-q", "q", "-d", "img:1", "--run-config", '{"a": 1, "a": 2}'],
    ["launch", "-q", "q", "-d", "img:1", "--run-config", "x: &x [1]\ny: *x"],
    ["launch", "-q", "q", "-d", "img:1", "-R", '{"local-process": ' * 80 + "{}" + "}" * 80],
], ids=lambda args: " ".join(args)[:60].encode("ascii", "replace").decode())
def test_hostile_arguments_are_refused_with_one_line_and_nothing_written(
        relaunch: Any, store_counts: Any, args: list[str]) -> None:
    before = store_counts()
    _refused(relaunch(*args))
    assert store_counts() == before


FUZZ = settings(max_examples=int(os.environ.get("RELAUNCH_FUZZ_CLI_EXAMPLES", "25")),
                deadline=None, derandomize=False,
                suppress_health_check=[HealthCheck.too_slow])
yaml_pieces = st.sampled_from(["a", ": ", "\n", "  ", "- ", "&x ", "*x", "{", "}", "[", "]",
                               ",", '"', "!!binary ", "!!python/name:os.system", "<<: ",
                               "\x00", "é", "\ufeff", "---\n", "? ", "%YAML 1.1\n", "1e999"])
contents = (st.binary(max_size=4000)
            | st.lists(yaml_pieces, max_size=60).map(lambda parts: "".join(parts).encode())
            | st.lists(yaml_pieces, max_size=60).map(
                lambda parts: "".join(parts).encode("latin-1", "replace")))


def test_random_files_are_refused_cleanly_or_accepted_whole(
        relaunch: Any, store_counts: Any, tmp_path: Path) -> None:
    tried: Counter[str] = Counter()

    @FUZZ
    @given(content=contents, target=st.sampled_from(sorted(TARGETS)),
           suffix=st.sampled_from([".yaml", ".json"]))
    def fuzz(content: bytes, target: str, suffix: str) -> None:
        tried["files"] += 1
        path = tmp_path / f"random{suffix}"
        path.write_bytes(content)
        before = store_counts()
        result = relaunch(*TARGETS[target], path.name)
        assert "Traceback" not in result.err
        if result.code != 0:
            _refused(result)
            assert store_counts() == before
            return
        tried["accepted"] += 1  # a valid document: exactly one queue or one job more
        after = store_counts()
        assert {t for t in before if after[t] != before[t]} <= {"queues", "items", "events"}
        assert after["items"] - before["items"] <= 1
        if target.startswith("queue"):
            assert relaunch("queue", "delete", "fresh").code == 0

    fuzz()
    print(f"CLI fuzz: {tried['files']} random files tried, {tried['accepted']} accepted whole")
    assert tried["files"] >= FUZZ.max_examples * 0.8


def test_random_template_values_and_entry_points_are_refused_cleanly_or_enqueued(
        relaunch: Any, store_counts: Any) -> None:
    variables = ('{"gpus": {"type": "integer", "minimum": 0, "maximum": 8, "default": 1}, '
                 '"size": {"type": "string", "enum": ["small", "large"], "default": "small"}, '
                 '"tag": {"type": "string", "pattern": "^[a-z0-9-]{1,20}$", "default": "a"}}')
    config = '{"env": {"GPUS": "{{ gpus }}", "SIZE": "{{ size }}", "TAG": "t-{{ tag }}"}}'
    assert relaunch("queue", "create", "guarded", "-r", "local-process", "--config", config,
                    "--template-variables", variables).code == 0
    tried: Counter[str] = Counter()
    text = st.text(st.characters(blacklist_characters="\x00"), max_size=30)

    @FUZZ
    @given(values=st.lists(st.tuples(st.sampled_from(["gpus", "size", "tag", "x", ""]),
                                      st.sampled_from(["8", "9", "-1", "small", "a", "a\n",
                                                       "small\n"]) | text),
                           max_size=3),
           command=text)
    def fuzz(values: list[tuple[str, str]], command: str) -> None:
        tried["launches"] += 1
        before = store_counts()
        args = [arg for name, value in values for arg in ("-v", f"{name}={value}")]
        result = relaunch("launch", "-q", "guarded", "-d", "img:1", "-E", command or "x",
                          *args)
        if result.code != 0:
            _refused(result)
            assert store_counts() == before
            return
        tried["enqueued"] += 1
        given_values = dict(values)
        assert int(given_values.get("gpus", "0")) in range(9)
        assert given_values.get("size", "small") in ("small", "large")
        assert re.fullmatch("[a-z0-9-]{1,20}", given_values.get("tag", "a"))

    fuzz()
    print(f"CLI fuzz: {tried['launches']} random launches, {tried['enqueued']} enqueued")
    assert tried["launches"] >= FUZZ.max_examples * 0.8
