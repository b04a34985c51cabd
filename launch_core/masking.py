"""Secret values masked wherever relaunch shows or records something, as CI systems
mask secrets: by value, not only by key name.

A value becomes secret when it reaches the agent as one: filled into a queue config
from the agent's environment by a ``${ENV}`` macro, read from a credentials block or a
registry login, or the queue store URL's password. From then on ``mask`` replaces it
with ``***`` in store events and reasons, run handles, log lines, Prefect artifacts
and error messages. Values in keys that look secret (``password``, ``token``...) are
hidden too when data is shown (``redact``). The job itself still gets its values.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

MASK = "***"
_SECRET_KEY = re.compile(r"pass(word)?|secret|token|api[_-]?key|credential|private", re.I)
# Shorter values ("1", "true", "us-east-1"...) would mask ordinary text, not secrets.
MIN_SECRET_LENGTH = 6

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def add_secret(value: object) -> None:
    """Mask ``value`` (a string at least MIN_SECRET_LENGTH long) from now on, and each
    line of a multi-line one (a PEM key) on its own, as CI systems do: a line can show
    alone, or the value JSON-encoded with its newlines escaped."""
    global _pattern
    if not isinstance(value, str) or len(value) < MIN_SECRET_LENGTH or value in _secrets:
        return
    lines = {line.strip() for line in value.splitlines()}
    with _lock:
        _secrets.update({value, *(line for line in lines if len(line) >= MIN_SECRET_LENGTH)})
        longest_first = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(secret) for secret in longest_first))


def add_block_secrets(block: Any) -> None:
    """Mask every secret field of a Prefect block (pydantic SecretStr/SecretBytes,
    SecretDict values) and every value under a secret-looking field name."""
    for name in getattr(type(block), "model_fields", {}):
        _add_found(getattr(block, name, None), secret=bool(_SECRET_KEY.search(name)))


def _add_found(value: Any, *, secret: bool) -> None:
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
        # A secret mapping with secret-looking keys (a service-account key file) is
        # masked by those keys: its identifying fields (project, e-mail, token URI)
        # appear in resource names and links, which masking would corrupt.
        secret = not (isinstance(value, dict) and any(_SECRET_KEY.search(str(key))
                                                      for key in value))
    if isinstance(value, dict):
        for key, child in value.items():
            _add_found(child, secret=secret or bool(_SECRET_KEY.search(str(key))))
    elif isinstance(value, (list, tuple)):
        for child in value:
            _add_found(child, secret=secret)
    elif isinstance(value, bytes):
        _add_found(value.decode("utf-8", "replace"), secret=secret)
    elif secret:
        add_secret(value)


def mask(text: str) -> str:
    """``text`` with every known secret value replaced by ***."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None and text else text


def mask_data(value: Any) -> Any:
    """A copy of JSON-like ``value`` with secret values masked in every string."""
    if isinstance(value, dict):
        return {key: mask_data(child) for key, child in value.items()}
    if isinstance(value, list):
        return [mask_data(child) for child in value]
    return mask(value) if isinstance(value, str) else value


def redact(value: Any) -> Any:
    """``mask_data``, and the values of secret-looking keys replaced by *** (for
    showing configs and handles)."""
    if isinstance(value, dict):
        return {key: MASK if _SECRET_KEY.search(str(key)) else redact(child)
                for key, child in value.items()}
    if isinstance(value, list):
        return [redact(child) for child in value]
    return mask(value) if isinstance(value, str) else value


class MaskFilter(logging.Filter):
    """Masks secrets in a log record (message, arguments and traceback) before any
    handler formats or ships it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        record.msg = mask(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def mask_log_handlers() -> None:
    """Add a MaskFilter to every handler configured now (root, Prefect's, ours), so
    records from any logger are masked before they are written or sent."""
    loggers = [logging.getLogger(), *(
        logger for logger in logging.Logger.manager.loggerDict.values()
        if isinstance(logger, logging.Logger))]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, MaskFilter) for f in handler.filters):
                handler.addFilter(MaskFilter())
