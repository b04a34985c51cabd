"""The vertex resource's demand: accelerators × replicas over the worker pools of
W&B's queue config (``spec.worker_pool_specs``)."""

from __future__ import annotations

from typing import Any

import pytest

from launch_core.backends.vertex.resource import VertexResource


def gpus(*pools: Any) -> int:
    config = {"spec": {"worker_pool_specs": list(pools), "staging_bucket": "gs://b"}}
    return VertexResource().demand(config)["gpus"]


def pool(count: Any = None, replicas: Any = None, kind: str = "NVIDIA_TESLA_T4",
         **extra: Any) -> dict[str, Any]:
    machine: dict[str, Any] = {"machine_type": "n1-standard-4", "accelerator_type": kind}
    if count is not None:
        machine["accelerator_count"] = count
    spec: dict[str, Any] = {"machine_spec": machine, **extra}
    if replicas is not None:
        spec["replica_count"] = replicas
    return spec


def test_each_pool_counts_its_accelerators_times_its_replicas() -> None:
    assert gpus(pool(2), pool(4, replicas=3)) == 14


def test_an_empty_pool_and_a_pool_without_accelerators_count_nothing() -> None:
    assert gpus(pool(1), {}, pool(replicas=5)) == 1


def test_tpus_are_no_gpus() -> None:
    assert gpus(pool(8, kind="TPU_V3"), pool(1)) == 1


def test_the_apis_camel_case_and_string_numbers_are_read() -> None:
    camel = {"machineSpec": {"machineType": "a2-highgpu-2g", "acceleratorCount": "2"},
             "replicaCount": "2"}
    assert gpus(camel) == 4


@pytest.mark.parametrize("config", [
    {}, {"spec": None}, {"spec": {"worker_pool_specs": "{{ pools }}"}},
    {"spec": {"worker_pool_specs": [None, "x", {"machine_spec": "big"}]}},
    {"spec": {"worker_pool_specs": [pool("${n}", replicas=2)]}},
])
def test_what_is_not_countable_counts_zero_and_never_raises(config: dict[str, Any]) -> None:
    assert VertexResource().demand(config) == {"gpus": 0}
