"""The GPUs a Vertex AI CustomJob takes: over its worker pools (W&B's queue config,
``spec.worker_pool_specs``), ``machine_spec.accelerator_count`` × ``replica_count``
(default 1). TPUs (an ``accelerator_type`` starting ``TPU``) are no GPUs."""

from __future__ import annotations

from typing import Any

from launch_core.backends.demand import as_count, multiplier


def custom_job_gpus(config: dict[str, Any]) -> int:
    """The GPUs of every worker pool of ``config['spec']`` (snake_case keys, as W&B
    writes them; the API's camelCase is read too)."""
    spec = config.get("spec")
    pools = spec.get("worker_pool_specs") if isinstance(spec, dict) else None
    if not isinstance(pools, list):
        return 0
    return sum(_pool_gpus(pool) for pool in pools if isinstance(pool, dict))


def _pool_gpus(pool: dict[str, Any]) -> int:
    machine = _either(pool, "machine_spec", "machineSpec")
    if not isinstance(machine, dict):
        return 0
    kind = _either(machine, "accelerator_type", "acceleratorType")
    if isinstance(kind, str) and kind.strip().upper().startswith("TPU"):
        return 0
    count = as_count(_either(machine, "accelerator_count", "acceleratorCount"))
    return count * multiplier(_either(pool, "replica_count", "replicaCount"))


def _either(mapping: dict[str, Any], snake: str, camel: str) -> Any:
    return mapping[snake] if snake in mapping else mapping.get(camel)
