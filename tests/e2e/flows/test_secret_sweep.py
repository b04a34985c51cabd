"""No secret anywhere: one agent runs jobs that carry known secret values, then every
output relaunch produced is searched for them; zero hits.

Secrets: the htpasswd registry's password (a DockerRegistryCredentials block the
builder pushes with), an AWS access key id and secret key (an AwsCredentials block the
sagemaker resource uses), a service account's private key and key id (a GcpCredentials
block the vertex resource signs its calls with), the queue store URL's password (a
PostgreSQL login role created with it; the agent reads the URL from its config file,
the CLI from RELAUNCH_DATABASE_URL), and two agent-environment values filled by
``${ENV}`` macros into admin queue configs under innocent keys (``DATASET_URL``; the
other, in ``pids_limit``, is refused at queue create without being echoed). A job whose
container user (the admin's literal: no macro may fill ``user``) does not exist makes
Docker's container start fail.

Outputs: every CLI command's stdout and stderr (plain and ``--json``: launch and its
dry run, job status/list/logs, queue show/list), the agent's stdout, stderr and log
file, every row of every store table (items with their run configs and handles,
events, agents, queues), Prefect's flow runs (parameters, state messages), task runs,
artifacts, log lines and events, and the files relaunch wrote under its data dir. The
jobs' own output (``output.log``, ``job logs``'s stdout) is the job's, not relaunch's:
a job that prints a value it was given shows it there; that is the control that the
value reached the job, while Prefect's copy of the same line is masked.

Real services: PostgreSQL, the Docker daemon, the htpasswd registry, the session's
Prefect server. Test doubles: moto's SageMaker and CloudWatch Logs served over HTTP in
this process (tests/support/moto_double.py) and the Vertex fake (tests/vertex/
vertex_fake.py, Vertex AI's JobService REST API, its jobs moved to SUCCEEDED once
created)."""

from __future__ import annotations

import datetime
import json
import uuid

from sqlalchemy.engine import make_url

from launch_core.backends.sagemaker.request import training_job_name
from tests.e2e.backends.sagemaker.test_sagemaker_launch import QUEUE_CONFIG
from tests.e2e.backends.vertex.test_vertex_credentials import _service_account
from tests.e2e.backends.vertex.test_vertex_launch import GPUS, SPEC
from tests.support.docker import registry_tags, write_code
from tests.support.prefect_server import free_port
from tests.support.secret_sweep import (
    Sweep,
    files_under,
    hits,
    password_store,
    prefect_records,
    save_block,
    store_rows,
    vertex_jobs_succeed,
)

JOB = """\
import json, os, sys
url = os.environ.get("DATASET_URL")
print(f"DATASET_URL={url}", flush=True)
print(f"on stderr DATASET_URL={url}", file=sys.stderr, flush=True)
sys.exit(json.loads(os.environ["RELAUNCH_RUN_CONFIG"]).get("exit", 0))
"""
DATASET_URL = "https://reader:${DATASET_KEY}@data.example/set"
KINDS = ("ct", "bad", "sm", "vq")  # the queues' name prefixes
# Outputs that must not be empty, or the sweep would pass by seeing nothing.
EXPECTED = ("agent log file", "prefect flow runs", "prefect task runs", "prefect artifacts",
            "prefect logs", "prefect events", "store table items", "store table events")


def test_no_known_secret_in_any_output(relaunch, prefect_api, cli_env, postgres_admin_url,
                                       docker_env, names, sagemaker_moto, vertex_fake,  # noqa: F811
                                       tmp_path):
    token = uuid.uuid4().hex[:12]
    service_account = {**_service_account()[0], "private_key_id": f"kid-{token}"}
    secrets = {"registry password": docker_env.password,
               "AWS access key id": f"AKIASWEEP{token.upper()}",
               "AWS secret key": f"aws-secret-{token}",
               "store password": f"pg-pw-{token}",
               "env secret in DATASET_URL": f"dk-{token}-hidden",
               "env secret in user": f"sweepuser{token}",
               "GCP private key": service_account["private_key"].splitlines()[5],
               "GCP private key id": service_account["private_key_id"]}
    since = datetime.datetime.now(datetime.UTC).isoformat()
    with password_store(postgres_admin_url, secrets["store password"]) as store_url:
        sweep = Sweep(relaunch, _environment(store_url, secrets, names.token, docker_env,
                                             sagemaker_moto, vertex_fake))
        _save_blocks(cli_env, names.token, secrets, docker_env, service_account)
        jobs = _enqueue(sweep, names, tmp_path, sagemaker_moto)
        with vertex_jobs_succeed(vertex_fake):
            _run_agent(sweep, names, docker_env, tmp_path, store_url)
        states = _read_back(sweep, names.token, jobs)
        _errors(sweep, store_url)
        sweep.outputs.update(store_rows(store_url))
    sweep.outputs.update(prefect_records(prefect_api, since))
    sweep.outputs.update(files_under(tmp_path / "data", skip=("output.log",)))

    # Controls: the jobs ended as planned and the values went where they belong.
    assert (states["ok"]["state"], states["ok"]["exit_code"]) == ("finished", 0), states["ok"]
    assert (states["failing"]["state"], states["failing"]["exit_code"]) == ("failed", 3)
    assert (states["bad user"]["state"], states["bad user"]["stage"]) == ("failed", "run")
    assert "unable to find user nobody-" in states["bad user"]["reason"]  # Docker's
    for name in ("sagemaker", "vertex"):
        assert states[name]["state"] == "finished", (states[name]["stage"],
                                                     states[name]["reason"])
    [created] = vertex_fake.creates()  # signed with the block's key, named in its project
    assert states["vertex"]["handle"]["name"] == created["name"]
    assert created["name"].startswith("projects/block-proj/")
    tag = states["ok"]["handle"]["image"].rpartition(":")[2]
    assert tag in registry_tags(docker_env.auth_registry, names.repository,
                                (docker_env.user, docker_env.password))
    [body] = sagemaker_moto.creates_of(jobs["sagemaker"]["training_job"])  # the block's keys
    dataset = f"https://reader:{secrets['env secret in DATASET_URL']}@data.example/set"
    assert body["Environment"]["DATASET_URL"] == dataset
    assert f"DATASET_URL={dataset}" in sweep.own["job logs (ok) stdout"]
    assert "DATASET_URL=https://reader:***@data.example/set" in sweep.outputs["prefect logs"]
    assert " DEBUG " in sweep.outputs["agent log file"]  # -vv: debug logs swept too
    for name in EXPECTED:
        assert len(sweep.outputs.get(name, "")) > 20, f"{name} is empty"

    found = hits(sweep.outputs, secrets)
    assert not found, f"{len(found)} hits in {len(sweep.outputs)} outputs:\n" + "\n".join(found)


def _environment(store_url, secrets, token: str, docker_env, double, fake
                 ) -> dict[str, str]:
    """The CLI's and the agent's environment: the env secrets, the store URL, the AWS
    double's endpoint but no AWS keys (only the AwsCredentials block has them), the
    Vertex fake's endpoint and the GcpCredentials block's name."""
    no_aws = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
              "AWS_DEFAULT_REGION")
    return {**dict.fromkeys(no_aws, ""), "RELAUNCH_DATABASE_URL": store_url,
            "DATASET_KEY": secrets["env secret in DATASET_URL"],
            "SWEEP_USER": secrets["env secret in user"],
            "AWS_ENDPOINT_URL": double.url, "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "RELAUNCH_AWS_CREDENTIALS_BLOCK": f"aws-{token}",
            "RELAUNCH_SAGEMAKER_EXTRA_ECR_HOSTS": docker_env.auth_registry,
            "RELAUNCH_SAGEMAKER_POLL_SECONDS": "0.2",
            "RELAUNCH_VERTEX_ENDPOINT": fake.url, "RELAUNCH_VERTEX_LOCATION": "europe-west4",
            "RELAUNCH_VERTEX_CREDENTIALS_BLOCK": f"gcp-{token}",
            "RELAUNCH_VERTEX_POLL_SECONDS": "0.3"}


def _save_blocks(cli_env, token: str, secrets, docker_env, service_account) -> None:
    save_block(cli_env, "prefect_docker.credentials:DockerRegistryCredentials",
               f"reg-{token}", username=docker_env.user, password=docker_env.password,
               registry_url=docker_env.auth_registry)
    save_block(cli_env, "prefect_aws:AwsCredentials", f"aws-{token}",
               aws_access_key_id=secrets["AWS access key id"],
               aws_secret_access_key=secrets["AWS secret key"], region_name="us-east-1")
    save_block(cli_env, "prefect_gcp:GcpCredentials", f"gcp-{token}",
               service_account_info=service_account)


def _enqueue(sweep: Sweep, names, tmp_path, double) -> dict[str, dict]:
    """Four queues (two local-container with ${ENV} macros, a sagemaker one with one,
    a vertex one), five jobs: succeeds, exits 3, refused by Docker's start, a SageMaker
    training, a Vertex CustomJob."""
    label, ct = {"labels": {"relaunch.test": names.token}}, f"ct-{names.token}"
    bad, sm = f"bad-{names.token}", f"sm-{names.token}"
    sweep.cli("queue create ct", "queue", "create", ct, "-r", "local-container", "--config",
              json.dumps({**label, "env": {"DATASET_URL": DATASET_URL}}))
    # The container's user may only be the admin's literal (launch_core/spec/guardrails.py:
    # no ${ENV} macro there), so Docker's refusal names a user that is no secret.
    sweep.cli("queue create bad", "queue", "create", bad, "-r", "local-container",
              "--config", json.dumps({**label, "user": f"nobody-{names.token}"}))
    resources = {**QUEUE_CONFIG["ResourceConfig"], "InstanceType": "ml.m5.xlarge"}
    sweep.cli("queue create sm", "queue", "create", sm, "-r", "sagemaker", "--config",
              json.dumps({**QUEUE_CONFIG, "ResourceConfig": resources,
                          "Environment": {"DATASET_URL": DATASET_URL}}))
    code = ("--code", str(write_code(tmp_path / "job", main=JOB)), "-E", "python3 main.py")
    jobs = {}
    for name, queue, extra in (("ok", ct, ()), ("failing", ct, ("--run-config", '{"exit": 3}')),
                               ("bad user", bad, ())):
        sweep.cli(f"launch --dry-run ({name})", "launch", "-q", queue, *code, *extra,
                  "--dry-run", "--json")
        jobs[name] = sweep.json(f"launch ({name})", "launch", "-q", queue, *code, *extra)
    image = f"{sweep.env['RELAUNCH_SAGEMAKER_EXTRA_ECR_HOSTS']}/{names.repository}:given"
    sweep.cli("launch --dry-run (sagemaker)", "launch", "-q", sm, "-d", image, "--dry-run",
              "--json")
    jobs["sagemaker"] = sweep.json("launch (sagemaker)", "launch", "-q", sm, "-d", image)
    training = training_job_name(f"relaunch-{jobs['sagemaker']['run_id']}")
    jobs["sagemaker"]["training_job"] = training
    double.plan(training, "InProgress", "Completed")
    double.write_logs(f"{training}/algo-1-1700000000", "epoch 1 done")
    vq = f"vq-{names.token}"
    sweep.cli("queue create vq", "queue", "create", vq, "-r", "vertex", "--config",
              json.dumps({"spec": SPEC, "run": {"timeout": 3600}}),
              "--template-variables", json.dumps(GPUS))
    vertex = ("-q", vq, "-d", "europe-west4-docker.pkg.dev/proj/repo/train:1", "-E", "python t.py")
    sweep.cli("launch --dry-run (vertex)", "launch", *vertex, "--dry-run", "--json")
    jobs["vertex"] = sweep.json("launch (vertex)", "launch", *vertex)
    return jobs


def _run_agent(sweep: Sweep, names, docker_env, tmp_path, store_url: str) -> None:
    """One agent over the queues, debug logs on (-vv); the store URL comes from its
    config file."""
    config = tmp_path / "launch-config.yaml"
    config.write_text(json.dumps({
        "queues": [f"{kind}-{names.token}" for kind in KINDS],
        "max_jobs": 5, "database": store_url,
        "builder": {"type": "docker", "destination": names.destination(docker_env.auth_registry),
                    "base-image": docker_env.base_image,
                    "credentials-block": f"reg-{names.token}"}}))
    log = tmp_path / "agent.log"
    env = {k: v for k, v in sweep.env.items() if k != "RELAUNCH_DATABASE_URL"}
    sweep.cli("agent", "launch-agent", "-c", str(config), "--until-idle", "-vv", "-l", str(log),
              env=env, timeout=400)
    sweep.outputs["agent log file"] = log.read_text()


def _read_back(sweep: Sweep, token: str, jobs: dict[str, dict]) -> dict[str, dict]:
    """Every read command over the jobs and queues; each job's status as --json shows."""
    states = {}
    for name, job in jobs.items():
        ident = str(job["id"])
        sweep.cli(f"job status ({name})", "job", "status", ident)
        states[name] = sweep.json(f"job status ({name})", "job", "status", ident)
        if name == "bad user":  # its container never started: `job logs` says so, exit 1
            assert "never ran" in sweep.fail(f"job logs ({name})", "job", "logs", ident)
        else:
            sweep.cli(f"job logs ({name})", "job", "logs", ident, own=True)
    for command in (("job", "list"), ("queue", "list"),
                    *(("queue", "show", f"{kind}-{token}")
                      for kind in KINDS)):
        sweep.cli(" ".join(command), *command)
        sweep.cli(" ".join(command) + " --json", *command, "--json")
    return states


def _errors(sweep: Sweep, store_url: str) -> None:
    """Refusals and failures whose inputs hold secrets: a store URL with its password
    at a closed port (also with --verbose tracebacks), a macro-filled bad option."""
    unreachable = make_url(store_url).set(port=free_port()).render_as_string(
        hide_password=False)
    env = {**sweep.env, "RELAUNCH_DATABASE_URL": unreachable}
    assert "connection" in sweep.fail("store unreachable", "job", "list", env=env)
    sweep.fail("store unreachable --verbose", "--verbose", "job", "list", env=env)
    refused = sweep.fail("queue create refused", "queue", "create", "refused", "-r",
                         "local-container", "--config", '{"pids_limit": "${SWEEP_USER}"}')
    assert "pids_limit" in refused
