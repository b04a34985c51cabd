"""Queue config templates: ``{{ name }}`` placeholders, checked and rendered.

Rules (docs/configuration.md, "Queue templates and guardrails"): a string that is
exactly one placeholder becomes the typed value;
a placeholder inside a longer string is substituted as text; every name used must be
declared and every declared name used; placeholders never appear in keys; rendering
is a single pass, so values that themselves contain ``{{ }}`` stay literal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from launch_core.errors import TemplateError
from launch_core.spec.models import TemplateVariable, coerce_value

_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_INNER = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")
_WHOLE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def placeholders_in(text: str, where: str = "") -> list[str]:
    """The variable names ``text`` refers to, in order. Raises on malformed syntax."""
    names = []
    for match in _PLACEHOLDER.finditer(text):
        inner = _INNER.fullmatch(match.group(1))
        if inner is None:
            raise TemplateError(f"malformed placeholder {match.group(0)[:60]!r}{where}")
        names.append(inner.group(1))
    if "{{" in _PLACEHOLDER.sub("", text):
        raise TemplateError(f"unclosed placeholder '{{{{'{where}")
    return names


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (path, string) for every string leaf; reject placeholders in keys."""
    if isinstance(value, Mapping):
        for key, child in value.items():
            if not isinstance(key, str):
                raise TemplateError(f"config key {key!r} at {path or 'top level'} is not a string")
            if "{{" in key or "}}" in key:
                raise TemplateError(f"placeholder in key {key!r} at {path or 'top level'}: "
                                    "templates are only allowed in values")
            yield from _walk(child, f"{path}.{key}" if path else key)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _walk(child, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value


def used_variables(config: Mapping[str, Any]) -> dict[str, str]:
    """Map each variable name used in ``config`` to the first path using it."""
    used: dict[str, str] = {}
    for path, text in _walk(config, ""):
        for name in placeholders_in(text, f" at config.{path}"):
            used.setdefault(name, path)
    return used


def check_queue_template(config: Mapping[str, Any], variables: Mapping[str, Any]) -> None:
    """Check a queue's config against its declared variables (at create/update).

    Raises TemplateError for an undeclared name, an unused declaration or bad syntax.
    """
    used = used_variables(config)
    for name, path in used.items():
        if name not in variables:
            raise TemplateError(f"config.{path} uses undeclared template variable {name!r}")
    for name in variables:
        if name not in used:
            raise TemplateError(f"template variable {name!r} is declared but not used in config")


def resolve_values(
    variables: Mapping[str, TemplateVariable], values: Mapping[str, Any]
) -> dict[str, Any]:
    """Typed, validated values for every declared variable (given or default).

    Raises TemplateError naming the variable for an undeclared name, a missing value
    without default, a wrong type or a value out of bounds.
    """
    for name in values:
        if name not in variables:
            known = ", ".join(sorted(variables)) or "none"
            raise TemplateError(f"unknown template variable {name!r} (declared: {known})")
    resolved: dict[str, Any] = {}
    for name, var in variables.items():
        if name in values:
            raw = values[name]
        elif var.default is not None:
            raw = var.default
        else:
            raise TemplateError(f"template variable {name!r} needs a value (no default)")
        try:
            resolved[name] = coerce_value(var, raw)
        except ValueError as exc:
            raise TemplateError(f"template variable {name!r}: {exc}") from None
    return resolved


def check_filled_values(variables: Mapping[str, TemplateVariable],
                        filled: Mapping[str, Any]) -> None:
    """Check values again once macros are filled into them (``fill_macros``): what
    the job gets must keep its variable's rules (type, bounds, enum, pattern, length)
    too, so ``${run_name}`` cannot bring a ``/`` past ``pattern: ^[^/]+$``.

    Raises TemplateError naming the variable and the rule broken.
    """
    for name, value in filled.items():
        if name in variables:  # resolve_values refused any other name
            try:
                coerce_value(variables[name], value)
            except ValueError as exc:
                raise TemplateError(f"template variable {name!r} with macros filled in: "
                                    f"{exc}") from None


def render_template(config: Any, values: Mapping[str, Any],
                    literal: Callable[[str], str] | None = None) -> Any:
    """Return a copy of ``config`` with placeholders replaced by ``values``.

    ``literal`` (if given) transforms the text around placeholders only, never the
    substituted values (the agent fills admin-only macros this way). Raises
    TemplateError when a placeholder has no value (never renders "").
    """
    if isinstance(config, Mapping):
        return {key: render_template(child, values, literal) for key, child in config.items()}
    if isinstance(config, list):
        return [render_template(child, values, literal) for child in config]
    if isinstance(config, str):
        return _render_string(config, values, literal or (lambda text: text))
    return config


def _render_string(text: str, values: Mapping[str, Any], literal: Callable[[str], str]) -> Any:
    whole = _WHOLE.fullmatch(text)
    if whole is not None:
        return _value_of(whole.group(1), values)
    parts, last = [], 0
    for match in _PLACEHOLDER.finditer(text):
        parts.append(literal(text[last:match.start()]))
        parts.append(_as_text(_value_of(match.group(1).strip(), values)))
        last = match.end()
    parts.append(literal(text[last:]))
    return "".join(parts)


def _value_of(name: str, values: Mapping[str, Any]) -> Any:
    if name not in values:
        raise TemplateError(f"template variable {name!r} has no value")
    return values[name]


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
