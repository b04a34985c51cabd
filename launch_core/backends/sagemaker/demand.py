"""The GPUs a SageMaker training job takes: its instances' GPUs.

GPUs per instance are those of the EC2 instance type of the same name (AWS's
accelerated computing instance specifications,
https://aws.amazon.com/ec2/instance-types/ : P2, P3, P4, P5, G4dn, G5, G6, G6e).
Trainium (``ml.trn1.*``), Inferentia (``ml.inf*``) and every other type count 0.
"""

from __future__ import annotations

from typing import Any

from launch_core.backends.demand import multiplier

_SIZES_LIKE_G5 = {"xlarge": 1, "2xlarge": 1, "4xlarge": 1, "8xlarge": 1, "16xlarge": 1,
                  "12xlarge": 4, "24xlarge": 4, "48xlarge": 8}

GPUS_PER_INSTANCE: dict[str, int] = {
    "ml.p2.xlarge": 1, "ml.p2.8xlarge": 8, "ml.p2.16xlarge": 16,
    "ml.p3.2xlarge": 1, "ml.p3.8xlarge": 4, "ml.p3.16xlarge": 8, "ml.p3dn.24xlarge": 8,
    "ml.p4d.24xlarge": 8, "ml.p4de.24xlarge": 8,
    "ml.p5.48xlarge": 8, "ml.p5e.48xlarge": 8, "ml.p5en.48xlarge": 8,
    **{f"ml.g4dn.{size}": 1 for size in ("xlarge", "2xlarge", "4xlarge", "8xlarge",
                                           "16xlarge")},
    "ml.g4dn.12xlarge": 4,
    **{f"ml.{family}.{size}": gpus for family in ("g5", "g6", "g6e")
       for size, gpus in _SIZES_LIKE_G5.items()},
}


def training_job_gpus(config: dict[str, Any]) -> int:
    """GPUs per instance × instance count of ``ResourceConfig`` (its ``InstanceType``
    and ``InstanceCount``, default 1), or summed over its ``InstanceGroups`` (a
    heterogeneous cluster). ``config`` has its keys as the API spells them."""
    resources = config.get("ResourceConfig")
    if not isinstance(resources, dict):
        return 0
    groups = resources.get("InstanceGroups")
    if isinstance(groups, list) and groups:
        return sum(_instances_gpus(group) for group in groups if isinstance(group, dict))
    return _instances_gpus(resources)


def _instances_gpus(instances: dict[str, Any]) -> int:
    kind = instances.get("InstanceType")
    per_instance = GPUS_PER_INSTANCE.get(kind.strip(), 0) if isinstance(kind, str) else 0
    return per_instance * multiplier(instances.get("InstanceCount"))
