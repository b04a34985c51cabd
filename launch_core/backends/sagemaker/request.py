"""The ``sagemaker`` resource's request: the queue config (a ``CreateTrainingJob``
request, keys in CamelCase or W&B's snake_case) and the body sent for one run.
No AWS call here; ``launch_core.backends.sagemaker.resource`` sends it."""

from __future__ import annotations

import functools
import hashlib
import re
from typing import Any

from pydantic import computed_field

from launch_core.backends.resource import JobContext, Options
from launch_core.backends.sagemaker.shapes import request_shape
from launch_core.errors import InvalidInput

# Keys a queue must give (W&B's runner refuses a job without them, at run time).
REQUIRED = ("RoleArn", "OutputDataConfig", "ResourceConfig", "StoppingCondition")
# Maps whose keys are the user's (variables, hyperparameters), never re-cased.
_FREE_FORM = frozenset({"Environment", "HyperParameters", "RuleParameters"})
# SageMaker's limits on TrainingJobName and on Environment.
_NAME_CHARS = re.compile(r"[^a-zA-Z0-9-]+")
NAME_MAX = 63
ENV_VALUE_MAX = 512
ENV_ENTRIES_MAX = 100
_ENV_KEY = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,511}")
# What a dry run shows for the account of a role given by name (resolved at submit).
PREVIEW_ACCOUNT = "<account id>"


class SageMakerOptions(Options):
    """A ``CreateTrainingJob`` request, as the queue config gives it (CamelCase), plus
    W&B's ``region`` and ``profile``. ``TrainingJobName`` is relaunch's: it names the
    run so an agent finds the training job an earlier attempt created."""

    HyperParameters: dict[str, Any] | None = None
    AlgorithmSpecification: dict[str, Any] | None = None
    RoleArn: str | None = None
    InputDataConfig: list[Any] | None = None
    OutputDataConfig: dict[str, Any] | None = None
    ResourceConfig: dict[str, Any] | None = None
    VpcConfig: dict[str, Any] | None = None
    StoppingCondition: dict[str, Any] | None = None
    Tags: list[dict[str, Any]] | None = None
    EnableNetworkIsolation: bool | None = None
    EnableInterContainerTrafficEncryption: bool | None = None
    EnableManagedSpotTraining: bool | None = None
    CheckpointConfig: dict[str, Any] | None = None
    DebugHookConfig: dict[str, Any] | None = None
    DebugRuleConfigurations: list[Any] | None = None
    TensorBoardOutputConfig: dict[str, Any] | None = None
    ExperimentConfig: dict[str, Any] | None = None
    ProfilerConfig: dict[str, Any] | None = None
    ProfilerRuleConfigurations: list[Any] | None = None
    Environment: dict[str, Any] | None = None
    RetryStrategy: dict[str, Any] | None = None
    RemoteDebugConfig: dict[str, Any] | None = None
    InfraCheckConfig: dict[str, Any] | None = None
    SessionChainingConfig: dict[str, Any] | None = None
    region: str | None = None  # W&B's: the AWS region (else AWS_REGION, AWS_DEFAULT_REGION)
    profile: str | None = None  # W&B's: an AWS profile of the agent's machine

    @computed_field  # type: ignore[prop-decorator]
    @property
    def env(self) -> dict[str, Any]:
        """The queue's variables for the job's environment (``Environment``)."""
        return dict(self.Environment or {})


def camel(key: str) -> str:
    """``role_arn`` -> ``RoleArn`` (W&B's rule); a CamelCase key is returned as it is."""
    if key in ("region", "profile"):
        return key
    return "".join(part[:1].upper() + part[1:] for part in key.split("_"))


def normalise(config: dict[str, Any]) -> dict[str, Any]:
    """The config with its keys as the API spells them: ``volume_size_in_gb`` ->
    ``VolumeSizeInGB``, nested too, but not the keys of the user's maps (Environment,
    HyperParameters...). snake_case keys are matched against the member names of
    CreateTrainingJob's shapes (``sagemaker_shapes``, a table taken from botocore's
    model, so botocore is not loaded here). Raises InvalidInput when two keys name
    the same field (``role_arn`` and ``RoleArn``)."""
    if not _has_snake_key(config):
        return dict(config)
    recased: dict[str, Any] = _recase(config, request_shape(), "")
    return recased


def _has_snake_key(value: Any) -> bool:
    if isinstance(value, list):
        return any(_has_snake_key(entry) for entry in value)
    if not isinstance(value, dict):
        return False
    return any("_" in str(key) or (key not in _FREE_FORM and _has_snake_key(entry))
               for key, entry in value.items())


@functools.cache
def _request_shape() -> Any:
    """botocore's CreateTrainingJob input shape (its model loaded: dry-run, submit)."""
    import botocore.session

    model = botocore.session.get_session().get_service_model("sagemaker")
    return model.operation_model("CreateTrainingJob").input_shape


def _recase(value: Any, shape: Any, path: str) -> Any:
    kind = getattr(shape, "type_name", None)
    if kind == "list" and isinstance(value, list):
        return [_recase(entry, shape.member, f"{path}[{n}]") for n, entry in enumerate(value)]
    if kind != "structure" or not isinstance(value, dict):
        return value  # a map's keys are the user's; a scalar is a value
    members = {name.lower(): name for name in shape.members}
    out: dict[str, Any] = {}
    for key, entry in value.items():
        name = members.get(str(key).replace("_", "").lower()) or camel(str(key))
        where = f"{path}.{name}" if path else name
        if name in out:
            raise InvalidInput(f"sagemaker: option {where!r} is given twice "
                               f"(as {key!r} and in another case)")
        out[name] = _recase(entry, shape.members.get(name), where)
    return out


def check_required(options: SageMakerOptions) -> None:
    """Raise InvalidInput naming the first required key the config lacks."""
    for key in REQUIRED:
        if getattr(options, key) in (None, "", {}):
            snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
            raise InvalidInput(f"sagemaker: option {key!r} (or {snake!r}) is required: "
                               "the queue config is a CreateTrainingJob request")


def training_job_name(run_name: str) -> str:
    """``run_name`` in SageMaker's pattern ``^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}``: other
    characters become ``-``; a name past 63 characters keeps a hash of the whole."""
    name = _NAME_CHARS.sub("-", run_name).strip("-") or "relaunch"
    if len(name) <= NAME_MAX:
        return name
    digest = hashlib.sha256(run_name.encode()).hexdigest()[:10]
    return f"{name[:NAME_MAX - 11].rstrip('-')}-{digest}"


def role_arn(role: str, account: str, region: str | None) -> str:
    """``role`` as an ARN: an ARN as it is, a role name in ``account``."""
    if role.startswith("arn:"):
        return role
    return f"arn:{partition(region)}:iam::{account}:role/{role.removeprefix('role/')}"


def partition(region: str | None) -> str:
    """The AWS partition of ``region``."""
    if region and region.startswith("cn-"):
        return "aws-cn"
    if region and region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def sagemaker_environment(env: dict[str, str]) -> dict[str, str]:
    """The job's variables within SageMaker's limits. A value past 512 characters is
    split into NAME_0, NAME_1... of 512 characters each (NAME itself left out), the
    rule the pipeline applies to WANDB_CONFIG. Raises InvalidInput for a name
    SageMaker refuses or more than 100 variables."""
    out: dict[str, str] = {}
    for key, value in env.items():
        if not _ENV_KEY.fullmatch(key):
            raise InvalidInput(f"sagemaker: environment variable {key[:60]!r}: SageMaker "
                               "allows letters, digits and _ (not first)")
        if len(value) <= ENV_VALUE_MAX:
            out[key] = value
            continue
        for n, start in enumerate(range(0, len(value), ENV_VALUE_MAX)):
            out[f"{key}_{n}"] = value[start:start + ENV_VALUE_MAX]
    if len(out) > ENV_ENTRIES_MAX:
        raise InvalidInput(f"sagemaker: the job has {len(out)} environment variables "
                           f"(long values split), SageMaker allows {ENV_ENTRIES_MAX}")
    return out


def build_request(job: JobContext, options: SageMakerOptions, role: str) -> dict[str, Any]:
    """The CreateTrainingJob body for ``job`` (``role`` is the ARN to send)."""
    body = options.model_dump(exclude_none=True, exclude={"region", "profile", "env"})
    spec = dict(body.get("AlgorithmSpecification") or {})
    spec["TrainingImage"] = job.image
    spec.setdefault("TrainingInputMode", "File")
    if job.entry_point:
        spec["ContainerEntrypoint"] = list(job.entry_point)
    if job.args:
        spec["ContainerArguments"] = list(job.args)
    ours = {"relaunch-run-id": job.run_id, "relaunch-queue": job.queue,
            "relaunch-entity": job.entity}
    tags = [tag for tag in body.get("Tags") or [] if tag.get("Key") not in ours]
    tags += [{"Key": key, "Value": value} for key, value in ours.items() if value]
    body.update(TrainingJobName=training_job_name(job.ref.name), RoleArn=role,
                AlgorithmSpecification=spec, Environment=sagemaker_environment(job.env),
                Tags=tags)
    return body


def check_request(body: dict[str, Any]) -> None:
    """Raise InvalidInput when botocore's model of CreateTrainingJob refuses ``body``
    (an unknown or mistyped key, a missing or too short value), all on one line."""
    from botocore.validate import ParamValidator

    report = ParamValidator().validate(body, _request_shape())
    if report.has_errors():
        problems = "; ".join(report.generate_report().splitlines())
        raise InvalidInput(f"sagemaker: the CreateTrainingJob request is invalid: {problems}")


def refuse_training_job_name(config: dict[str, Any]) -> None:
    """relaunch names the training job after the run; a config that names it is refused."""
    if "TrainingJobName" in config:
        raise InvalidInput("sagemaker: option 'TrainingJobName' is not allowed: relaunch "
                           "names the training job after the run (relaunch-<run id>), so "
                           "an agent can find the job an earlier attempt created")
