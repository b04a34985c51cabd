"""The Prefect UI as a job's launch form: the parameter schema (JSON Schema, as
Prefect's ``parameter_openapi_schema`` reads it) of a job's ``enqueue`` deployment.
No Prefect import here; flows/job_deployment.py registers the deployment.

Parameters: ``job`` (the job reference, default its name: the newest version),
``queue`` (an enum of the entity's queues), ``priority``, ``run_config`` (an object,
one property per input of the job's newest version, with its type, bounds, enum,
pattern, default and description) and ``template_values`` (an object, one property
per template variable of the entity's queues). A template variable that queues
declare differently is shown with the definition of the first queue (by name)
declaring it; the queue chosen checks the value when the job is enqueued."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from launch_core.spec.models import PRIORITY_RANK, TemplateVariable

DEFAULT_PRIORITY = "medium"
RULES = ("type", "minimum", "maximum", "enum", "pattern")


def job_form_schema(job: str, inputs: Mapping[str, TemplateVariable],
                    queues: Mapping[str, Mapping[str, TemplateVariable]]) -> dict[str, Any]:
    """The parameter schema of job ``job``'s deployment from its ``inputs`` and the
    entity's ``queues`` (queue name -> its template variables)."""
    names = sorted(queues)
    queue: dict[str, Any] = {"type": "string", "title": "queue", "position": 1,
                             "description": "The queue to enqueue the job into."}
    if names:
        queue["enum"] = names
    if len(names) == 1:
        queue["default"] = names[0]
    required_inputs = [key for key, var in inputs.items() if var.default is None]
    run_config: dict[str, Any] = {
        "type": "object", "title": "run_config", "position": 3,
        "description": "The run config: the job's inputs.",
        "properties": {key: _property(key, var, i) for i, (key, var)
                       in enumerate(inputs.items())}}
    if inputs:
        run_config["additionalProperties"] = False
    if required_inputs:
        run_config["required"] = required_inputs
    return {
        "title": "Parameters", "type": "object",
        "properties": {
            "job": {"type": "string", "title": "job", "position": 0, "default": job,
                    "description": "The job version: NAME, NAME:ALIAS or NAME:vN."},
            "queue": queue,
            "priority": {"type": "string", "title": "priority", "position": 2,
                         "enum": list(PRIORITY_RANK), "default": DEFAULT_PRIORITY,
                         "description": "The job's priority in its queue."},
            "run_config": run_config,
            "template_values": _template_values(queues),
        },
        "required": ["job", "queue"] + (["run_config"] if required_inputs else []),
        "definitions": {},
    }


def _property(name: str, var: TemplateVariable, position: int) -> dict[str, Any]:
    prop: dict[str, Any] = {"title": name, "position": position}
    prop.update({key: getattr(var, key) for key in (*RULES, "default")
                 if getattr(var, key) is not None})
    if var.description:
        prop["description"] = var.description
    return prop


def _template_values(queues: Mapping[str, Mapping[str, TemplateVariable]]
                     ) -> dict[str, Any]:
    """One property per template variable of any queue, never required and without a
    default (the chosen queue's default applies), its description naming the queues
    that declare it."""
    first: dict[str, TemplateVariable] = {}
    owners: dict[str, list[str]] = {}
    for queue in sorted(queues):
        for key, var in queues[queue].items():
            first.setdefault(key, var)
            owners.setdefault(key, []).append(queue)
    properties: dict[str, Any] = {}
    for position, key in enumerate(sorted(first)):
        var = first[key]
        prop = _property(key, var, position)
        prop.pop("default", None)
        default = f"; default {var.default}" if var.default is not None else ""
        prop["description"] = " ".join(filter(None, [
            var.description, f"(queues: {', '.join(owners[key])}{default})"]))
        properties[key] = prop
    return {"type": "object", "title": "template_values", "position": 4,
            "description": "Values of the queue's template variables (empty: its "
                           "defaults).", "properties": properties,
            "additionalProperties": False}
