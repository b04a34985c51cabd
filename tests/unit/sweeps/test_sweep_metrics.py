"""A trial's metric from what its run left: JSON-object lines of its output, and the
run directory of the stock ``wandb`` client run offline (a real ``wandb`` script in
a subprocess, no network)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from launch_core.sweeps import metrics, wandb_run

OUTPUT = [
    "epoch 1 starting",
    '{"loss": 0.9, "acc": 0.1}',
    '{"acc": 0.2}',  # no loss: not a report of it
    '  {"loss": 0.5, "val": {"loss": 0.7}}  ',
    '{"loss": "n/a"}',  # not a number
    '{"loss": true}',  # a boolean is not a number
    '{"loss": NaN}',  # W&B's sweeps skip non-finite values
    "{not json at all",
    '["loss", 0.1]',  # not an object
    '{"loss": 0.25, "val.loss": 0.6}',
    "done",
]


def test_the_last_number_of_the_metric_in_json_lines() -> None:
    assert metrics.output_value(OUTPUT, "loss") == 0.25
    assert metrics.output_series(OUTPUT, "loss") == [(1, 0.9), (2, 0.5), (3, 0.25)]
    assert metrics.output_series(OUTPUT, "val.loss") == [(1, 0.7), (2, 0.6)]  # nested, dotted
    assert metrics.output_value(OUTPUT, "f1") is None
    assert metrics.output_value([], "loss") is None


def test_integers_count_and_long_lines_are_skipped() -> None:
    huge = json.dumps({"loss": 0.1, "pad": "x" * metrics.MAX_LINE})
    assert metrics.output_series(['{"loss": 3}', huge, '{"loss": 2}'], "loss") == \
        [(1, 3.0), (2, 2.0)]


TRAIN = """\
import wandb

run = wandb.init(project="sweep-test", config={"lr": 0.1})
for epoch in range(1, 5):
    run.log({"loss": 1.0 / epoch, "val": {"acc": epoch / 10}})
run.log({"other": 1})
run.summary["best_loss"] = 0.2
run.finish()
"""


@pytest.fixture(scope="module")
def wandb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """WANDB_DIR of a stock wandb script run offline (run id ``trial0007``)."""
    home = tmp_path_factory.mktemp("wandb-offline")
    (home / "train.py").write_text(TRAIN)
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
           "WANDB_RUN_ID": "trial0007", "WANDB_DIR": str(home),
           "WANDB_CACHE_DIR": str(home / "cache"), "WANDB_CONFIG_DIR": str(home / "config"),
           "WANDB_DATA_DIR": str(home / "data"), "HOME": str(home)}
    env.pop("WANDB_API_KEY", None)
    done = subprocess.run([sys.executable, "train.py"], cwd=home, env=env, timeout=120,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return home


def test_a_stock_wandb_offline_run_gives_its_metric(wandb_dir: Path) -> None:
    run_dir = wandb_run.find_run(wandb_dir, "trial0007")
    assert run_dir is not None and run_dir.name.startswith("offline-run-")
    assert wandb_run.find_run(wandb_dir) == run_dir
    assert wandb_run.find_run(wandb_dir, "other") is None
    assert metrics.wandb_value(run_dir, "loss") == 0.25
    assert metrics.wandb_value(run_dir, "val.acc") == 0.4
    assert metrics.wandb_value(run_dir, "best_loss") == 0.2
    assert metrics.wandb_series(run_dir, "loss") == [(1, 1.0), (2, 0.5),
                                                     (3, 1.0 / 3), (4, 0.25)]


def test_a_log_cut_short_gives_what_was_written(wandb_dir: Path, tmp_path: Path) -> None:
    run_dir = wandb_run.find_run(wandb_dir)
    assert run_dir is not None
    [log] = run_dir.glob("run-*.wandb")
    whole = log.read_bytes()
    cut = tmp_path / "offline-run-20260101_000000-cut"
    cut.mkdir()
    reports = []
    for size in (0, 7, len(whole) // 2, len(whole) - 3):
        (cut / log.name).write_bytes(whole[:size])
        reports.append(len(metrics.wandb_series(cut, "loss")))
    assert reports[0] == reports[1] == 0
    assert reports == sorted(reports) and reports[2] < 4 and reports[-1] == 4
    (cut / log.name).write_bytes(whole[:7] + bytes(len(whole) - 7))  # zeros: no record
    assert metrics.wandb_value(cut, "loss") is None


def test_a_summary_file_is_read_when_the_client_wrote_one(tmp_path: Path) -> None:
    run_dir = tmp_path / "wandb" / "run-20260101_120000-abc"
    (run_dir / "files").mkdir(parents=True)
    (run_dir / "files" / "wandb-summary.json").write_text(
        json.dumps({"loss": 0.3, "val": {"acc": 0.8}, "_step": 9}))
    assert wandb_run.find_run(tmp_path) == run_dir
    assert metrics.wandb_value(run_dir, "loss") == 0.3
    assert metrics.wandb_value(run_dir, "val.acc") == 0.8


def test_a_huge_integer_metric_is_no_value() -> None:
    assert metrics.output_value(['{"loss": 1' + "0" * 400 + "}"], "loss") is None


def _chunk(kind: int, data: bytes) -> bytes:
    import struct
    import zlib
    return struct.pack("<IHB", zlib.crc32(bytes([kind]) + data), len(data), kind) + data


def test_a_record_past_the_size_cap_is_not_read(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile log of one endless record (FIRST, then MIDDLE chunks): reading stops
    at the cap instead of gathering it all."""
    monkeypatch.setattr(wandb_run, "MAX_SUMMARY_BYTES", 256 * 1024)
    run_dir = tmp_path / "offline-run-20260101_000000-big"
    run_dir.mkdir()
    body, first = bytearray(wandb_run.HEADER), True
    while len(body) < 1024 * 1024:
        room = wandb_run.BLOCK - len(body) % wandb_run.BLOCK
        if room < wandb_run.CHUNK_HEADER:
            body += bytes(room)
            continue
        body += _chunk(wandb_run.FIRST if first else wandb_run.MIDDLE,
                       bytes(room - wandb_run.CHUNK_HEADER))
        first = False
    body += _chunk(wandb_run.LAST, b"")
    (run_dir / "run-big.wandb").write_bytes(bytes(body))
    assert list(wandb_run._chunks(run_dir / "run-big.wandb")) == []  # noqa: SLF001
    monkeypatch.setattr(wandb_run, "MAX_SUMMARY_BYTES", 4 * 1024 * 1024)  # under it: read
    [record] = wandb_run._chunks(run_dir / "run-big.wandb")  # noqa: SLF001
    assert len(record) > 900 * 1024
