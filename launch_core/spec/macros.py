"""``${name}`` macros, filled by the agent once the image and run are known.

Known macros (``${image_uri}``, ``${run_id}``...) are filled everywhere. ``${ENV_VAR}``
comes from the agent's environment only in strings an admin wrote (the queue config),
never in submitter values, so a submitter cannot read the agent's secrets. Unknown
macros are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from launch_core.masking import add_secret

if TYPE_CHECKING:
    from launch_core.spec.models import LaunchSpec, QueueDefinition

KNOWN_MACROS = (
    "image_uri", "run_id", "run_name", "item_id", "queue_name",
    "entity_name", "project_name", "author",
)
_MACRO = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# What an enqueue or a dry run fills in for the two macros only the agent knows: a run
# id of the real shape (12 of [a-z0-9], letters and digits: store.items.new_run_id)
# and an item id (a positive integer).
SAMPLE_RUN_ID = "x7k2m9q4r1z8"
SAMPLE_ITEM_ID = "1"


def job_macros(spec: LaunchSpec, *, run_id: str, item_id: int | str, queue_name: str,
               entity_name: str, image_uri: str | None) -> dict[str, str]:
    """The known macros of one job, as the agent fills them (``image_uri`` only when
    there is an image: the spec's, or the one the agent built)."""
    macros = {
        "run_id": run_id, "run_name": spec.name or run_id, "item_id": str(item_id),
        "queue_name": queue_name, "entity_name": entity_name,
        "project_name": spec.project or "", "author": spec.author or "",
    }
    if image_uri:
        macros["image_uri"] = image_uri
    return macros


def enqueue_macros(queue: QueueDefinition, spec: LaunchSpec) -> dict[str, str]:
    """The macros known when a job is enqueued or dry-run (``job_macros`` with the
    sample run id and item id; ``image_uri`` when the spec names an image)."""
    return job_macros(spec, run_id=SAMPLE_RUN_ID, item_id=SAMPLE_ITEM_ID,
                      queue_name=queue.name, entity_name=queue.entity, image_uri=spec.image)


def fill_macros(
    value: Any, macros: Mapping[str, str], env: Mapping[str, str] | None = None
) -> Any:
    """Return a copy of ``value`` with macros replaced in every string.

    ``env`` is consulted only when given: pass it for admin-written config only.
    """
    if isinstance(value, Mapping):
        return {key: fill_macros(child, macros, env) for key, child in value.items()}
    if isinstance(value, list):
        return [fill_macros(child, macros, env) for child in value]
    if isinstance(value, str):
        return _MACRO.sub(lambda m: _lookup(m, macros, env), value)
    return value


def _lookup(match: re.Match[str], macros: Mapping[str, str], env: Mapping[str, str] | None) -> str:
    name = match.group(1)
    if name in macros:
        return str(macros[name])
    if env is not None and name not in KNOWN_MACROS and name in env:
        add_secret(env[name])  # from the agent's environment: masked wherever shown
        return env[name]
    return match.group(0)
