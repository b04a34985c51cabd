"""Launch jobs (``relaunch job create``): a named, versioned recipe of what to run (a
code tarball, a git repository or an image, with its entry point and inputs). The
references that name one version are in job_refs.py."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from launch_core.spec.inputs import describe_validation_error, parse_model
from launch_core.spec.models import LaunchSpec, TemplateVariable

JOB_KINDS = ("code", "git", "image")
# The launch fields a recipe holds (its source and how it runs), by kind.
SOURCE_FIELD = {"code": "code", "git": "uri", "image": "image"}
RECIPE_FIELDS = ("image", "uri", "ref", "code", "entry_point", "dockerfile", "base_image",
                 "build_context")


class JobRecipe(BaseModel):
    """One version's content. Its digest decides whether a create is a new version."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["code", "git", "image"]
    image: str | None = None
    uri: str | None = None
    ref: str | None = None
    code: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    entry_point: list[str] | None = None
    dockerfile: str | None = None
    base_image: str | None = None
    build_context: str | None = None
    inputs: dict[str, TemplateVariable] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> JobRecipe:
        source = SOURCE_FIELD[self.kind]
        if getattr(self, source) is None:
            raise ValueError(f"a {self.kind} job needs its {source}")
        if self.kind == "image" and self.base_image is not None:
            raise ValueError("base_image: an image job builds nothing, so it takes no "
                             "base image")
        try:  # the rules of a launch's source, entry point and paths, once
            LaunchSpec.model_validate(self.launch_fields())
        except ValidationError as exc:
            raise ValueError(describe_validation_error(exc, "").lstrip(": ")) from None
        return self

    def launch_fields(self) -> dict[str, Any]:
        """The launch spec fields this recipe gives a launch (no None values)."""
        return {key: value for key in RECIPE_FIELDS
                if (value := getattr(self, key)) is not None}

    def digest(self) -> str:
        """``sha256:<hex>`` of the content: the same recipe, the same digest."""
        data = self.model_dump(mode="json", exclude_none=True)
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def parse_recipe(data: dict[str, Any], source: str) -> JobRecipe:
    """A recipe from its fields. Raises InvalidInput naming ``source`` and the field."""
    return parse_model(JobRecipe, data, source)
