"""``sagemaker``: each run is an Amazon SageMaker training job (boto3).

AWS access: an ``AwsCredentials`` block (prefect-aws) named by the agent's
RELAUNCH_AWS_CREDENTIALS_BLOCK, else boto3's default chain (and its AWS_ENDPOINT_URL,
AWS_ENDPOINT_URL_SAGEMAKER... settings). The handle names the region and the block,
so ``relaunch job logs`` and another agent reach the same job.
"""

from __future__ import annotations

import os
import threading
from typing import Any, ClassVar

from launch_core.backends.ecr import ECR_HOST
from launch_core.backends.resource import JobContext, Resource, RunRef, RunStatus
from launch_core.backends.sagemaker.aws import (
    Aws,
    default_region,
    describe_error,
    error_code,
    is_aws_error,
    log_events,
    log_streams,
)
from launch_core.backends.sagemaker.demand import training_job_gpus
from launch_core.backends.sagemaker.request import (
    PREVIEW_ACCOUNT,
    SageMakerOptions,
    build_request,
    check_request,
    check_required,
    normalise,
    refuse_training_job_name,
    role_arn,
    training_job_name,
)
from launch_core.errors import InvalidInput
from launch_core.spec.guardrails import ADMIN, KEPT, Finding, Guard, at_paths

# Hosts taken as ECR besides <account>.dkr.ecr.<region>.amazonaws.com: a registry
# standing in for ECR (an emulator, the tests' local registry). Comma-separated.
EXTRA_ECR_HOSTS_ENV = "RELAUNCH_SAGEMAKER_EXTRA_ECR_HOSTS"
POLL_ENV = "RELAUNCH_SAGEMAKER_POLL_SECONDS"
RUNNING = {"InProgress": "", "Stopping": "stopping"}


def _poll_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get(POLL_ENV, "5")))
    except ValueError:
        return 5.0


# Guarded fields (launch_core.spec.guardrails): as whom and where the training job runs
# are the admin's; the admin's instances and time limit stay.
_GUARDS = {
    "RoleArn": Guard("the IAM role the training job runs as"),
    "profile": Guard("the agent's AWS profile"),
    "region": Guard("the AWS region"),
    "VpcConfig": Guard("the VPC the training job joins"),
    "EnableNetworkIsolation": Guard("network isolation", ADMIN, narrows=lambda v: v is True),
    "EnableInterContainerTrafficEncryption": Guard(
        "inter-container traffic encryption", ADMIN, narrows=lambda v: v is True),
    "ResourceConfig": Guard("the instances", KEPT),
    "StoppingCondition": Guard("the time limit", KEPT, may_add=True),
}
_find_guarded = at_paths({(name,): name for name in _GUARDS})


class SageMakerResource(Resource):
    """A run is the training job named after it (``relaunch-<run id>``, SageMaker's
    pattern); CreateTrainingJob refuses a second job of that name, so a run starts once."""

    name = "sagemaker"
    options = SageMakerOptions
    env_value_limit = 512  # SageMaker's longest Environment value (W&B's limit too)
    poll_interval: ClassVar[float] = _poll_seconds()  # W&B polls every 5 s

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._log_tokens: dict[str, tuple[int, dict[str, str | None]]] = {}
        self._log_errors: set[str] = set()  # jobs whose logs could not be read (said once)

    guards = _GUARDS

    def parse_options(self, config: dict[str, Any]) -> Any:
        normalised = normalise(config)
        refuse_training_job_name(normalised)
        return super().parse_options(normalised)

    def guard_view(self, config: dict[str, Any]) -> dict[str, Any]:
        return normalise(config)

    def guard_findings(self, config: Any) -> list[Finding]:
        return list(_find_guarded(config))

    def demand(self, config: dict[str, Any]) -> dict[str, int]:
        """GPUs per instance × instances (``sagemaker.demand``), W&B's snake_case
        keys read as the API's."""
        try:
            config = normalise(config)
        except InvalidInput:  # a key given twice: counted as written
            pass
        return {"gpus": training_job_gpus(config)}

    def validate(self, config: dict[str, Any], queue: Any = None) -> None:
        """The config's keys (known to CreateTrainingJob) and the required ones present;
        nested keys and values are checked per job (``request``, ``submit``)."""
        check_required(self.parse_options(config))

    def request(self, job: JobContext) -> dict[str, Any] | None:
        """The body submit sends; a role given by name shows ``<account id>``."""
        options = self.parse_options(job.config)
        check_required(options)
        _check_image(job.image)
        region = options.region or default_region()
        body = build_request(job, options, role_arn(options.RoleArn, PREVIEW_ACCOUNT, region))
        check_request(body)
        return body

    def submit(self, job: JobContext) -> dict[str, Any]:
        options = self.parse_options(job.config)
        check_required(options)
        if not job.image or _is_preview(job.image):
            raise InvalidInput("sagemaker: the job has no image")
        _check_image(job.image)
        aws = Aws.open(options.region, options.profile)
        name = training_job_name(job.ref.name)
        found = self._describe(aws, name)
        if found is None:
            role = options.RoleArn
            if not role.startswith("arn:"):
                account = aws.client("sts").get_caller_identity()["Account"]
                role = role_arn(role, account, aws.region)
            body = build_request(job, options, role)
            check_request(body)  # a one-line reason, before anything is created
            try:
                aws.client("sagemaker").create_training_job(**body)
            except Exception as exc:
                if error_code(exc) != "ResourceInUse":  # created by an earlier attempt
                    raise
        return self._handle(aws, name, job.image)

    def find(self, ref: RunRef) -> dict[str, Any] | None:
        """The training job of ``ref`` in the agent's default region, if it exists (in
        another region, submit finds it: CreateTrainingJob says the name is in use)."""
        try:
            aws = Aws.open(None, None)
        except InvalidInput:  # no default region: submit finds it by its name
            return None
        name = training_job_name(ref.name)
        found = self._describe(aws, name)
        if found is None:
            return None
        return self._handle(aws, name, found["AlgorithmSpecification"].get("TrainingImage"))

    def status(self, handle: dict[str, Any]) -> RunStatus:
        job = self._describe(Aws.of(handle), handle["training_job_name"])
        if job is None:
            return RunStatus("failed", None, "the training job disappeared")
        state = job["TrainingJobStatus"]
        extra = {"sagemaker_status": state, "secondary": job.get("SecondaryStatus")}
        if state in RUNNING:
            return RunStatus("running", None, RUNNING[state], extra)
        if state == "Completed":
            return RunStatus("finished", 0, "", extra)
        if state == "Stopped":
            return RunStatus("failed", None, "stopped", extra)
        reason = " ".join(str(job.get("FailureReason") or state).split())
        return RunStatus("failed", None, reason, extra)

    def read_logs(self, handle: dict[str, Any], offset: int) -> tuple[str, int]:
        """The job's CloudWatch events from ``offset`` (a count of events) on, streams
        in name order (one stream per instance: algo-1, algo-2...)."""
        name = handle["training_job_name"]
        with self._lock:
            seen, tokens = self._log_tokens.get(name, (0, {}))
        tokens, skip = dict(tokens), 0
        if seen != offset:  # another reader's offset: read from the start, skip
            seen, tokens, skip = 0, {}, offset
        lines: list[str] = []
        try:
            logs = Aws.of(handle).client("logs")
            for stream in log_streams(logs, name):
                events, tokens[stream] = log_events(logs, stream, tokens.get(stream))
                lines += events
        except Exception as exc:  # logs are not the run: the job goes on without them
            if not is_aws_error(exc) or name in self._log_errors:
                return "", offset
            self._log_errors.add(name)
            note = f"[relaunch] CloudWatch logs of {name} unavailable: {describe_error(exc)}"
            return note + "\n", offset
        total = seen + len(lines)
        with self._lock:
            self._log_tokens[name] = (max(total, offset), tokens)
        return "".join(f"{line}\n" for line in lines[skip:]), max(total, offset)

    def cancel(self, handle: dict[str, Any], timeout: float) -> None:
        """StopTrainingJob (SageMaker sends SIGTERM, then SIGKILL after 120 s)."""
        try:
            Aws.of(handle).client("sagemaker").stop_training_job(
                TrainingJobName=handle["training_job_name"])
        except Exception as exc:
            if error_code(exc) != "ValidationException":  # it ended already
                raise

    def cleanup(self, handle: dict[str, Any]) -> None:
        with self._lock:
            self._log_tokens.pop(handle["training_job_name"], None)
            self._log_errors.discard(handle["training_job_name"])

    def _describe(self, aws: Aws, name: str) -> dict[str, Any] | None:
        try:
            job: dict[str, Any] = aws.client("sagemaker").describe_training_job(
                TrainingJobName=name)
        except Exception as exc:
            text = str(exc).lower()
            if error_code(exc) == "ValidationException" and (
                    "not found" in text or "could not find" in text):
                return None  # AWS: "Requested resource not found."
            raise
        return job

    @staticmethod
    def _handle(aws: Aws, name: str, image: str | None) -> dict[str, Any]:
        region = aws.region
        return {"training_job_name": name, "region": region, "credentials_block": aws.block,
                "profile": aws.profile, "image": image,
                "console_url": f"https://{region}.console.aws.amazon.com/sagemaker/home"
                               f"?region={region}#/jobs/{name}"}


def _is_preview(image: str) -> bool:
    # Imported here: request_preview brings the API layer, which a resource does not need.
    from launch_core.backends.resource import PREVIEW_IMAGE

    return image == PREVIEW_IMAGE


def _check_image(image: str | None) -> None:
    """Refuse an image SageMaker cannot pull (it pulls from ECR only)."""
    if image is None or _is_preview(image):
        return
    host = image.split("/", 1)[0] if "/" in image else ""
    extra = {h.strip() for h in os.environ.get(EXTRA_ECR_HOSTS_ENV, "").split(",") if h.strip()}
    if not (ECR_HOST.match(host) or host in extra):
        raise InvalidInput(f"sagemaker: image {image!r} is not in ECR "
                           "(<account>.dkr.ecr.<region>.amazonaws.com/...): SageMaker "
                           "pulls training images from ECR only")
