"""W&B's launch spec, the document ``relaunch launch -c`` takes, read into relaunch's
launch fields. A key relaunch cannot honour is an error naming it, never ignored."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping
from typing import Any

from launch_core.backends.table import names
from launch_core.errors import InvalidInput
from launch_core.spec.models import PRIORITY_NAME, PRIORITY_RANK
from launch_core.spec.wandb_forms import canonical_resource

# W&B's resource names, known here even when relaunch has no backend for them, so a
# resource_args key for one of them reads as "another resource", not as a typo.
WANDB_RESOURCES = ("local-process", "local-container", "kubernetes", "sagemaker",
                   "gcp-vertex")

# Keys of sections (mappings) whose own keys are read one by one.
SECTIONS = ("overrides", "docker", "git")

# W&B keys with no equivalent here, and what to use instead.
UNSUPPORTED = {
    "run_id": "relaunch assigns each job its run id",
    "sweep_id": "a trial gets it from its sweep's scheduler (relaunch launch-sweep)",
    "image_uri": "use docker.docker_image",
    "python_version": "choose the base image instead (-B/--base-image)",
    "builder": "builder settings belong in launch-config.yaml or the queue config",
    "registry": "registry settings belong in launch-config.yaml",
    "environment": "environment settings belong in launch-config.yaml",
    "docker.user_id": "the job runs as its image's user",
    "git.repo": "use uri",
    "overrides.artifacts": "relaunch has no W&B artifact inputs",
    "overrides.files": "relaunch has no W&B file inputs",
}

Reader = Callable[[Any, str], Any]


def read_launch_spec(doc: Mapping[str, Any], source: str) -> dict[str, Any]:
    """Launch fields from a W&B launch spec.

    The result holds LaunchSpec fields plus ``entity`` and ``resource``;
    ``resource_args`` stays keyed by resource (see ``resource_args_for``). Empty
    values (``[]``, ``{}``, ``""``, null) mean "not set", as in W&B. Raises
    InvalidInput naming ``source`` and the key for an unsupported key or a bad value.
    """
    fields: dict[str, Any] = {}
    for key, value in doc.items():
        if key in SECTIONS and value is not None:
            for sub, sub_value in _mapping(value, f"{source}: key {key!r}").items():
                _read(f"{key}.{sub}", sub_value, fields, source)
        else:
            _read(str(key), value, fields, source)
    return fields


def _read(path: str, value: Any, fields: dict[str, Any], source: str) -> None:
    if value in (None, "", [], {}):
        return
    if path not in READERS:
        raise InvalidInput(f"{source}: key {path!r} is not supported ({_hint(path)})")
    field, reader = READERS[path]
    fields[field] = reader(value, f"{source}: key {path!r}")


def _hint(path: str) -> str:
    if path in UNSUPPORTED:
        return UNSUPPORTED[path]
    if "." not in path and path not in SECTIONS:
        return ("-c takes W&B's launch spec: put a run config under overrides.run_config, "
                "or pass it with --run-config")
    return "see docs/cli.md for the keys relaunch reads"


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"{where} must be a string, got {type(value).__name__}")
    return value


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{where} must be a mapping, got {type(value).__name__}")
    return dict(value)


def _args(value: Any, where: str) -> list[str]:
    """W&B's ``overrides.args``: a list, each item one argument (never split)."""
    if not isinstance(value, list) or not all(_is_scalar(v) for v in value):
        raise InvalidInput(f"{where} must be a list of strings")
    return [str(v) for v in value]


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _entry_point(value: Any, where: str) -> list[str]:
    """W&B's ``overrides.entry_point``: an argv list (a string is split like -E)."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as exc:
            raise InvalidInput(f"{where}: cannot split {value!r}: {exc}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where} must be a list of strings")
    return list(value)


def _priority(value: Any, where: str) -> str:
    """A priority name, or W&B's number (0 critical ... 3 low)."""
    if isinstance(value, int) and not isinstance(value, bool) and value in PRIORITY_NAME:
        return PRIORITY_NAME[value]
    if isinstance(value, str) and value.lower() in PRIORITY_RANK:
        return value.lower()
    raise InvalidInput(f"{where} must be critical, high, medium, low or 0-3, got {value!r}")


READERS: dict[str, tuple[str, Reader]] = {
    "uri": ("uri", _text),
    "job": ("job", _text),  # a launch job: [ENTITY/PROJECT/]NAME[:ALIAS|:vN] (-j)
    "git.version": ("ref", _text),
    "docker.docker_image": ("image", _text),
    "overrides.entry_point": ("entry_point", _entry_point),
    "overrides.args": ("args", _args),
    "overrides.run_config": ("run_config", _mapping),
    "overrides.dockerfile": ("dockerfile", _text),
    "resource_args": ("resource_args", _mapping),
    "template_variables": ("template_values", _mapping),
    "resource": ("resource", _text),
    "priority": ("priority", _priority),
    "entity": ("entity", _text),
    "project": ("project", _text),
    "name": ("name", _text),
    "author": ("author", _text),
}


def resource_args_for(resource_args: Mapping[str, Any], resource: str,
                      queue: str) -> dict[str, Any]:
    """The resource args for ``resource`` from W&B's form, keyed by resource
    (``{"local-container": {...}}``).

    Raises InvalidInput naming the key when it is another resource than the queue's
    (naming both), or not a resource name at all.
    """
    for key in resource_args:
        if canonical_resource(key) == resource:  # W&B's names too (gcp-vertex)
            continue
        if key in WANDB_RESOURCES or key in names("resource"):
            raise InvalidInput(f"resource_args: key {key!r} is for another resource than "
                               f"queue {queue!r}, which runs on {resource}")
        raise InvalidInput(f"resource_args: key {key!r} is not a resource: resource args "
                           f'are keyed by resource, as in W&B ({{"{resource}": {{...}}}})')
    body = next((value for key, value in resource_args.items()
                 if canonical_resource(key) == resource), None) or {}
    if not isinstance(body, Mapping):
        raise InvalidInput(f"resource_args: {resource!r} must be a mapping, "
                           f"got {type(body).__name__}")
    return dict(body)
