"""Errors raised by relaunch. One root, each subclass maps to a CLI exit code."""

from __future__ import annotations

import re

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


class LaunchError(Exception):
    """Root of every relaunch error. ``exit_code`` is what the CLI exits with."""

    exit_code = 1


class InvalidInput(LaunchError):
    """Bad input from a user: a field, file or flag. The message names it, on one line:
    line breaks and other control characters quoted from the input are escaped."""

    exit_code = 2

    def __init__(self, message: str = "") -> None:
        super().__init__(_CONTROL.sub(lambda m: repr(m.group(0))[1:-1], str(message)))


class TemplateError(InvalidInput):
    """A queue template or a template value breaks the queue's rules."""


class ConfigError(InvalidInput):
    """A ``launch-config.yaml`` (or its overrides) is invalid."""


class NotFound(InvalidInput):
    """A named queue, job or agent does not exist."""


class Conflict(LaunchError):
    """The request clashes with the current state (queue exists, queue not empty...)."""

    exit_code = 2


class IllegalTransition(LaunchError):
    """A queue item was asked to move between two states the lifecycle forbids."""

    def __init__(self, item_id: int, current: str, target: str) -> None:
        super().__init__(f"item {item_id}: cannot go from {current} to {target}")
        self.item_id = item_id
        self.current = current
        self.target = target


class LostClaim(LaunchError):
    """An agent wrote to an item it no longer holds (its lease was swept, or another
    claim of the item is newer): the write was refused and changed nothing."""

    def __init__(self, item_id: int, agent_id: str, token: int) -> None:
        super().__init__(f"item {item_id}: agent {agent_id} no longer holds it "
                         f"(claim {token})")
        self.item_id = item_id


class Unavailable(LaunchError):
    """A service a launch needs (a resource's API) did not answer, or answered with a
    5xx: perhaps only for a while. A queue may retry it (``--retry-on infra``)."""


class MissingExtra(LaunchError):
    """A backend's optional dependencies are not installed."""

    def __init__(self, kind: str, name: str, extra: str) -> None:
        super().__init__(f"{kind} {name!r} needs the {extra} extra: "
                         f"pip install 'relaunch[{extra}]'")
        self.extra = extra


class CodeTooLarge(InvalidInput):
    """A code directory packs into a tarball larger than the store accepts."""


class StoreError(LaunchError):
    """The queue store could not be reached or migrated."""


class PermissionDenied(StoreError):
    """The store's database refused the current role this action (docs/access.md)."""


def one_line(exc: BaseException) -> str:
    """``Type: first line of the message``."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"
