"""A template variable's ``pattern`` as JSON Schema reads it (ECMAScript regular
expressions): ``$`` is the end of the value, never "before a final newline" as in
Python, and ``\\d``, ``\\w`` are ASCII only. So ``^[a-z]+$`` refuses ``"abc\\n"`` and
``^\\d+$`` refuses ``"١٢٣"``, as in W&B.

Patterns are matched by RE2 (``google-re2``), in time linear in the value: a pattern
that backtracks catastrophically in Python's ``re`` (``^(a+)+$`` on ``"aaa…ab"``) is
answered in one pass. A pattern must be valid for Python's ``re`` (as before) and for
RE2; what RE2 cannot match in linear time (backreferences, lookaround, atomic groups,
possessive quantifiers, conditionals) is refused, naming the feature."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Protocol

import re2

# Errors are raised, not logged (RE2 would print them to stderr).
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_HEX = frozenset("0123456789abcdefABCDEF")


class PatternError(ValueError):
    """A pattern relaunch cannot use; the message starts with ``pattern`` and says why."""


class Matcher(Protocol):
    def search(self, text: str) -> object | None: ...


@lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Matcher:
    """``pattern`` compiled by RE2 with JSON Schema's meaning. Raises PatternError."""
    try:
        pattern.encode("utf-8")
    except UnicodeEncodeError:
        raise PatternError("pattern is not valid Unicode text (it has a lone "
                           "surrogate)") from None
    try:
        re.compile(_translate(pattern, for_re2=False), re.ASCII)
    except re.error as exc:
        raise PatternError(f"pattern is not a valid regular expression: {exc}") from None
    try:
        compiled: Matcher = re2.compile(_translate(pattern, for_re2=True), _OPTIONS)
    except re2.error as exc:
        raise PatternError(_unsupported(pattern, exc)) from None
    return compiled


def matches(pattern: str, value: str) -> bool:
    """Whether ``value`` matches ``pattern`` somewhere, as JSON Schema's ``pattern``."""
    compiled = compile_pattern(pattern)
    try:
        return compiled.search(value) is not None
    except UnicodeEncodeError:  # a lone surrogate: RE2 reads UTF-8; it is one character
        return compiled.search(_without_surrogates(value)) is not None


def _without_surrogates(value: str) -> str:
    return value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _translate(pattern: str, *, for_re2: bool) -> str:
    """``pattern`` with each ``$`` outside a character class (and not escaped) as the
    end of the value (``\\Z`` in Python, ``\\z`` in RE2). For RE2, Python's spellings
    RE2 lacks become RE2's: ``\\Z`` as ``\\z``, ``\\uXXXX`` and ``\\UXXXXXXXX`` as
    ``\\x{...}``, ``[\\b]`` (a backspace) as ``\\x08``."""
    out: list[str] = []
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            escape = pattern[index:index + 2]
            width = {"\\u": 4, "\\U": 8}.get(escape, 0)
            digits = pattern[index + 2:index + 2 + width]
            if for_re2 and width and len(digits) == width and set(digits) <= _HEX:
                out.append(f"\\x{{{digits}}}")
                index += 2 + width
                continue
            if for_re2 and escape == "\\Z" and not in_class:
                escape = "\\z"
            elif for_re2 and escape == "\\b" and in_class:
                escape = "\\x08"
            out.append(escape)
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
            char = "\\z" if for_re2 else "\\Z"
        out.append(char)
        index += 1
    return "".join(out)


# What Python's re accepts and RE2 refuses, as it begins; found outside classes.
_FEATURES = (
    ("(?P=", "a backreference"), ("(?=", "lookahead"), ("(?!", "lookahead"),
    ("(?<=", "lookbehind"), ("(?<!", "lookbehind"), ("(?>", "an atomic group"),
    ("(?(", "a conditional"),
)
# "\\1".."\\99" refer to a group; "\\0..." and three octal digits are a character.
_BACKREFERENCE = re.compile(r"\\(?![0-7]{3})[1-9][0-9]?")
_POSSESSIVE = re.compile(r"(?:[*+?]|\{[0-9]*(?:,[0-9]*)?\})\+")


def _unsupported(pattern: str, exc: Exception) -> str:
    """Why RE2 refused ``pattern`` (which Python's ``re`` accepts), on one line."""
    index, in_class = 0, False
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            backreference = _BACKREFERENCE.match(pattern, index)
            if backreference is not None and not in_class:
                return _feature("a backreference", backreference.group(0))
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 1 + (pattern[index + 1:index + 2] == "^")
            index += pattern[index:index + 1] == "]"
            continue
        for start, feature in _FEATURES:
            if pattern.startswith(start, index):
                return _feature(feature, start)
        possessive = _POSSESSIVE.match(pattern, index)
        if possessive is not None and (char != "?" or pattern[index - 1:index] != "("):
            return _feature("a possessive quantifier", possessive.group(0))
        index += 1
    reason = exc.args[0] if exc.args else exc
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return f"pattern is not supported by RE2: {reason} {_WHY}"


def _feature(feature: str, text: str) -> str:
    return f"pattern uses {feature} '{text}', which RE2 does not support {_WHY}"


_WHY = "(relaunch matches patterns with RE2, in time linear in the value)"
