"""Options and helpers shared by the CLI commands."""

from __future__ import annotations

import shlex
from typing import Any

import typer

from launch_core.errors import InvalidInput
from launch_core.inputs import load_mapping

EntityOption = typer.Option(None, "-e", "--entity", help="Entity (default: RELAUNCH_ENTITY "
                            "or your user name).")
JsonOption = typer.Option(False, "--json", help="Machine-readable JSON output.")


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
    """Turn ``KEY=VALUE`` strings into a dict. Raises InvalidInput naming the flag."""
    result: dict[str, str] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"{flag}: expected KEY=VALUE, got {value!r}")
        result[key.strip()] = raw
    return result
