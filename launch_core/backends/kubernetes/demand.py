"""The GPUs a kubernetes run takes: every pod its manifest makes, counted from the
pod templates' container resources.

- A container's GPUs: its ``resources.limits`` of a GPU resource name (else its
  ``requests``); GPU names are ``nvidia.com/gpu``, ``amd.com/gpu``,
  ``gpu.intel.com/i915``, ``gpu.intel.com/xe`` and any extended resource name ending
  in ``/gpu``.
- A pod's GPUs, per name, as the scheduler reserves them: the larger of the sum over
  its containers (plus its sidecars, init containers with ``restartPolicy: Always``)
  and the largest other init container (init containers run one at a time, before
  the containers).
- How many pods: each ``replicas`` and ``parallelism`` (default 1) on the way from
  ``spec`` to a pod template multiplies it, so a ``batch/v1`` Job counts
  ``parallelism`` pods, a PyTorchJob (TFJob, MPIJob...) each replica spec's
  ``replicas``, a Volcano Job each task's ``replicas``, a JobSet each replicated
  job's ``replicas`` × its Job's ``parallelism``.
"""

from __future__ import annotations

from typing import Any

from launch_core.backends.demand import as_count, multiplier

GPU_NAMES = frozenset({"nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915",
                       "gpu.intel.com/xe"})


def is_gpu(name: str) -> bool:
    """Whether the resource ``name`` counts GPUs."""
    return name in GPU_NAMES or ("/" in name and name.endswith("/gpu"))


def manifest_gpus(config: dict[str, Any]) -> int:
    """The GPUs of every pod the config's manifest (its ``spec``) makes."""
    return _count(config.get("spec"), 1)


def _count(node: Any, pods: int) -> int:
    if isinstance(node, list):
        return sum(_count(entry, pods) for entry in node)
    if not isinstance(node, dict):
        return 0
    pods *= multiplier(node.get("replicas")) * multiplier(node.get("parallelism"))
    template = node.get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict) \
            and isinstance(template["spec"].get("containers"), list):
        return pods * pod_gpus(template["spec"])
    return sum(_count(value, pods) for key, value in node.items() if key != "metadata")


def pod_gpus(pod: dict[str, Any]) -> int:
    """The GPUs one pod of this pod spec reserves (all GPU names together)."""
    running: dict[str, int] = {}
    for container in _containers(pod, "containers"):
        _add(running, container_gpus(container))
    init_peak: dict[str, int] = {}
    sidecars: dict[str, int] = {}
    for container in _containers(pod, "initContainers"):
        gpus = container_gpus(container)
        if container.get("restartPolicy") == "Always":  # a sidecar: runs beside the rest
            _add(sidecars, gpus)
            continue
        for name, count in gpus.items():  # with the sidecars started before it
            init_peak[name] = max(init_peak.get(name, 0), count + sidecars.get(name, 0))
    _add(running, sidecars)
    names = set(running) | set(init_peak)
    return sum(max(running.get(name, 0), init_peak.get(name, 0)) for name in names)


def container_gpus(container: dict[str, Any]) -> dict[str, int]:
    """A container's GPUs by resource name: its limits, else its requests."""
    resources = container.get("resources")
    if not isinstance(resources, dict):
        return {}
    found: dict[str, int] = {}
    for section in ("requests", "limits"):  # limits last: they win
        values = resources.get(section)
        if isinstance(values, dict):
            found.update({str(name): as_count(value) for name, value in values.items()
                          if is_gpu(str(name))})
    return found


def _containers(pod: dict[str, Any], key: str) -> list[dict[str, Any]]:
    containers = pod.get(key)
    if not isinstance(containers, list):
        return []
    return [container for container in containers if isinstance(container, dict)]


def _add(total: dict[str, int], more: dict[str, int]) -> None:
    for name, count in more.items():
        total[name] = total.get(name, 0) + count
