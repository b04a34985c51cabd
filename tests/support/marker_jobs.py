"""Marker jobs and fixtures for the pipeline and agent tests (SQLite, no Prefect).

Each job appends one line to its own marker file every time it really runs, so a
test counts runs from the job's side."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from launch_core import api
from launch_core.spec.agent_config import AgentConfig, load_agent_config
from launch_core.spec.models import LaunchSpec
from launch_core.store import QueueItem, QueueRecord, QueueStore


class Jobs:
    """Enqueues marker jobs into one local-process queue and reads their markers."""

    def __init__(self, store: QueueStore, queue: QueueRecord, folder: Path) -> None:
        self.store, self.queue, self.folder = store, queue, folder
        self.markers: dict[int, Path] = {}

    def enqueue(self, seconds: float = 0.0, code: int = 0) -> QueueItem:
        marker = self.folder / f"marker-{len(list(self.folder.glob('marker-*')))}"
        marker.touch()
        script = (f"import sys, time; open({str(marker)!r}, 'a').write('ran\\n'); "
                  f"print('hello from the job', flush=True); time.sleep({seconds}); "
                  f"sys.exit({code})")
        # local-process runs the entry point directly; the image is only a label here
        spec = LaunchSpec.model_validate({"image": "local", "entry_point": [
            sys.executable, "-c", script]})
        item = self.store.enqueue(self.queue, spec)
        self.markers[item.id] = marker
        return item

    def runs(self, item: QueueItem) -> int:
        """How many times the job really ran (its own side effect)."""
        return self.markers[item.id].read_text().count("ran")


@pytest.fixture
def sqlite_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[QueueStore]:
    monkeypatch.setenv("RELAUNCH_DATA_DIR", str(tmp_path / "data"))
    store = QueueStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield store
    store.dispose()


@pytest.fixture
def jobs(sqlite_store: QueueStore, tmp_path: Path) -> Jobs:
    queue = api.create_queue(sqlite_store, "q", "local-process", entity="team")
    folder = tmp_path / "markers"
    folder.mkdir()
    return Jobs(sqlite_store, queue, folder)


@pytest.fixture
def agent_config(sqlite_store: QueueStore) -> AgentConfig:
    url = sqlite_store.engine.url.render_as_string(hide_password=False)
    config, _ = load_agent_config(flags={"database": url, "queues": ["q"], "entity": "team",
                                         "lease_seconds": 5, "poll_interval": 0.1,
                                         "max_jobs": 4}, environ={})
    return config
