"""The kubernetes resource's demand: the GPUs of every pod its manifest makes."""

from __future__ import annotations

from typing import Any

import pytest

from launch_core.backends.kubernetes.resource import KubernetesResource


def gpus(config: dict[str, Any]) -> int:
    return KubernetesResource().demand(config)["gpus"]


def container(limits: dict[str, Any] | None = None, requests: dict[str, Any] | None = None,
              **extra: Any) -> dict[str, Any]:
    resources = {key: value for key, value in (("limits", limits), ("requests", requests))
                 if value is not None}
    return {"name": "c", "image": "x", "resources": resources, **extra}


def pod(*containers: dict[str, Any], init: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any] = {"containers": list(containers)}
    if init:
        spec["initContainers"] = list(init)
    return {"spec": spec}


def job(template: dict[str, Any], **spec: Any) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "spec": {"template": template, **spec}}


def test_a_batch_job_counts_its_container_limits_once_by_default() -> None:
    assert gpus(job(pod(container({"nvidia.com/gpu": 2, "cpu": "4"})))) == 2


def test_a_batch_job_counts_each_parallel_pod() -> None:
    assert gpus(job(pod(container({"nvidia.com/gpu": "2"})), parallelism=3)) == 6
    assert gpus(job(pod(container({"nvidia.com/gpu": 1})), parallelism=0)) == 0


def test_limits_win_over_requests_and_requests_count_without_limits() -> None:
    assert gpus(job(pod(container({"nvidia.com/gpu": 2}, {"nvidia.com/gpu": 1})))) == 2
    assert gpus(job(pod(container(requests={"amd.com/gpu": 3})))) == 3


def test_every_gpu_resource_name_counts_and_nothing_else_does() -> None:
    limits = {"nvidia.com/gpu": 1, "amd.com/gpu": 1, "gpu.intel.com/i915": 1,
              "example.org/gpu": 1, "cpu": 8, "memory": "16Gi", "gpu": 5,
              "nvidia.com/mig-1g.5gb": 1, "example.org/gpus": 1}
    assert gpus(job(pod(container(limits), container({"nvidia.com/gpu": 2})))) == 6


def test_init_containers_take_the_largest_one_sidecars_run_beside() -> None:
    # an init container runs alone, before the containers: the pod reserves the larger
    init = container({"nvidia.com/gpu": 4})
    assert gpus(job(pod(container({"nvidia.com/gpu": 1}), init=(init,)))) == 4
    # a sidecar (restartPolicy Always) runs beside the containers: added
    sidecar = container({"nvidia.com/gpu": 1}, restartPolicy="Always")
    assert gpus(job(pod(container({"nvidia.com/gpu": 1}), init=(sidecar,)))) == 2


def test_a_pytorchjob_sums_replicas_times_each_replica_specs_pod() -> None:
    config = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "spec": {
        "pytorchReplicaSpecs": {
            "Master": {"replicas": 1, "template": pod(container({"nvidia.com/gpu": 1}))},
            "Worker": {"replicas": 3, "template": pod(container({"nvidia.com/gpu": 2}))},
        }}}
    assert gpus(config) == 7


def test_a_replica_spec_without_replicas_counts_one() -> None:
    config = {"apiVersion": "kubeflow.org/v1", "kind": "TFJob", "spec": {
        "tfReplicaSpecs": {"Worker": {"template": pod(container({"nvidia.com/gpu": 2}))}}}}
    assert gpus(config) == 2


def test_a_jobset_multiplies_replicas_by_its_jobs_parallelism() -> None:
    config = {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {
        "replicatedJobs": [{"name": "workers", "replicas": 2, "template": {"spec": {
            "parallelism": 2, "template": pod(container({"nvidia.com/gpu": 1}))}}}]}}
    assert gpus(config) == 4


def test_a_volcano_job_sums_its_tasks() -> None:
    config = {"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "spec": {
        "minAvailable": 3, "tasks": [
            {"name": "ps", "replicas": 1, "template": pod(container({"cpu": 1}))},
            {"name": "worker", "replicas": 2,
             "template": pod(container({"nvidia.com/gpu": 4}))}]}}
    assert gpus(config) == 8


@pytest.mark.parametrize("config", [
    {},
    {"spec": None},
    {"spec": "{{ manifest }}"},
    job(pod(container({"nvidia.com/gpu": "{{ gpus }}"}))),
    job(pod(container({"nvidia.com/gpu": "${gpus}"}))),
    job(pod(container({"nvidia.com/gpu": True}))),
    job(pod(container({"nvidia.com/gpu": -2}))),
    job(pod(container({"nvidia.com/gpu": 1.5}))),
    job(pod(container({"nvidia.com/gpu": [1]}))),
    job(pod({"resources": "lots"}, "not a container")),
    job({"spec": {"containers": "nope"}}),
])
def test_what_is_not_countable_counts_zero_and_never_raises(config: dict[str, Any]) -> None:
    assert gpus(config) == 0


def test_countable_parts_count_beside_leftovers() -> None:
    config = job(pod(container({"nvidia.com/gpu": 2})), parallelism="{{ n }}")
    assert gpus(config) == 2  # an unknown number of pods: at least the one counted
    config = job(pod(container({"nvidia.com/gpu": 2}),
                     container({"nvidia.com/gpu": "${x}"})))
    assert gpus(config) == 2
