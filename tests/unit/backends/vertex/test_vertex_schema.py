"""The CustomJob field table (launch_core/backends/vertex/schema.py) against the client
it stands in for: the shipped table is what the installed google-cloud-aiplatform's
descriptors give, and on bodies with random changes (unknown keys, wrong types, bad
enum names, nulls, camelCase names) the table refuses exactly what the client's
parser (``to_proto``, run by the agent's submit) refuses, naming the same field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launch_core.backends.resource import JobContext
from launch_core.backends.vertex.request import VertexOptions, custom_job_body, to_proto
from launch_core.backends.vertex.schema import TABLE, check_custom_job, extract
from launch_core.errors import InvalidInput
from tests.support.json_changes import change

POOL = {"machine_spec": {"machine_type": "a2-highgpu-1g", "accelerator_type": "NVIDIA_TESLA_A100",
                         "accelerator_count": 1},
        "replica_count": 1, "disk_spec": {"boot_disk_type": "pd-ssd", "boot_disk_size_gb": 100},
        "nfs_mounts": [{"server": "10.0.0.2", "path": "/share", "mount_point": "nfs"}],
        "container_spec": {"env": [{"name": "A", "value": "1"}], "args": ["--x"]}}
CONFIG = {"spec": {"staging_bucket": "gs://b", "worker_pool_specs": [POOL, {}],
                   "labels": {"team": "ml"}, "encryption_spec_key_name": "k"},
          "run": {"timeout": 60, "scheduling_strategy": "SPOT", "service_account": "sa"}}
JOB = JobContext(run_id="r1", item_id=1, entry_point=["python"], args=["t.py"],
                 env={"WANDB_RUN_ID": "r1"}, config=CONFIG, run_dir=Path("."), workdir=None,
                 image="img")
KEYS = ["machine_type", "machineType", "accelerator_type", "accelerator_count", "replica_count",
        "image_uri", "env", "name", "value", "args", "command", "boot_disk_size_gb",
        "reservation_affinity", "key", "values", "accelerator_cnt", "typo", "containerSpec",
        "python_package_spec", "executor_image_uri", "strategy", "timeout", "labels"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**65, 2**65),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["", "x", "5", "2.5", "1e3", " 7", "NVIDIA_TESLA_T4",
                                     "SPOT", "TYPO_GPU", "NaN", "nan", "60s", "true"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6)


def _body() -> dict[str, Any]:
    return copy.deepcopy(custom_job_body(VertexOptions.model_validate(CONFIG), JOB))


def _verdict(check: Any, body: dict[str, Any]) -> str | None:
    try:
        check(body)
    except InvalidInput as exc:
        return str(exc)
    return None


def test_the_shipped_table_is_the_installed_clients() -> None:
    assert json.loads(TABLE.read_text()) == json.loads(json.dumps(extract()))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_table_refuses_what_the_client_refuses(data: st.DataObject) -> None:
    body = _body()
    change(data, body, VALUES, KEYS)
    table, client = _verdict(check_custom_job, copy.deepcopy(body)), _verdict(to_proto, body)
    assert (table is None) == (client is None), (table, client, body)
    if client is not None and "has no field named" in client:
        assert table == client


@pytest.mark.parametrize(("change", "named"), [
    (lambda pool: pool["machine_spec"].update(accelerator_cnt=2),
     'no field named "accelerator_cnt" at "CustomJob.job_spec.worker_pool_specs[0].machine_spec"'),
    (lambda pool: pool["machine_spec"].update(accelerator_type="NVIDIA_TESLA_A1000"),
     "Invalid enum value NVIDIA_TESLA_A1000"),
    (lambda pool: pool["container_spec"].update(env={"A": "1"}),
     "CustomJob.job_spec.worker_pool_specs[0].container_spec.env"),
    (lambda pool: pool.update(replica_count="two"), "Couldn't parse integer: two"),
])
def test_a_typo_is_named_like_the_client_names_it(change: Any, named: str) -> None:
    body = _body()
    change(body["job_spec"]["worker_pool_specs"][0])
    table = _verdict(check_custom_job, body)
    assert table is not None and named in table, table
    assert _verdict(to_proto, body) is not None
