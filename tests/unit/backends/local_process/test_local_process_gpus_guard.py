"""local-process's gpus option is the admin's: resource args cannot lower what
quotas and GPU slots count (a template variable gives a job its bounds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from launch_core import api
from launch_core.errors import InvalidInput
from launch_core.store import QueueStore


@pytest.fixture
def store(tmp_path: Path):
    opened = QueueStore(f"sqlite:///{tmp_path / 'store.db'}")
    yield opened
    opened.dispose()


@pytest.mark.parametrize("config", [{"gpus": 2}, {}])
def test_resource_args_may_not_set_the_gpu_count(store: QueueStore, config):
    api.create_queue(store, "q", "local-process", entity="e", config=config,
                     allow_resource_args=True)
    with pytest.raises(InvalidInput, match="^gpus: the GPUs a run takes .* admin's to set"):
        api.launch(store, "q", {"image": "x", "resource_args": {"local-process": {"gpus": 0}}},
                   entity="e")
    assert store.list_items(entity="e") == []


def test_a_variable_gives_the_job_its_bounds(store: QueueStore):
    api.create_queue(store, "q", "local-process", entity="e", config={"gpus": "{{ g }}"},
                     template_variables={"g": {"type": "integer", "minimum": 0, "maximum": 4,
                                               "default": 1}})
    assert api.launch(store, "q", {"image": "x", "template_values": {"g": 3}},
                      entity="e").gpus == 3
    with pytest.raises(InvalidInput, match="g"):
        api.launch(store, "q", {"image": "x", "template_values": {"g": 5}}, entity="e")
