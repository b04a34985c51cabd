"""Domain models: queue definitions, template variables, launch specs."""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from launch_core.backends.table import names
from launch_core.spec.policy import QueuePolicy
from launch_core.spec.schema_pattern import PatternError, compile_pattern, matches
from launch_core.spec.wandb_forms import (
    canonical_resource,
    from_wandb_queue_config,
    from_wandb_variables,
)


def _known_resource(name: str) -> str:
    name = canonical_resource(name)
    if name not in names("resource"):
        raise ValueError(f"resource {name!r} is not available in this version "
                         f"(available: {', '.join(names('resource'))})")
    return name


# The resource names come from the backend table (launch_core.backends.table).
Resource = Annotated[str, AfterValidator(_known_resource)]
Priority = Literal["critical", "high", "medium", "low"]
PRIORITY_RANK: dict[str, int] = {"critical": 0, "high": 1, "medium": 2, "low": 3}
PRIORITY_NAME: dict[int, str] = {rank: name for name, rank in PRIORITY_RANK.items()}

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
VARIABLE_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_STRING_VALUE = 65536
_NUMBER = re.compile(r"[-+]?([0-9]{1,300}\.?[0-9]{0,300}|\.[0-9]{1,300})([eE][-+]?[0-9]{1,3})?")
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

QueueName = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TemplateVariable(_Model):
    """A typed, bounded value a submitter may set (a JSON Schema subset)."""

    type: Literal["integer", "number", "string", "boolean"]
    minimum: int | float | None = None
    maximum: int | float | None = None
    enum: list[Any] | None = None
    pattern: str | None = None
    default: Any = None
    description: str = Field(default="", max_length=2000)

    @field_validator("minimum", "maximum", mode="before")
    @classmethod
    def _check_bound(cls, value: Any) -> Any:
        if isinstance(value, bool):
            raise ValueError("must be a number, not a boolean")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("must be a finite number")
        if isinstance(value, (int, float)) and abs(value) > 1e300:
            raise ValueError("must be a number within ±1e300")
        return value

    @model_validator(mode="after")
    def _check_schema(self) -> TemplateVariable:
        numeric = self.type in ("integer", "number")
        if not numeric and (self.minimum is not None or self.maximum is not None):
            raise ValueError(f"minimum/maximum only apply to numbers, not {self.type}")
        if self.minimum is not None and self.maximum is not None and self.minimum > self.maximum:
            raise ValueError(f"minimum {self.minimum:g} is above maximum {self.maximum:g}")
        if self.pattern is not None:
            if self.type != "string":
                raise ValueError(f"pattern only applies to strings, not {self.type}")
            try:
                compile_pattern(self.pattern)
            except PatternError as exc:  # invalid, or a feature RE2 does not have
                raise ValueError(str(exc)) from None
        if self.enum is not None:
            if not self.enum:
                raise ValueError("enum must list at least one value")
            self.enum = [coerce_value(self, v, check=False) for v in self.enum]
        if self.default is not None:
            self.default = coerce_value(self, self.default)
        return self


def coerce_value(var: TemplateVariable, value: Any, *, check: bool = True) -> Any:
    """Parse ``value`` to ``var``'s type and (if ``check``) validate its bounds.

    Strings (from the CLI) are parsed; typed values must already match. Raises
    ValueError with a message naming the broken rule.
    """
    typed = _parse_typed(var.type, value)
    if check:
        _check_bounds(var, typed)
    return typed


def _parse_typed(kind: str, value: Any) -> Any:
    if kind == "string":
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {type(value).__name__}")
        if len(value) > MAX_STRING_VALUE:
            raise ValueError(f"string longer than {MAX_STRING_VALUE} characters")
        return value
    if kind == "boolean":
        return _parse_bool(value)
    if kind == "integer":
        return _parse_int(value)
    return _parse_number(value)


def _parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "yes", "on"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "no", "off"):
        return False
    raise ValueError(f"expected a boolean (true/false), got {_show(value)}")


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("expected an integer, got a boolean")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and re.fullmatch(r"\s*[-+]?[0-9]{1,20}\s*", value):
        value = int(value)
    if not isinstance(value, int):
        raise ValueError(f"expected an integer, got {_show(value)}")
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError("integer does not fit in 64 bits")
    return value


def _parse_number(value: Any) -> float | int:
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str) and len(value) <= 64 and _NUMBER.fullmatch(value.strip()):
        value = float(value) if re.search(r"[.eE]", value) else int(value)
    if not isinstance(value, (int, float)):
        raise ValueError(f"expected a number, got {_show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("number must be finite")
    if abs(value) > 1e300:
        raise ValueError("number is too large")
    return value


def _check_bounds(var: TemplateVariable, value: Any) -> None:
    if var.minimum is not None and value < var.minimum:
        raise ValueError(f"{_show(value)} is below minimum {var.minimum:g}")
    if var.maximum is not None and value > var.maximum:
        raise ValueError(f"{_show(value)} is above maximum {var.maximum:g}")
    if var.enum is not None and value not in var.enum:
        raise ValueError(f"{_show(value)} is not one of {var.enum}")
    if var.pattern is not None and not matches(var.pattern, value):
        raise ValueError(f"{_show(value)} does not match pattern {var.pattern!r}")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class QueueDefinition(_Model):
    """A queue: where its jobs run, its resource config and its guardrails."""

    entity: str = QueueName
    name: str = QueueName
    resource: Resource
    prioritization: bool = False
    config: dict[str, Any] = Field(default_factory=dict)
    template_variables: dict[str, TemplateVariable] = Field(default_factory=dict)
    allow_resource_args: bool = False
    # Guarded fields of the resource config this queue's admin allows (e.g. a
    # Kubernetes manifest's ``privileged``); only the admin's own values may set them.
    allow_fields: list[str] = Field(default_factory=list)
    description: str = Field(default="", max_length=2000)
    # Caps, fair share, retries and time bounds (launch_core.spec.policy).
    policy: QueuePolicy = Field(default_factory=QueuePolicy)

    @model_validator(mode="before")
    @classmethod
    def _accept_wandb_forms(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            if "template_variables" in data:
                data["template_variables"] = from_wandb_variables(data["template_variables"])
            if isinstance(data.get("config"), dict):
                data["config"] = from_wandb_queue_config(data["config"], data.get("resource"))
        return data

    @field_validator("template_variables")
    @classmethod
    def _check_variable_names(cls, value: dict[str, TemplateVariable]
                              ) -> dict[str, TemplateVariable]:
        for name in value:
            if not re.match(VARIABLE_PATTERN, name) or len(name) > 64:
                raise ValueError(f"template variable name {name!r} must match {VARIABLE_PATTERN}")
        return value

    @model_validator(mode="after")
    def _check_template(self) -> QueueDefinition:
        from launch_core.errors import TemplateError
        from launch_core.spec.templating import check_queue_template

        try:
            check_queue_template(self.config, self.template_variables)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
        for name in self.policy.retry_raise:
            if name not in self.template_variables:
                raise ValueError(f"policy.retry_raise: {name!r} is not a template variable "
                                 "of this queue")
        if self.policy.fallback_queue == self.name:
            raise ValueError("policy.fallback_queue: a queue cannot fall back to itself")
        return self


def stays_inside(path: str) -> bool:
    """Whether ``path`` is relative and never climbs out (no ``/``, ``~``, ``..``)."""
    parts = path.replace("\\", "/").split("/")
    return not path.startswith(("/", "~")) and ".." not in parts


def check_relative_dir(path: str, what: str) -> None:
    """Raise ValueError unless ``path`` stays inside the source (``stays_inside``)."""
    if not stays_inside(path):
        raise ValueError(f"{what} {path!r} must be a path inside the source")


# W&B's mark of a sweep scheduler's run spec: an item whose spec has this ``uri`` and a
# ``sweep_id`` runs that sweep's scheduler instead of a job (launch_core/sweep_runs/).
SCHEDULER_URI = "placeholder-uri-scheduler"


class LaunchSpec(_Model):
    """What a submitter asks for. Exactly one source: image, git uri (+ref) or code."""

    image: str | None = Field(default=None, min_length=1, max_length=512)
    uri: str | None = Field(default=None, min_length=1, max_length=2048)
    ref: str | None = Field(default=None, min_length=1, max_length=256)
    # A blob digest, or a code store object (code_store.py: larger --code uploads).
    code: str | None = Field(default=None, pattern=r"^(sha256:[0-9a-f]{64}|(s3|gs)://[^/]+/"
                             r"(.+/)?sha256-[0-9a-f]{64}-[0-9a-f]{16}\.tar\.gz)$")
    entry_point: list[str] | None = None
    args: list[str] = Field(default_factory=list)
    dockerfile: str | None = Field(default=None, min_length=1, max_length=512)
    base_image: str | None = Field(default=None, min_length=1, max_length=512)
    # W&B's --build-context for a git source: the repository's subdirectory that is
    # the job's root (a local code source is packed from that subdirectory instead).
    build_context: str | None = Field(default=None, min_length=1, max_length=512)
    run_config: dict[str, Any] = Field(default_factory=dict)
    resource_args: dict[str, Any] = Field(default_factory=dict)
    template_values: dict[str, Any] = Field(default_factory=dict)
    priority: Priority = "medium"
    project: str | None = Field(default=None, max_length=128)
    name: str | None = Field(default=None, max_length=128)
    author: str | None = Field(default=None, max_length=128)
    # W&B's ``job``: the launch job version the run was launched from (``NAME:vN``, see
    # launch_core/spec/job_refs.py); its source and entry point are the fields above.
    job: str | None = Field(default=None, max_length=80,
                            pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*:v[0-9]+$")
    # W&B's ``sweep_id``: the sweep a trial belongs to (its run gets WANDB_SWEEP_ID);
    # with ``uri`` SCHEDULER_URI, the item runs that sweep's scheduler
    # (launch_core/sweep_runs/).
    sweep_id: str | None = Field(default=None, max_length=64, pattern=r"^[a-z0-9]+$")

    @model_validator(mode="after")
    def _check_source(self) -> LaunchSpec:
        sources = [s for s in ("image", "uri", "code") if getattr(self, s) is not None]
        if len(sources) != 1:
            raise ValueError("give exactly one source: an image, a git uri or a code directory")
        if self.ref is not None and self.uri is None:
            raise ValueError("ref only applies to a git uri")
        if self.build_context is not None:
            check_relative_dir(self.build_context, "build_context")
            if self.uri is None:
                raise ValueError("build_context only applies to a git uri")
        for field in ("image", "uri", "ref"):
            value = getattr(self, field)
            if value is not None and (value.startswith("-") or value != value.strip()):
                raise ValueError(f"{field} must not start with '-' or have surrounding spaces")
        if self.entry_point is not None and (not self.entry_point or not self.entry_point[0]):
            raise ValueError("entry_point must be a non-empty argv list")
        return self

    @property
    def is_scheduler(self) -> bool:
        """Whether the item runs a sweep's scheduler (SCHEDULER_URI) and not a job."""
        return self.uri == SCHEDULER_URI and self.sweep_id is not None
