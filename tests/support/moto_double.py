"""Test double for AWS: moto (an emulator of the AWS APIs: SageMaker, CloudWatch
Logs, STS, ECR) served over HTTP on 127.0.0.1 from this test process
(``ThreadedMotoServer``), so a test can reach into its state.

moto's training jobs report Completed the moment they are created and it has no
StopTrainingJob. Three patches of moto's SageMaker handler, named here as the test
double's own behaviour, make it behave as SageMaker does where the tests need it:

- CreateTrainingJob records each request body it receives (moto drops
  ``Environment``), refuses a name already in use (``ResourceInUse``, as SageMaker
  does; moto would overwrite the job) and leaves the job ``InProgress``;
- DescribeTrainingJob first applies the next step of a plan a test set for that job
  (e.g. InProgress, then Completed), so a job moves while an agent watches it;
- StopTrainingJob (missing in moto) moves an InProgress job to ``Stopping``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.responses import EmptyResult
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.sagemaker.exceptions import ResourceInUseException, ValidationError
from moto.sagemaker.models import sagemaker_backends
from moto.sagemaker.responses import SageMakerResponse

from tests.support.prefect_server import free_port

REGION = "us-east-1"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"


class SageMakerDouble:
    """The running double: its URL, the bodies it received, the plans it follows."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.lock = threading.RLock()
        self.creates: list[dict[str, Any]] = []  # every CreateTrainingJob body received
        self.stops: list[str] = []  # every StopTrainingJob's job name
        self.plans: dict[str, list[tuple[str, str | None]]] = {}

    def jobs(self) -> dict[str, Any]:
        """moto's training jobs in the test region, by name."""
        jobs: dict[str, Any] = sagemaker_backends[DEFAULT_ACCOUNT_ID][REGION].training_jobs
        return jobs

    def creates_of(self, name: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for body in self.creates if body.get("TrainingJobName") == name]

    def status_of(self, name: str) -> str | None:
        job = self.jobs().get(name)
        return None if job is None else str(job.training_job_status)

    def plan(self, name: str, *steps: str | tuple[str, str]) -> None:
        """Each DescribeTrainingJob of job ``name`` first applies the next step (a
        status, or (status, failure reason)); the last step stays."""
        with self.lock:
            self.plans[name] = [(s, None) if isinstance(s, str) else s for s in steps]

    def set_status(self, name: str, status: str, reason: str | None = None) -> None:
        with self.lock:
            self.plans.pop(name, None)
            _apply(self.jobs()[name], status, reason)

    def write_logs(self, stream: str, *lines: str) -> None:
        """Put ``lines`` as events into ``stream`` of the SageMaker log group, through
        the CloudWatch Logs API (the training container's output)."""
        logs = client("logs", self.url)
        try:
            logs.create_log_group(logGroupName=LOG_GROUP)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        try:
            logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=[
            {"timestamp": now + n, "message": line} for n, line in enumerate(lines)])

    # --- the patches ------------------------------------------------------------

    def _create(self, original: Any, handler: SageMakerResponse) -> Any:
        body = json.loads(handler.body)
        name = body["TrainingJobName"]
        with self.lock:
            self.creates.append(body)
            if name in handler.sagemaker_backend.training_jobs:
                raise ResourceInUseException(
                    f"Training job names must be unique within an AWS account and region, "
                    f"and a training job with this name already exists ({name})")
            result = original(handler)
            _apply(handler.sagemaker_backend.training_jobs[name], "InProgress", None)
        return result

    def _describe(self, original: Any, handler: SageMakerResponse) -> Any:
        name = handler._get_param("TrainingJobName")
        with self.lock:
            job = handler.sagemaker_backend.training_jobs.get(name)
            steps = self.plans.get(name)
            if job is not None and steps:
                _apply(job, *(steps.pop(0) if len(steps) > 1 else steps[0]))
        return original(handler)

    def _stop(self, handler: SageMakerResponse) -> Any:
        name = handler._get_param("TrainingJobName")
        with self.lock:
            job = handler.sagemaker_backend.training_jobs.get(name)
            if job is None:
                raise ValidationError(f"Could not find training job '{name}'.")
            if job.training_job_status != "InProgress":
                raise ValidationError("The request was rejected because the training job "
                                      f"is in status {job.training_job_status}.")
            self.stops.append(name)
            self.plans.pop(name, None)
            _apply(job, "Stopping", None)
        return EmptyResult()


def _apply(job: Any, status: str, reason: str | None) -> None:
    job.training_job_status = status
    job.secondary_status = {"InProgress": "Training"}.get(status, status)
    if reason is not None:
        job.failure_reason = reason


def client(service: str, url: str) -> Any:
    """A boto3 client of ``service`` against the double."""
    import boto3

    return boto3.client(service, endpoint_url=url, region_name=REGION,
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def run_double() -> Iterator[SageMakerDouble]:
    """Start the double on a free 127.0.0.1 port with its patches; undo both after."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    double = SageMakerDouble(f"http://{host}:{port}")
    create, describe = SageMakerResponse.create_training_job, \
        SageMakerResponse.describe_training_job
    patches = {
        "create_training_job": lambda handler: double._create(create, handler),
        "describe_training_job": lambda handler: double._describe(describe, handler),
        "stop_training_job": double._stop,
    }
    saved = {name: SageMakerResponse.__dict__.get(name) for name in patches}
    for name, patch in patches.items():
        setattr(SageMakerResponse, name, _as_function(patch))
    try:
        yield double
    finally:
        for name, original in saved.items():
            if original is None:
                delattr(SageMakerResponse, name)
            else:
                setattr(SageMakerResponse, name, original)
        server.stop()


def _as_function(patch: Any) -> Any:
    # moto dispatches to plain functions of the handler class (inspect.isfunction).
    def method(handler: SageMakerResponse) -> Any:
        return patch(handler)

    return method
