"""References to launch job versions, W&B's ``[ENTITY/PROJECT/]NAME[:ALIAS|:vN]``,
and the rules of job names and aliases (the recipes themselves: job_recipe.py). Kept
apart from the recipe model so that the CLI and the store read references without
building it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from launch_core.errors import InvalidInput
from launch_core.spec.models import NAME_PATTERN

LATEST = "latest"  # always the newest version; never set by hand
VERSION = re.compile(r"^v(0|[1-9][0-9]{0,8})$")
_NAME = re.compile(NAME_PATTERN)
MAX_NAME = 64


@dataclass(frozen=True)
class JobRef:
    """A reference to a job version: W&B's ``[ENTITY/PROJECT/]NAME[:ALIAS|:vN]``.

    ``selector`` is None (the newest, ``latest``), ``vN`` or an alias; ``entity``
    and ``project`` are None unless given."""

    name: str
    selector: str | None = None
    entity: str | None = None
    project: str | None = None

    @property
    def version(self) -> int | None:
        """N of a ``vN`` selector, else None."""
        return version_number(self.selector) if self.selector else None


def parse_job_ref(text: str, source: str, *, path: bool = True) -> JobRef:
    """``[ENTITY/PROJECT/]NAME[:ALIAS|:vN]`` (``path``: False takes ``NAME[:...]``
    only). Raises InvalidInput naming ``source``."""
    base, colon, selector = text.partition(":")
    parts = base.split("/")
    shape = "[ENTITY/PROJECT/]NAME[:ALIAS|:vN]" if path else "NAME[:ALIAS|:vN]"
    if len(parts) not in ((1, 3) if path else (1,)) or (colon and not selector):
        raise InvalidInput(f"{source}: {text[:120]!r} is not a job reference ({shape})")
    for index, part in enumerate(parts):
        check_name(part, source, "job name" if index == len(parts) - 1 else "entity or project")
    if selector and not VERSION.match(selector):
        check_alias(selector, source, allow_latest=True)
    entity, project = (parts[0], parts[1]) if len(parts) == 3 else (None, None)
    return JobRef(parts[-1], selector or None, entity, project)


def parse_version_ref(text: str, source: str) -> tuple[str, int | None]:
    """``NAME`` or ``NAME:vN`` (a version, never an alias). Raises InvalidInput."""
    ref = parse_job_ref(text, source, path=False)
    if ref.selector is not None and ref.version is None:
        raise InvalidInput(f"{source}: {text[:120]!r} names an alias; give the version "
                           "(NAME:vN)")
    return ref.name, ref.version


def check_name(name: str, source: str, what: str = "job name") -> None:
    """Raise InvalidInput unless ``name`` is a name as queues and entities have."""
    if not _NAME.match(name) or len(name) > MAX_NAME:
        raise InvalidInput(f"{source}: {what} {name[:80]!r} must match {NAME_PATTERN} "
                           f"(at most {MAX_NAME} characters)")


def check_alias(alias: str, source: str, *, allow_latest: bool = False) -> None:
    """Raise InvalidInput unless ``alias`` can name a version: a name that is neither
    ``vN`` (the versions' own names) nor ``latest`` (the newest, always)."""
    check_name(alias, source, "alias")
    if VERSION.match(alias) or re.fullmatch(r"v[0-9]+", alias):
        raise InvalidInput(f"{source}: alias {alias!r} looks like a version; versions "
                           "are named v0, v1, ... by relaunch")
    if alias == LATEST and not allow_latest:
        raise InvalidInput(f"{source}: alias 'latest' always names the newest version; "
                           "it cannot be set")


def version_number(selector: str) -> int | None:
    """N of ``vN``, else None."""
    match = VERSION.match(selector)
    return int(match.group(1)) if match else None
