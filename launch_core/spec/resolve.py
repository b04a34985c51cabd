"""Resolve a job's final resource config: render, guard, fill macros, merge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from launch_core.errors import InvalidInput
from launch_core.spec.macros import fill_macros
from launch_core.spec.merge import deep_merge
from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.spec.templating import check_filled_values, render_template, resolve_values


def check_resource_args_allowed(queue: QueueDefinition, spec: LaunchSpec) -> None:
    """Raise InvalidInput when the queue's guardrails forbid raw resource_args."""
    if spec.resource_args and queue.template_variables and not queue.allow_resource_args:
        raise InvalidInput(
            f"resource_args: queue {queue.name!r} declares template variables, so raw "
            "resource args are not allowed; set its variables with --set-var"
        )


def resolve_resource_config(
    queue: QueueDefinition,
    spec: LaunchSpec,
    macros: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The config a job runs with: queue template rendered with the job's values,
    the submitter's resource_args merged over it (when allowed), macros filled.

    ``env`` fills ``${ENV}`` macros in the queue's own strings only. Raises
    TemplateError / InvalidInput naming the variable or field at fault.
    """
    return resolve_both(queue, spec, macros, env)[0]


def resolve_both(
    queue: QueueDefinition,
    spec: LaunchSpec,
    macros: Mapping[str, str] | None = None,
    env: Mapping[str, str] | None = None,
    *,
    values: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the final config, the reference): ``resolve_resource_config`` and the same
    config before the resource args are merged, which the guardrails compare.

    ``values``: the spec's template values already resolved (``resolve_values``), so
    a caller that needs them too resolves them once."""
    macros = macros or {}
    check_resource_args_allowed(queue, spec)
    if values is None:
        values = resolve_values(queue.template_variables, spec.template_values)
    # Admin text gets macros and ${ENV}; substituted submitter values get known macros
    # only (and must keep their rules once filled), and nothing filled in is ever
    # rendered again.
    filled = fill_macros(values, macros)
    check_filled_values(queue.template_variables, filled)
    rendered = render_template(queue.config, filled,
                               literal=lambda text: fill_macros(text, macros, env))
    return deep_merge(rendered, fill_macros(spec.resource_args, macros)), rendered
