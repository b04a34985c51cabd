"""A sweep's ``command``: W&B's macros, checked when the config is read and filled in
for each trial (its argv), as W&B Launch's sweep scheduler fills them.

``${program}`` is the config's ``program``; ``${env}`` and ``${interpreter}`` are
``/usr/bin/env`` and ``python`` (W&B's agent); ``${envvar:NAME}`` is the variable
from the given environment (its name when unset, as in W&B). One ``${args...}`` word
becomes the trial's parameters as flags, in the place of the macro: ``${args}``
``--lr=0.1``, ``${args_no_equals}`` ``--lr 0.1``, ``${args_no_hyphens}`` ``lr=0.1``,
``${args_no_boolean_flags}`` ``--flag`` for true and nothing for false,
``${args_json}`` one JSON word, ``${args_append_hydra}`` ``+lr=0.1``,
``${args_override_hydra}`` ``++lr=0.1``. Values are written as W&B writes them
(Python's ``str``: ``True``, ``{'a': 1}``)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

MACRO = re.compile(r"\$\{([^}]*)\}")
ENVVAR = re.compile(r"^envvar:([A-Za-z0-9_]+)$")
FIXED = {"env": "/usr/bin/env", "interpreter": "python"}


def _pairs(config: Mapping[str, Any], form: str) -> list[str]:
    return [form.format(key=key, value=value) for key, value in config.items()]


def _no_equals(config: Mapping[str, Any]) -> list[str]:
    return [word for key, value in config.items() for word in (f"--{key}", str(value))]


def _no_boolean_flags(config: Mapping[str, Any]) -> list[str]:
    return [f"--{key}" if value is True else f"--{key}={value}"
            for key, value in config.items() if value is not False]


ARGS: dict[str, Callable[[Mapping[str, Any]], list[str]]] = {
    "args": lambda config: _pairs(config, "--{key}={value}"),
    "args_no_equals": _no_equals,
    "args_no_hyphens": lambda config: _pairs(config, "{key}={value}"),
    "args_no_boolean_flags": _no_boolean_flags,
    "args_json": lambda config: [json.dumps(dict(config))],
    "args_append_hydra": lambda config: _pairs(config, "+{key}={value}"),
    "args_override_hydra": lambda config: _pairs(config, "++{key}={value}"),
}
WORD_MACROS = frozenset({*ARGS, "program", *FIXED})


def check_command(words: Sequence[str], program: str | None) -> str | None:
    """What is wrong with ``words`` as a sweep command, or None."""
    args_words = 0
    for word in words:
        for name in MACRO.findall(word):
            if ENVVAR.match(name):
                continue
            if name not in WORD_MACROS:
                return f"unknown macro ${{{name}}}"
            if word != f"${{{name}}}":
                return f"${{{name}}} must be a word of its own"
            if name == "program" and not program:
                return "${program} needs the config's program"
            args_words += name in ARGS
    if args_words > 1:
        return "give at most one ${args...} macro"
    return None


def trial_command(words: Sequence[str], program: str | None, config: Mapping[str, Any],
                  environ: Mapping[str, str]) -> list[str]:
    """The argv of a trial whose run config is ``config``, from a checked command."""
    argv: list[str] = []
    for word in words:
        name = word[2:-1] if word.startswith("${") and word.endswith("}") else None
        if name in ARGS:
            argv += ARGS[name](config)
        elif name == "program":
            argv.append(program or "")
        elif name in FIXED:
            argv.append(FIXED[name])
        else:
            argv.append(MACRO.sub(lambda m: _envvar(m.group(1), environ), word))
    return argv


def _envvar(name: str, environ: Mapping[str, str]) -> str:
    found = ENVVAR.match(name)
    variable = found.group(1) if found else name
    return environ.get(variable, variable)
