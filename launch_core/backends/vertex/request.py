"""The ``vertex`` queue config (W&B Launch's shape: ``spec`` for the CustomJob, ``run``
for how it runs) and the CustomJob body built from it for one job."""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from launch_core.backends.resource import JobContext, Options
from launch_core.errors import InvalidInput

LABEL_KEY = re.compile(r"[a-z][a-z0-9_-]{0,62}")
_LABEL_BAD = re.compile(r"[^a-z0-9_-]")
MAX_LABELS = 64
_PARSE_CHAIN = re.compile(r"(Failed to parse \w+ field: )+")
# What relaunch sets in every non-empty worker pool's container spec from the job.
_FROM_JOB = ("image_uri", "command", "args", "env")


def _drop_nulls(value: Any) -> Any:
    """A null key is an unset one (as W&B reads it): a required one is missing."""
    if isinstance(value, dict):
        return {key: item for key, item in value.items() if item is not None}
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")

    _null_is_unset = model_validator(mode="before")(_drop_nulls)


class VertexSpec(_Section):
    """``spec``: what ``aiplatform.CustomJob(...)`` takes. Worker pool specs are the
    API's own (checked against its schema); the job's container goes into each."""

    worker_pool_specs: list[dict[str, Any]] = Field(min_length=1)
    staging_bucket: str = Field(min_length=1)  # gs://bucket
    base_output_dir: str | None = None  # gs://...; else <staging_bucket>/<run name>
    labels: dict[str, str] = {}
    encryption_spec_key_name: str | None = None
    persistent_resource_id: str | None = None


class VertexRun(_Section):
    """``run``: what ``CustomJob.run(...)`` takes (durations in seconds)."""

    timeout: int | None = Field(None, gt=0)
    service_account: str | None = None
    network: str | None = None
    restart_job_on_worker_restart: bool = False
    enable_web_access: bool = False
    tensorboard: str | None = None
    disable_retries: bool = False
    scheduling_strategy: str | None = None  # STANDARD, SPOT, FLEX_START
    max_wait_duration: int | None = Field(None, ge=0)


class VertexOptions(Options):
    """A vertex queue's config: ``spec`` (required) and ``run``."""

    spec: VertexSpec
    run: VertexRun = Field(default_factory=lambda: VertexRun.model_validate({}))

    _null_is_unset = model_validator(mode="before")(_drop_nulls)


def check_pools(spec: VertexSpec) -> None:
    """Raise InvalidInput naming the key a worker pool misses. An empty pool (``{}``)
    skips that position, as in Vertex; the first one must not be empty."""
    for index, pool in enumerate(spec.worker_pool_specs):
        where = f"vertex: option 'spec.worker_pool_specs[{index}]"
        if not pool and index > 0:
            continue
        machine = pool.get("machine_spec")
        if not isinstance(machine, dict) or not machine.get("machine_type"):
            raise InvalidInput(f"{where}.machine_spec.machine_type': required")
        if "python_package_spec" in pool:
            raise InvalidInput(f"{where}.python_package_spec': not supported, relaunch runs "
                               "the job's image (container_spec)")


def label_value(text: str) -> str:
    """``text`` under GCP's label rules: lowercase letters, digits, ``_`` and ``-``,
    at most 63 characters."""
    return _LABEL_BAD.sub("-", text.lower())[:63]


def labels_for(spec: VertexSpec, job: JobContext) -> dict[str, str]:
    """The queue's labels (keys checked, values made valid) and relaunch's: run id,
    queue, entity (and W&B's ``wandb-run-id``). Raises InvalidInput naming a bad key."""
    labels = {}
    for key, value in spec.labels.items():
        if not LABEL_KEY.fullmatch(key):
            raise InvalidInput(f"vertex: option 'spec.labels.{key}': a label key is 1-63 "
                               "lowercase letters, digits, _ or -, starting with a letter")
        labels[key] = label_value(str(value))
    labels.update({"relaunch-run": label_value(job.run_id),
                   "relaunch-queue": label_value(job.queue),
                   "relaunch-entity": label_value(job.entity),
                   "wandb-run-id": label_value(job.run_id)})
    if len(labels) > MAX_LABELS:
        raise InvalidInput(f"vertex: option 'spec.labels': at most {MAX_LABELS - 4} labels")
    return labels


def custom_job_body(options: VertexOptions, job: JobContext) -> dict[str, Any]:
    """The CustomJob ``submit`` creates for ``job``, in the API's JSON form (field
    names as in W&B's config, enum names, durations as ``"<n>s"``)."""
    spec, run = options.spec, options.run
    job_spec: dict[str, Any] = {
        "worker_pool_specs": [_pool(pool, job) for pool in spec.worker_pool_specs],
        "base_output_directory": {"output_uri_prefix": spec.base_output_dir
                                  or f"{spec.staging_bucket.rstrip('/')}/{job.ref.name}"},
    }
    optional = {"service_account": run.service_account, "network": run.network,
                "tensorboard": run.tensorboard,
                "persistent_resource_id": spec.persistent_resource_id,
                "enable_web_access": run.enable_web_access or None}
    job_spec.update({key: value for key, value in optional.items() if value is not None})
    if scheduling := _scheduling(run):
        job_spec["scheduling"] = scheduling
    body: dict[str, Any] = {"display_name": job.ref.name, "job_spec": job_spec,
                            "labels": labels_for(spec, job)}
    if spec.encryption_spec_key_name:
        body["encryption_spec"] = {"kms_key_name": spec.encryption_spec_key_name}
    return body


def _pool(pool: dict[str, Any], job: JobContext) -> dict[str, Any]:
    if not pool:
        return {}
    container = dict(pool.get("container_spec") or {})
    env = {e.get("name"): e for e in container.get("env") or [] if isinstance(e, dict)}
    env.update({name: {"name": name, "value": value} for name, value in job.env.items()})
    container.update(image_uri=job.image, env=list(env.values()))
    if job.entry_point:
        container["command"] = list(job.entry_point)
    if job.args:
        container["args"] = list(job.args)
    return {**pool, "replica_count": pool.get("replica_count", 1), "container_spec": container}


def _scheduling(run: VertexRun) -> dict[str, Any]:
    scheduling: dict[str, Any] = {}
    if run.timeout:
        scheduling["timeout"] = f"{run.timeout}s"
    if run.max_wait_duration is not None:
        scheduling["max_wait_duration"] = f"{run.max_wait_duration}s"
    if run.restart_job_on_worker_restart:
        scheduling["restart_job_on_worker_restart"] = True
    if run.disable_retries:
        scheduling["disable_retries"] = True
    if run.scheduling_strategy:
        scheduling["strategy"] = run.scheduling_strategy
    return scheduling


def to_proto(body: dict[str, Any]) -> Any:
    """``body`` as the client's CustomJob message. Raises InvalidInput naming the field
    the API's schema does not know (or a bad enum name)."""
    from google.cloud import aiplatform_v1
    from google.protobuf import json_format

    try:
        return aiplatform_v1.CustomJob.from_json(json.dumps(body))
    except json_format.ParseError as exc:
        message = _PARSE_CHAIN.sub("", str(exc).splitlines()[0]).rstrip(".")
        raise InvalidInput(f"vertex: the CustomJob does not fit the API: {message}") from None
