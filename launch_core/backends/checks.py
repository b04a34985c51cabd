"""A resource's own checks of a queue's config before anything is stored: at queue
create and update (the template rendered with sample values) and at dry-run and
enqueue (the job's values, macros not yet filled). The agent checks the final config
again (``JobPipeline.resolve``)."""

from __future__ import annotations

from typing import Any

from launch_core.backends.resource import Resource, get_resource
from launch_core.errors import InvalidInput, MissingExtra, TemplateError
from launch_core.spec.env_option import env_option
from launch_core.spec.guardrails import Guard, at_paths, check_guardrails
from launch_core.spec.models import QueueDefinition, TemplateVariable, coerce_value
from launch_core.spec.templating import render_template


def check_queue_config(queue: QueueDefinition) -> None:
    """Raise InvalidInput when ``queue``'s config can never run on its resource.

    The template is rendered with each variable's default (else a sample value in
    its bounds); a queue whose variables have no such value is checked at enqueue.
    """
    resource = _resource(queue.resource)
    if resource is None:
        return
    try:
        values = {name: _sample(var) for name, var in queue.template_variables.items()}
    except (TemplateError, ValueError):
        return
    check_job_config(queue, render_template(queue.config, values), resource)


# The queue's ``builder`` section, whatever the resource: where a built image is pushed
# (with the agent's registry credentials) is the admin's.
_BUILDER_GUARDS = {"builder.destination": Guard("where the job's image is pushed")}
_find_builder_guarded = at_paths({("builder", "destination"): "builder.destination"})


def check_job_config(queue: QueueDefinition, config: dict[str, Any],
                     resource: Resource | None = None,
                     reference: dict[str, Any] | None = None) -> None:
    """Raise InvalidInput when a job's rendered ``config`` is refused by the queue's
    resource (its options, its guardrails against ``reference``: the queue's config
    rendered with the job's values, before its resource args) or sets the ``builder``
    section's admin-only fields."""
    check_guardrails(_BUILDER_GUARDS, _find_builder_guarded, config,
                     reference=config if reference is None else reference, raw=queue.config)
    resource = resource or _resource(queue.resource)
    if resource is not None:
        options = _without_builder(config)
        resource.validate(options, queue)
        resource.check_guardrails(
            options, queue, None if reference is None else _without_builder(reference))
        try:  # the job's environment is built from the options as the resource reads them
            env_option(resource.parse_options(options).model_dump().get("env"))
        except InvalidInput as exc:
            raise InvalidInput(f"{resource.name}: {exc}") from None


def _without_builder(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k != "builder"}


def _resource(name: str) -> Resource | None:
    """The resource, or None when its extra is not installed here (the agent, which
    has it, checks the config again)."""
    try:
        return get_resource(name)
    except MissingExtra:
        return None


def _sample(var: TemplateVariable) -> Any:
    if var.default is not None:
        raw = var.default
    elif var.enum:
        raw = var.enum[0]
    elif var.minimum is not None:
        raw = var.minimum
    else:
        raw = {"integer": 1, "number": 1.0, "boolean": True}.get(var.type, "x")
    return coerce_value(var, raw)
