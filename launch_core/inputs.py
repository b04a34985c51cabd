"""Reading user input: mappings from files or JSON/YAML strings, model validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from launch_core.errors import InvalidInput

MAX_INPUT_BYTES = 1024 * 1024
ModelT = TypeVar("ModelT", bound=BaseModel)


def load_mapping(value: str, source: str) -> dict[str, Any]:
    """Parse ``value`` (a file path, or inline JSON/YAML) into a mapping.

    ``source`` names the flag or field for error messages. Raises InvalidInput.
    """
    text, where = value, source
    path = Path(value)
    if _looks_like_path(value):
        if not path.is_file():
            raise InvalidInput(f"{source}: file {value} not found")
        if path.stat().st_size > MAX_INPUT_BYTES:
            raise InvalidInput(f"{source}: file {value} is larger than 1 MiB")
        text, where = path.read_text(encoding="utf-8"), f"{source} ({value})"
    if len(text.encode("utf-8", errors="replace")) > MAX_INPUT_BYTES:
        raise InvalidInput(f"{source}: input larger than 1 MiB")
    data = parse_json_or_yaml(text, where)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected a mapping, got {type(data).__name__}")
    return data


def _looks_like_path(value: str) -> bool:
    inline = value.lstrip().startswith(("{", "[")) or ": " in value
    return (len(value) < 4096 and "\n" not in value and not inline
            and Path(value).suffix in (".json", ".yaml", ".yml"))


def parse_json_or_yaml(text: str, where: str) -> Any:
    """JSON when it parses as JSON, else YAML. Raises InvalidInput with the line."""
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidInput(f"{where}: nested too deeply") from None
    except ValueError:
        pass
    import yaml

    try:
        return yaml.safe_load(text)
    except RecursionError:
        raise InvalidInput(f"{where}: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise InvalidInput(f"{where}: {str(exc).splitlines()[0]}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InvalidInput(f"{where}: not valid JSON or YAML{at}: {problem}") from None


def parse_model(cls: type[ModelT], data: Any, source: str) -> ModelT:
    """Validate ``data`` as ``cls``; raise InvalidInput naming the first bad field."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc, source)) from None


def describe_validation_error(exc: ValidationError, source: str) -> str:
    """One line: ``source: field.path: message`` for the first error."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    location = f"{source}: {field}" if field else source
    return f"{location}: {message}"
