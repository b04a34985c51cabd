"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import shlex
from typing import Any

import typer
from typer.core import TyperCommand, TyperOption

from launch_core.errors import InvalidInput
from launch_core.spec.inputs import load_mapping

EntityOption = typer.Option(None, "-e", "--entity", help="Entity (default: RELAUNCH_ENTITY "
                            "or your user name).")
JsonOption = typer.Option(False, "--json", help="Machine-readable JSON output.")
QUEUE_FLAGS = ("-q", "--queue")
DEFAULT_QUEUE = "default"  # W&B's queue for a bare -q


def mapping_option(value: str | None, flag: str) -> dict[str, Any] | None:
    """Parse a FILE|JSON|YAML option value, or None when the flag was not given."""
    return None if value is None else load_mapping(value, flag)


def split_command(value: str, flag: str) -> list[str]:
    """Split a command line as a POSIX shell would. Raises InvalidInput."""
    try:
        return shlex.split(value)
    except ValueError as exc:
        raise InvalidInput(f"{flag}: cannot split {value!r}: {exc}") from None


def parse_assignments(values: list[str], flag: str) -> dict[str, str]:
    """Turn ``KEY=VALUE`` strings into a dict. Raises InvalidInput naming the flag (a
    key given twice too: which value was meant is not known)."""
    result: dict[str, str] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{flag}: expected KEY=VALUE, got {value!r}")
        if key.strip() in result:
            raise InvalidInput(f"{flag}: {key.strip()!r} is given more than once")
        result[key.strip()] = raw
    return result


class BareQueueMeansDefault(TyperCommand):
    """A command whose ``-q``/``--queue`` given without a value means the queue
    ``default``, as in W&B (a typer option always takes a value, so the value is
    filled in before parsing)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        return super().parse_args(ctx, self._fill_queue(args))

    def _fill_queue(self, args: list[str]) -> list[str]:
        takes_value = {opt for param in self.params if isinstance(param, TyperOption)
                       and not param.is_flag and not param.count for opt in param.opts}
        filled, rest = [], list(args)
        while rest:
            arg = rest.pop(0)
            filled.append(arg)
            if arg == "--":
                break
            if arg in QUEUE_FLAGS and (not rest or rest[0].startswith("-")):
                filled.append(DEFAULT_QUEUE)  # queue names never start with '-'
            elif arg in takes_value and rest:
                filled.append(rest.pop(0))
        return filled + rest
