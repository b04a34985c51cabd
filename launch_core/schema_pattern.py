"""A template variable's ``pattern`` as JSON Schema reads it (ECMAScript regular
expressions): ``$`` is the end of the value, never "before a final newline" as in
Python, and ``\\d``, ``\\w`` are ASCII only. So ``^[a-z]+$`` refuses ``"abc\\n"`` and
``^\\d+$`` refuses ``"١٢٣"``, as in W&B."""

from __future__ import annotations

import re
from functools import lru_cache


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with JSON Schema's meaning. Raises re.error."""
    return re.compile(_end_anchors(pattern), re.ASCII)


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern`` somewhere, as JSON Schema's ``pattern``."""
    return compile_pattern(pattern).search(value) is not None


def _end_anchors(pattern: str) -> str:
    """``pattern`` with each ``$`` outside a character class (and not escaped) as ``\\Z``."""
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            out.append(pattern[index:index + 2])
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            out.append(char)
            index += 1
            for literal in ("^", "]"):  # "[^]...]" and "[]...]": the ']' is literal
                if pattern[index:index + 1] == literal:
                    out.append(literal)
                    index += 1
            continue
        elif char == "$":
            char = r"\Z"
        out.append(char)
        index += 1
    return "".join(out)
