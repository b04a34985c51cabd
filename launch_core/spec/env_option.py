"""A resource's ``env`` option: the variables a queue gives its jobs."""

from __future__ import annotations

import json
import re
from typing import Any

from launch_core.errors import InvalidInput

# What a process can receive as a variable name (POSIX allows more; docker and the
# resources' APIs take these).
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,255}")


def env_option(value: Any) -> dict[str, str]:
    """A resource's ``env`` option as variables: a mapping (non-strings JSON-encoded) or
    W&B's list of ``KEY=VALUE``. Raises InvalidInput for a name that is not a variable
    name or a value with a NUL character (neither can reach a process)."""
    if isinstance(value, list):
        pairs = (str(entry).partition("=") for entry in value)
        env = {key: val for key, _, val in pairs}
    else:
        env = {str(k): v if isinstance(v, str) else json.dumps(v)
               for k, v in (value or {}).items()}
    for key, val in env.items():
        if not ENV_NAME.fullmatch(key):
            raise InvalidInput(f"option 'env': {key[:40]!r} is not a variable name "
                               "(letters, digits, '_', '.' or '-', not starting with a digit)")
        if "\0" in val:
            raise InvalidInput(f"option 'env': the value of {key} contains a NUL character")
    return env
