"""The vertex queue config through the CLI (queue create, enqueue, --dry-run; no agent,
no Vertex API reached) and the resource against the Vertex FAKE
(tests/support/vertex_fake.py, a test double of Vertex AI's JobService REST API)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from launch_core.backends.resource import PREVIEW_IMAGE, JobContext
from launch_core.backends.vertex.resource import VertexResource, VertexSettings
from launch_core.errors import ConfigError

POOL = {"machine_spec": {"machine_type": "n1-standard-4"}, "replica_count": 1}
CONFIG = {"spec": {"staging_bucket": "gs://bucket", "worker_pool_specs": [POOL]}}
IMAGE = "us-docker.pkg.dev/proj/repo/train:2"


def _without(path: str) -> dict:
    config = json.loads(json.dumps(CONFIG))
    *parents, last = path.split(".")
    node = config
    for key in parents:
        node = node[key] if not key.isdigit() else node[int(key)]
    del node[last]
    return config


@pytest.mark.parametrize(("missing", "named"), [
    ("spec", "'spec'"),
    ("spec.staging_bucket", "'spec.staging_bucket'"),
    ("spec.worker_pool_specs", "'spec.worker_pool_specs'"),
    ("spec.worker_pool_specs.0.machine_spec",
     "'spec.worker_pool_specs[0].machine_spec.machine_type'"),
])
def test_queue_create_refuses_a_missing_required_key_naming_it(
        relaunch, cli_store, missing, named):
    result = relaunch("queue", "create", "vq", "-r", "vertex",
                      "--config", json.dumps(_without(missing)))
    assert result.code == 2, result.out + result.err
    assert named in result.err and "\n" not in result.err.strip()
    assert cli_store.list_queues() == []


MISSING_AT_ENQUEUE = [
    ({"spec": None}, "'spec': Field required"),
    ({"spec": {"staging_bucket": None}}, "'spec.staging_bucket': Field required"),
    ({"spec": {"worker_pool_specs": None}}, "'spec.worker_pool_specs': Field required"),
    ({"spec": {"worker_pool_specs": []}}, "'spec.worker_pool_specs'"),
    ({"spec": {"worker_pool_specs": [{"replica_count": 2}]}},
     "'spec.worker_pool_specs[0].machine_spec.machine_type': required"),
]


def test_enqueue_refuses_each_missing_required_key_naming_it_and_writes_nothing(
        relaunch, cli_store):
    assert relaunch("queue", "create", "vq", "-r", "gcp-vertex",
                    "--config", json.dumps(CONFIG)).code == 0
    for index, (override, named) in enumerate(MISSING_AT_ENQUEUE):
        dry = ("--dry-run",) if index == 1 else ()
        result = relaunch("launch", "-q", "vq", "-d", IMAGE, *dry,
                          "-R", json.dumps({"gcp-vertex": override}))
        assert result.code == 2, result.out + result.err
        assert named in result.err, result.err
    assert cli_store.list_items() == []


def test_unknown_field_in_a_worker_pool_is_named_at_queue_create(relaunch, cli_store):
    config = {"spec": {**CONFIG["spec"], "worker_pool_specs": [
        {"machine_spec": {"machine_type": "n1-standard-4", "accelerator_cnt": 2}}]}}
    result = relaunch("queue", "create", "vq", "-r", "vertex", "--config", json.dumps(config))
    assert result.code == 2
    assert '"accelerator_cnt"' in result.err and "worker_pool_specs[0].machine_spec" in result.err


def test_a_label_key_outside_gcps_rules_is_named_at_queue_create(relaunch, cli_store):
    config = {"spec": {**CONFIG["spec"], "labels": {"Cost Center": "ml"}}}
    result = relaunch("queue", "create", "vq", "-r", "vertex", "--config", json.dumps(config))
    assert result.code == 2
    assert "'spec.labels.Cost Center'" in result.err
    assert cli_store.list_queues() == []


def test_dry_run_prints_the_customjob_body_with_the_templated_accelerator_count(
        relaunch, cli_store, tmp_path):
    pool = {"machine_spec": {"machine_type": "a2-highgpu-1g",
                             "accelerator_type": "NVIDIA_TESLA_A100",
                             "accelerator_count": "{{gpus}}"},
            "container_spec": {"env": [{"name": "FROM_QUEUE", "value": "1"}]}}
    config = {"spec": {"staging_bucket": "gs://bucket", "worker_pool_specs": [pool, {}],
                       "labels": {"team": "Vision Group"}},
              "run": {"service_account": "sa@proj.iam.gserviceaccount.com",
                      "restart_job_on_worker_restart": True}}
    variables = {"gpus": {"type": "integer", "minimum": 1, "maximum": 8}}
    assert relaunch("queue", "create", "Team.Q", "-r", "vertex", "--config",
                    json.dumps(config), "--template-variables", json.dumps(variables)).code == 0
    result = relaunch("launch", "-q", "Team.Q", "-d", IMAGE, "-E", "python t.py", "-a", "x",
                      "--set-var", "gpus=2", "--dry-run")
    assert result.code == 0, result.err
    body = result.json()["request"]
    run_id = body["labels"]["relaunch-run"]
    assert body["display_name"] == f"relaunch-{run_id}"
    assert body["labels"] == {"team": "vision-group", "relaunch-run": run_id,
                              "relaunch-queue": "team-q", "relaunch-entity": "team",
                              "wandb-run-id": run_id}
    first, second = body["job_spec"]["worker_pool_specs"]
    assert second == {}
    assert first["machine_spec"]["accelerator_count"] == 2
    container = first["container_spec"]
    assert (container["image_uri"], container["command"], container["args"]) == (
        IMAGE, ["python", "t.py"], ["x"])
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["FROM_QUEUE"] == "1" and env["RELAUNCH_RUN_ID"] == run_id
    assert body["job_spec"]["service_account"] == "sa@proj.iam.gserviceaccount.com"
    assert body["job_spec"]["scheduling"] == {"restart_job_on_worker_restart": True}
    assert cli_store.list_items() == []
    # a source the agent builds shows the stand-in image
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "t.py").write_text("print(1)\n")
    built = relaunch("launch", "-q", "Team.Q", "--code", str(tmp_path / "code"), "-E",
                     "python t.py", "--set-var", "gpus=1", "--dry-run")
    assert built.code == 0, built.err
    pools = built.json()["request"]["job_spec"]["worker_pool_specs"]
    assert pools[0]["container_spec"]["image_uri"] == PREVIEW_IMAGE


# --- the resource against the fake, in process ---------------------------------------

def _job(run_id: str = "r1") -> JobContext:
    return JobContext(run_id=run_id, item_id=7, entry_point=["python", "t.py"], args=[],
                      env={"RELAUNCH_RUN_ID": run_id}, config=CONFIG, run_dir=Path("."),
                      workdir=None, image=IMAGE, queue="q", entity="team")


@pytest.fixture
def resource(vertex_fake) -> VertexResource:
    return VertexResource(VertexSettings("proj", "us-central1", vertex_fake.url, None))


@pytest.mark.parametrize(("state", "expected"), [
    ("QUEUED", ("running", "queued")), ("PENDING", ("running", "pending")),
    ("RUNNING", ("running", "running")), ("PAUSED", ("running", "paused")),
    ("SUCCEEDED", ("finished", "")), ("CANCELLING", ("failed", "cancelled")),
    ("CANCELLED", ("failed", "cancelled")),
    ("EXPIRED", ("failed", "expired: not started within run.max_wait_duration")),
])
def test_job_states_map_to_run_states(resource, vertex_fake, state, expected):
    handle = resource.submit(_job())
    vertex_fake.set_state(handle["name"].rsplit("/", 1)[1], state)
    status = resource.status(handle)
    assert (status.state, status.message) == expected


def test_submitting_a_run_twice_creates_one_customjob_and_logs_link_once(
        resource, vertex_fake):
    first, second = resource.submit(_job()), resource.submit(_job())
    assert first == second and len(vertex_fake.jobs) == 1
    assert resource.find(_job("other").ref) is None
    text, offset = resource.read_logs(first, 0)
    assert "Cloud Logging" in text and text.count("\n") == 1
    assert resource.read_logs(first, offset) == ("", offset)


def test_a_customjob_gone_from_vertex_fails_the_run(resource, vertex_fake):
    handle = resource.submit(_job())
    vertex_fake.jobs.clear()
    status = resource.status(handle)
    assert status.state == "failed" and "disappeared" in status.message


def test_plain_http_endpoint_is_refused_off_loopback():
    resource = VertexResource(VertexSettings("proj", "us-central1", "http://10.1.2.3:80", None))
    with pytest.raises(ConfigError, match="loopback"):
        resource.find(_job().ref)


def test_an_unreachable_api_keeps_the_run_running():
    from tests.support.prefect_server import free_port

    resource = VertexResource(VertexSettings("proj", "us-central1",
                                             f"http://127.0.0.1:{free_port()}", None))
    status = resource.status({"name": "projects/proj/locations/us-central1/customJobs/1"})
    assert (status.state, status.message) == ("running", "vertex API: ConnectionError")


def test_wandb_queue_config_in_its_stored_form_loads_and_its_image_macro_is_the_jobs(
        relaunch, cli_store):
    """W&B's documented Vertex queue config, as W&B stores it (resource_args keyed by
    its name gcp-vertex), with the ${image_uri} macro in the container spec."""
    wandb_config = {"resource_args": {"gcp-vertex": {
        "spec": {"worker_pool_specs": [{
            "machine_spec": {"machine_type": "n1-standard-4",
                             "accelerator_type": "ACCELERATOR_TYPE_UNSPECIFIED",
                             "accelerator_count": 0},
            "replica_count": 1, "container_spec": {"image_uri": "${image_uri}"}}],
            "staging_bucket": "gs://wandb-staging"},
        "run": {"restart_job_on_worker_restart": False}}}}
    created = relaunch("queue", "create", "wq", "-r", "gcp-vertex",
                       "--config", json.dumps(wandb_config))
    assert created.code == 0, created.err
    result = relaunch("launch", "-q", "wq", "-d", IMAGE, "--dry-run")
    assert result.code == 0, result.err
    [pool] = result.json()["request"]["job_spec"]["worker_pool_specs"]
    assert pool["container_spec"]["image_uri"] == IMAGE
    assert pool["machine_spec"]["accelerator_type"] == "ACCELERATOR_TYPE_UNSPECIFIED"
    assert "command" not in pool["container_spec"]  # no -E: the image's own entrypoint
