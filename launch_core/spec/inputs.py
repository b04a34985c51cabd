"""Reading user input: mappings from files or JSON/YAML strings, model validation.

Input is data, never a program: YAML anchors and aliases (which can expand a small
document into billions of nodes), duplicate keys, non-finite numbers, NUL and
non-UTF-8 text, YAML's own types (dates, sets, binary) and nesting deeper than
``MAX_DEPTH`` are refused with one line naming the flag or file and the path.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from launch_core.errors import InvalidInput

MAX_INPUT_BYTES = 1024 * 1024
MAX_DEPTH = 64
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
        where = f"{source} ({value})"
        try:
            text = path.read_bytes()[:MAX_INPUT_BYTES + 1].decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"{where}: not UTF-8 text (byte {exc.start})") from None
    if len(text.encode("utf-8", errors="replace")) > MAX_INPUT_BYTES:
        raise InvalidInput(f"{source}: input larger than 1 MiB")
    check_text(text, where)
    data = parse_json_or_yaml(text, where)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected a mapping, got {type(data).__name__}")
    check_data(data, where)
    return data


def _looks_like_path(value: str) -> bool:
    inline = value.lstrip().startswith(("{", "[")) or ": " in value
    return (len(value) < 4096 and "\n" not in value and "\0" not in value and not inline
            and Path(value).suffix in (".json", ".yaml", ".yml"))


def check_text(text: str, where: str) -> None:
    """Raise InvalidInput for a NUL character or text that is not valid Unicode (a
    non-UTF-8 command-line argument arrives as lone surrogates)."""
    if "\0" in text:
        raise InvalidInput(f"{where}: contains a NUL character (binary input?)")
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{where}: not UTF-8 text") from None


def check_data(value: Any, where: str, path: str = "", depth: int = 0) -> None:
    """Raise InvalidInput naming ``where`` and the path of the first value that is not
    plain JSON data: a non-string key, a non-finite number, bad text, YAML's own
    types, or nesting deeper than MAX_DEPTH."""
    at = f" at {_short(path)}" if path else ""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{where}: nested deeper than {MAX_DEPTH} levels{at}")
    if isinstance(value, dict):
        for key, child in value.items():
            if not isinstance(key, str):
                raise InvalidInput(f"{where}: key {key!r}{at} is not a string")
            check_text(key, f"{where}: key{at}")
            check_data(child, where, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            check_data(child, where, f"{path}[{index}]", depth + 1)
    elif isinstance(value, str):
        check_text(value, f"{where}{at}")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"{where}{at}: {value} is not a finite number")
    elif value is not None and not isinstance(value, (bool, int)):
        raise InvalidInput(f"{where}{at}: a {type(value).__name__} is not JSON data")


def _short(path: str) -> str:
    return path if len(path) <= 80 else "..." + path[-77:]


class _Refused(Exception):
    """Raised by the JSON hooks: the text is JSON, but not acceptable JSON."""


def _json_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"duplicate key {key!r}")
        result[key] = value
    return result


def _json_constant(name: str) -> Any:
    raise _Refused(f"{name} is not a finite number")


def parse_json_or_yaml(text: str, where: str) -> Any:
    """JSON when it parses as JSON, else YAML. Raises InvalidInput with the line."""
    try:
        return json.loads(text, object_pairs_hook=_json_object, parse_constant=_json_constant)
    except _Refused as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    except RecursionError:
        raise InvalidInput(f"{where}: nested too deeply") from None
    except ValueError:
        pass
    import yaml

    try:
        return yaml.load(text, Loader=_loader())  # a SafeLoader subclass
    except RecursionError:
        raise InvalidInput(f"{where}: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise InvalidInput(f"{where}: {str(exc).splitlines()[0]}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "syntax error"
        raise InvalidInput(f"{where}: not valid JSON or YAML{at}: {problem}") from None


_LOADER: Any = None


def _loader() -> Any:
    """A SafeLoader that refuses aliases and duplicate keys and keeps dates as text."""
    global _LOADER
    if _LOADER is not None:
        return _LOADER
    import yaml

    class DataLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()  # type: ignore[no-untyped-call]
                raise yaml.composer.ComposerError(
                    None, None, "YAML aliases (*name) are not allowed", event.start_mark)
            return super().compose_node(parent, index)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=True)
                if key in seen if _hashable(key) else False:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark)
                if _hashable(key):
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    DataLoader.yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers
                if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}
    _LOADER = DataLoader
    return DataLoader


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def parse_model(cls: type[ModelT], data: Any, source: str) -> ModelT:
    """Validate ``data`` as ``cls``; raise InvalidInput naming the first bad field."""
    check_data(data, source)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(describe_validation_error(exc, source)) from None


def describe_validation_error(exc: ValidationError, source: str) -> str:
    """One line: ``source: field.path: message`` for the first error."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ").splitlines()[0]
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    location = f"{source}: {field}" if field else source
    return f"{location}: {message}"
