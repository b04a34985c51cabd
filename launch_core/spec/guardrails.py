"""The guardrail engine every resource shares: what a submitter sends (``-R``, the
launch spec's ``resource_args``, template values, macros) may narrow what the
queue's admin wrote, never widen it or point it elsewhere.

A resource declares its guarded fields (``Resource.guards``, name -> ``Guard``) and
where a config sets them (``Resource.guard_findings``). Each guard is one of:

- **admin-only** (``ADMIN``): where to connect and as whom (a kube config, a
  namespace, a role, a network, a user...). A job's value must be the admin's, as
  written (a literal, neither a ``{{ var }}`` placeholder nor a ``${macro}``), set or
  unset alike. A value that only narrows (``Guard.narrows``: a token turned off, no
  network) always passes.
- **allowable** (``ALLOWABLE``): refused unless the queue allows it
  (``relaunch queue create --allow-field NAME``), and then only the admin's own
  subtree (``Finding.scope``: the whole container, volume or mount it sits in), as
  written. Dropping one only narrows.
- **kept** (``KEPT``): a size or limit (GPUs, memory, instances). The admin's value
  stays, set or unset; a ``{{ var }}`` placeholder there gives the job the variable's
  bounds. With ``may_add`` (a limit), a job may set one where the admin set none.

The engine compares three views of one config: the **final** config (the queue's
template rendered with the job's values, its resource args merged, macros filled),
the **reference** (the same without the resource args) and the admin's **raw**
config (placeholders unrendered). With no queue (a manifest the agent builds from its
own config) every allowable guard is refused and admin-only fields pass.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from launch_core.errors import InvalidInput

JsonPath = tuple[str | int, ...]
GuardKind = Literal["admin", "allowable", "kept"]
ADMIN: GuardKind = "admin"
ALLOWABLE: GuardKind = "allowable"
KEPT: GuardKind = "kept"
MISSING: Any = object()
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def _never(value: Any) -> bool:
    return False


@dataclass(frozen=True)
class Guard:
    """One guarded field of a resource: what it is (for errors) and its kind."""

    what: str
    kind: GuardKind = ADMIN
    narrows: Callable[[Any], bool] = field(default=_never, compare=False)
    may_add: bool = False  # KEPT: a job may set it where the admin did not


@dataclass(frozen=True)
class Finding:
    """A guarded field a config sets: its guard's name, where, its value, and the
    subtree (``scope``, default the field itself) that must be the admin's."""

    guard: str
    path: JsonPath
    value: Any
    scope: JsonPath | None = None

    @property
    def subtree(self) -> JsonPath:
        return self.path if self.scope is None else self.scope


Finder = Callable[[Any], Iterable[Finding]]


def check_guardrails(guards: Mapping[str, Guard], find: Finder, final: Any, *,
                     reference: Any = MISSING, raw: Any = MISSING,
                     allowed: Iterable[str] = (), has_queue: bool = True) -> None:
    """Raise InvalidInput naming the JSON path (and the ``--allow-field`` name) of the
    first guarded field ``final`` sets, changes or removes against the admin's config.

    ``reference`` defaults to ``final`` (a queue's own config at queue create) and
    ``raw`` to ``reference``. ``has_queue=False``: the agent's own config.
    """
    reference = final if reference is MISSING else reference
    raw = reference if raw is MISSING else raw
    permitted = set(allowed)
    for finding in find(final):
        _check_set(guards[finding.guard], finding, final, reference, raw, permitted,
                   has_queue)
    if has_queue:
        for finding in find(reference):
            _check_kept(guards[finding.guard], finding, final, reference)


def _check_set(guard: Guard, finding: Finding, final: Any, reference: Any, raw: Any,
               permitted: set[str], has_queue: bool) -> None:
    """A field the job's config sets: allowed, and the admin's own."""
    where = format_path(finding.path)
    if guard.narrows(finding.value):
        return
    if guard.kind == ALLOWABLE and finding.guard not in permitted:
        raise InvalidInput(f"{where}: {guard.what} is refused (the queue's admin may "
                           f"allow it: --allow-field {finding.guard})")
    if not has_queue:
        return
    scope = finding.subtree
    admins = value_at(reference, scope)
    if guard.kind == KEPT:
        if value_at(final, scope) != admins and not (admins is MISSING and guard.may_add):
            raise InvalidInput(f"{where}: {guard.what} ({finding.guard}) is the queue "
                               "admin's to set; a job's resource args may not set or "
                               "change it")
        return
    if value_at(final, scope) != admins or not is_literal(value_at(raw, scope)):
        subject = "it" if scope == finding.path else f"{format_path(scope)} as a whole"
        raise InvalidInput(f"{where}: {guard.what} ({finding.guard}) may only be set by "
                           f"the queue's config as written (a literal): {subject} must be "
                           "the admin's, not a job's template values or resource args")


def _check_kept(guard: Guard, finding: Finding, final: Any, reference: Any) -> None:
    """A field the admin's config sets: the job keeps it (or narrows it)."""
    if guard.kind == ALLOWABLE:
        return  # dropping a permission narrows
    scope = finding.subtree
    here = value_at(final, scope)
    if here == value_at(reference, scope):
        return
    if here is not MISSING and guard.narrows(value_at(final, finding.path)):
        return
    raise InvalidInput(f"{format_path(finding.path)}: {guard.what} ({finding.guard}) is "
                       "set by the queue's admin; a job may not change or remove it")


def value_at(node: Any, path: JsonPath) -> Any:
    """The value at ``path`` in ``node``, or MISSING."""
    for part in path:
        if isinstance(node, Mapping) and isinstance(part, str):
            found = part in node
        else:
            found = isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        if not found:
            return MISSING
        node = node[part]
    return node


def is_literal(value: Any) -> bool:
    """Whether ``value`` is as the admin wrote it: no placeholder, no macro."""
    if value is MISSING:
        return True  # unset by the admin; the equality check decides
    if isinstance(value, str):
        return "{{" not in value and "${" not in value
    if isinstance(value, Mapping):
        return all(is_literal(v) for v in value.values())
    if isinstance(value, list):
        return all(is_literal(v) for v in value)
    return True


def format_path(path: JsonPath) -> str:
    """``("spec", "containers", 0, "image")`` -> ``spec.containers[0].image``; a key
    that is no plain name (an annotation's) as ``["relaunch/container"]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _NAME.match(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text or "(config)"


def at_paths(fields: Mapping[JsonPath, str]) -> Finder:
    """A finder of fixed paths: ``{path: guard name}``; a null value is unset."""
    def find(config: Any) -> Iterator[Finding]:
        for path, guard in fields.items():
            value = value_at(config, path)
            if value is not MISSING and value is not None:
                yield Finding(guard, path, value)
    return find
