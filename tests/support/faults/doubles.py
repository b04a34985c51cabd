"""The fault matrix's cloud resources (targets, tests/support/faults/targets.py) on the tests'
doubles, named as test doubles:

- ``kubernetes``: the Kubernetes double (tests/support/kube_double.py: kmock's
  emulator over HTTP plus a job controller running each pod's container on the local
  Docker daemon). Runs: the containers the controller started for the run's Job, or
  the Job objects of its name ever created, whichever is larger.
- ``sagemaker``: moto (tests/support/moto_double.py, AWS's emulator in this process,
  over HTTP); its jobs stay InProgress until moved. Runs: the CreateTrainingJob
  requests for the run's name that reached moto.
- ``vertex``: the Vertex fake (tests/support/vertex_fake.py, a fake of Vertex AI's
  JobService REST API); its jobs stay where they are put. Runs: the CustomJobs of the
  run's name created at the fake.

``serving(resource, ...)`` starts a resource's double and yields its target (the
bench); the tests build targets from their fixtures' doubles.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.faults.targets import JOB, JOB_SECONDS, Target

CLOUD = ("kubernetes", "sagemaker", "vertex")
SAGEMAKER_CONFIG = {
    "RoleArn": "SageMakerRole", "OutputDataConfig": {"S3OutputPath": "s3://bucket/out"},
    "ResourceConfig": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1, "VolumeSizeInGB": 10},
    "StoppingCondition": {"MaxRuntimeInSeconds": 3600}}
VERTEX_CONFIG = {"spec": {"staging_bucket": "gs://relaunch-staging", "worker_pool_specs": [
    {"machine_spec": {"machine_type": "n1-standard-4"}, "replica_count": 1}]}}
VERTEX_IMAGE = "europe-west4-docker.pkg.dev/proj/repo/train:1"


def kubernetes(double: Any, image: str, folder: Path) -> Target:
    """Jobs in the kube double's namespace ``faults`` (the kube config's context)."""
    config = double.kubeconfig(folder / "kubeconfig.json", namespace="faults")

    def runs(item: Any, out: Path, since: float) -> int:
        name = f"relaunch-{item.run_id}"
        return max(len(double.runs(name)), int(double.ever_created("jobs").count(name)))

    return Target("kubernetes", lambda out: {
        "image": image, "entry_point": ["python3", "-c", JOB], "args": ["-", str(JOB_SECONDS)]},
        runs, env={"KUBECONFIG": str(config)})


def sagemaker(double: Any, registry: str) -> Target:
    """Training jobs at moto; ``registry`` (a local registry) stands in for ECR."""
    from launch_core.backends.sagemaker.request import training_job_name
    from tests.support.moto_double import REGION

    def move(name: str, state: str) -> bool:
        job = training_job_name(name)
        if double.status_of(job) is None:
            return False
        if state == "finished":
            double.set_status(job, "Completed")
        return True  # a created job is InProgress already (the double's patch)

    def runs(item: Any, out: Path, since: float) -> int:
        return len(double.creates_of(training_job_name(f"relaunch-{item.run_id}")))

    env = {"AWS_ENDPOINT_URL": double.url, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
           "AWS_DEFAULT_REGION": REGION, "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
           "RELAUNCH_SAGEMAKER_EXTRA_ECR_HOSTS": registry,
           "RELAUNCH_SAGEMAKER_POLL_SECONDS": "0.2"}
    return Target("sagemaker", lambda out: {
        "image": f"{registry}/relaunch-test/faults:given", "entry_point": ["python3", "train.py"]},
        runs, config=SAGEMAKER_CONFIG, env=env, move=move)


def vertex(fake: Any) -> Target:
    """CustomJobs at the Vertex fake (project ``proj``, location europe-west4)."""

    def named(name: str) -> list[str]:
        with fake.lock:
            return [i for i, job in fake.jobs.items() if job.get("displayName") == name]

    def move(name: str, state: str) -> bool:
        ids = named(name)
        if ids:
            fake.set_state(ids[0], "RUNNING" if state == "running" else "SUCCEEDED")
        return bool(ids)

    env = {"RELAUNCH_VERTEX_ENDPOINT": fake.url, "RELAUNCH_VERTEX_PROJECT": "proj",
           "RELAUNCH_VERTEX_LOCATION": "europe-west4", "RELAUNCH_VERTEX_POLL_SECONDS": "0.3"}
    return Target("vertex", lambda out: {
        "image": VERTEX_IMAGE, "entry_point": ["python", "train.py"]},
        lambda item, out, since: len(named(f"relaunch-{item.run_id}")),
        config=VERTEX_CONFIG, env=env, move=move)


@contextlib.contextmanager
def serving(resource: str, folder: Path, image: str, registry: str) -> Iterator[Target]:
    """Start ``resource``'s double (stopped afterwards) and yield its target."""
    if resource == "kubernetes":
        import docker

        from tests.support.kube_double import KubeDouble, running

        double = KubeDouble(docker.from_env(timeout=60), uuid.uuid4().hex[:12],
                            folder / "kube-double")
        with contextlib.contextmanager(running)(double) as started:
            yield kubernetes(started, image, folder)
    elif resource == "sagemaker":
        from tests.support.moto_double import run_double

        with contextlib.contextmanager(run_double)() as moto:
            yield sagemaker(moto, registry)
    elif resource == "vertex":
        from tests.support.vertex_fake import serve_fake

        with contextlib.contextmanager(serve_fake)() as fake:
            yield vertex(fake)
    else:
        raise ValueError(f"no double for {resource!r} (have: {', '.join(CLOUD)})")
