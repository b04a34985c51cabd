"""W&B Launch's forms of what relaunch reads: its resource names, its template
variables and its stored queue config. Each reader returns relaunch's form."""

from __future__ import annotations

import json
from typing import Any

# W&B Launch's names for resources relaunch names otherwise.
RESOURCE_ALIASES = {"gcp-vertex": "vertex"}


def canonical_resource(name: str) -> str:
    """relaunch's name of a resource given by its name or by W&B's (``gcp-vertex``)."""
    return RESOURCE_ALIASES.get(name, name)


def from_wandb_variables(value: Any) -> Any:
    """Template variables in relaunch's form, from any of W&B's: ``{name: {"schema":
    {...}}}`` (what ``Api.create_run_queue`` takes) or ``[{"name": ..., "schema":
    "<JSON>"}]`` (what ``RunQueue.template_variables`` returns). Other values are
    returned as they are, for the model to judge."""
    if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
        value = {v["name"]: {k: s for k, s in v.items() if k != "name"} for v in value}
    if not isinstance(value, dict):
        return value
    return {name: _schema_of(name, var) for name, var in value.items()}


def _schema_of(name: str, var: Any) -> Any:
    if not (isinstance(var, dict) and set(var) == {"schema"}):
        return var
    schema = var["schema"]
    if isinstance(schema, str):
        try:
            return json.loads(schema)
        except ValueError:
            raise ValueError(f"template_variables.{name}: schema {schema[:40]!r} is not "
                             "valid JSON") from None
    return schema


def from_wandb_queue_config(config: dict[str, Any], resource: Any) -> dict[str, Any]:
    """The resource config of a queue config in W&B's stored form, ``{"resource_args":
    {"<resource>": {...}}}``; any other config as it is. Raises ValueError when the
    resource named there is not the queue's."""
    wrapped = config.get("resource_args")
    if set(config) != {"resource_args"} or not isinstance(wrapped, dict) or len(wrapped) != 1:
        return config
    named, body = next(iter(wrapped.items()))
    if not isinstance(body, dict):
        return config
    if isinstance(resource, str) and canonical_resource(named) != canonical_resource(resource):
        raise ValueError(f"config: resource_args are for {named!r}, the queue's resource "
                         f"is {resource!r}")
    return body
