"""``${name}`` macros, filled by the agent once the image and run are known.

Known macros (``${image_uri}``, ``${run_id}``...) are filled everywhere. ``${ENV_VAR}``
comes from the agent's environment only in strings an admin wrote (the queue config),
never in submitter values, so a submitter cannot read the agent's secrets. Unknown
macros are left as they are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from launch_core.masking import add_secret

KNOWN_MACROS = (
    "image_uri", "run_id", "run_name", "item_id", "queue_name",
    "entity_name", "project_name", "author",
)
_MACRO = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


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
