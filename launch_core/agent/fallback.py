"""The check a queued job meets before it moves to its queue's fallback queue (the
queue's ``max_pending`` passed): the one enqueue makes (``launch_core.api.check_launch``:
template values, resource args, the resource's own checks), made where the agent is."""

from __future__ import annotations

from launch_core.backends.checks import check_job_config
from launch_core.backends.demand import counting_resource, gpus_of
from launch_core.spec.macros import enqueue_macros, fill_macros
from launch_core.spec.models import LaunchSpec, QueueDefinition
from launch_core.spec.resolve import check_resource_args_allowed, resolve_both
from launch_core.spec.templating import check_filled_values, resolve_values


def check_for_fallback(queue: QueueDefinition, spec: LaunchSpec) -> int:
    """The GPUs ``spec`` takes on ``queue`` (its resource's demand) when the queue takes
    it. Raises InvalidInput / TemplateError naming the variable or option it refuses."""
    check_resource_args_allowed(queue, spec)
    values = resolve_values(queue.template_variables, spec.template_values)
    config, reference = resolve_both(queue, spec, values=values)
    check_filled_values(queue.template_variables,
                        fill_macros(values, enqueue_macros(queue, spec)))
    check_job_config(queue, config, reference=reference)
    return gpus_of(counting_resource(queue.resource), config)
