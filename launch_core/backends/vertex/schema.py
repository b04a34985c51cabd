"""The CustomJob's fields, checked without google-cloud-aiplatform: a table of the
messages a CustomJob reaches (``vertex_custom_job.json``, extracted from the client's
protobuf descriptors by ``extract``) and a check that refuses what protobuf's JSON
parser (``CustomJob.from_json``, which the agent's submit runs) refuses: an unknown
field, an object where a list goes, a bad enum name, a value of the wrong type. So a
queue create or an enqueue names a typo without the 1 s import of the client.

The table is checked against the installed client by the tests
(tests/unit/backends/vertex/test_vertex_schema.py); after upgrading google-cloud-aiplatform,
regenerate it: ``python -m launch_core.backends.vertex.schema``.
"""

from __future__ import annotations

import functools
import json
import math
import re
from pathlib import Path
from typing import Any

from launch_core.errors import InvalidInput

TABLE = Path(__file__).with_name("vertex_custom_job.json")
ROOT = "google.cloud.aiplatform.v1.CustomJob"
# field name -> [json name, kind, label ("", "repeated", "map"), oneof or ""]; a kind
# is a scalar ("int32", "string"...), "message:<full name>", "enum:<full name>".
Field = list[str]
_INT_RANGE = {"int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1),
              "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
_FLOAT_MAX = 3.4028234663852886e38
_SURROGATE = re.compile("[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]")
_DURATION = re.compile(r"-?\d+(\.\d{1,9})?s")


class _Refused(Exception):
    """A value the parser refuses, with why and where (the parser's path)."""


def check_custom_job(body: dict[str, Any]) -> None:
    """Raise InvalidInput naming the field of ``body`` (a CustomJob in its JSON form)
    that protobuf's parser would refuse."""
    try:
        _message(body, ROOT, ROOT.rpartition(".")[2])
    except _Refused as exc:
        raise InvalidInput(f"vertex: the CustomJob does not fit the API: {exc}") from None


@functools.cache
def _table() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(TABLE.read_text())
    return loaded


def _message(value: Any, name: str, path: str) -> None:
    if name.startswith("google.protobuf."):
        return _well_known(value, name, path)
    fields: dict[str, Field] = _table()["messages"][name]
    by_json = {spec[0]: field for field, spec in fields.items()}
    if not isinstance(value, dict):
        if isinstance(value, (str, list, tuple)) and not value:
            return  # the parser iterates the keys of an object: nothing to iterate
        if isinstance(value, (str, list, tuple)) and isinstance(value[0], str) \
                and value[0] not in by_json and value[0] not in fields:
            raise _Refused(f'Message type "{name}" has no field named "{value[0]}" at '
                           f'"{path}"')  # ... as it iterates the characters or items
        raise _Refused(f"{name.rpartition('.')[2]} at {path} must be an object")
    seen: set[str] = set()
    for key, item in value.items():
        field = by_json.get(key) or (key if key in fields else None)
        if field is None:
            raise _Refused(f'Message type "{name}" has no field named "{key}" at "{path}"')
        _, kind, label, oneof = fields[field]
        if oneof and item is not None:
            if oneof in seen:
                raise _Refused(f'Message type "{name}" should not have multiple "{oneof}" '
                               f'oneof fields at "{path}"')
            seen.add(oneof)
        if item is not None:
            _field(item, kind, label, f"{path}.{key}")


def _field(value: Any, kind: str, label: str, path: str) -> None:
    if label == "map":
        if not isinstance(value, dict):
            raise _Refused(f"map field at {path} must be an object")
        for key, item in value.items():
            _single(item, kind, f"{path}[{key}]")
    elif label == "repeated":
        if not isinstance(value, (list, tuple)):
            raise _Refused(f"repeated field at {path} must be a list")
        for index, item in enumerate(value):
            if item is None:
                raise _Refused(f"null is not allowed as an element at {path}[{index}]")
            _single(item, kind, f"{path}[{index}]")
    else:
        _single(value, kind, path)


def _single(value: Any, kind: str, path: str) -> None:
    family, _, name = kind.partition(":")
    if family == "message":
        _message(value, name, path)
    elif family == "enum":
        _enum(value, name, path)
    elif family in _INT_RANGE:
        low, high = _INT_RANGE[family]
        if not low <= _integer(value, path) <= high:
            raise _Refused(f"integer out of range at {path}")
    elif family in ("float", "double"):
        _float(value, family, path)
    elif family == "bool":
        if not isinstance(value, bool):
            raise _Refused(f"expected true or false at {path}")
    elif not isinstance(value, str) or _SURROGATE.search(value):
        raise _Refused(f"expected a string at {path}")  # string (no bytes field here)


def _enum(value: Any, name: str, path: str) -> None:
    if isinstance(value, str) and value in _table()["enums"][name]:
        return
    try:
        number = int(value)  # an open enum takes any number
    except (TypeError, ValueError):
        raise _Refused(f"Invalid enum value {value} for enum type {name} at {path}") from None
    if not -2**31 <= number < 2**31:
        raise _Refused(f"enum number out of range at {path}")


def _integer(value: Any, path: str) -> int:
    """As protobuf's ``_ConvertInteger``: an integer, an integral float or such a
    string without spaces; not a bool."""
    refused = _Refused(f"Couldn't parse integer: {value} at {path}")
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise refused
    if isinstance(value, str) and " " in value:
        raise refused
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        pass
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise refused from None
    if not number.is_integer():
        raise refused
    return int(number)


def _float(value: Any, family: str, path: str) -> None:
    """As protobuf's ``_ConvertFloat``."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        raise _Refused(f"Couldn't parse float {value} at {path} (quote it)")
    if isinstance(value, bool):
        return  # float(True): the parser takes it
    if value in ("Infinity", "-Infinity", "NaN"):
        return
    try:
        number = float(value) if value != "nan" else None
    except (TypeError, ValueError):
        number = None
    if number is None or (family == "float" and isinstance(value, float)
                          and abs(number) > _FLOAT_MAX):
        raise _Refused(f"Couldn't parse float: {value} at {path}")


def _well_known(value: Any, name: str, path: str) -> None:
    """The well-known types a CustomJob holds (durations, timestamps, Any); relaunch
    writes the durations, the others are output only."""
    if name == "google.protobuf.Duration":
        if not isinstance(value, str) or not _DURATION.fullmatch(value):
            raise _Refused(f'Duration at {path} must be a string like "3600s"')
    elif name == "google.protobuf.Timestamp":
        if not isinstance(value, str):
            raise _Refused(f"Timestamp at {path} must be an RFC 3339 string")
    elif not isinstance(value, dict):
        raise _Refused(f"{name} at {path} must be an object")


def extract() -> dict[str, Any]:
    """The table, from google-cloud-aiplatform's descriptors (imported here only)."""
    from google.cloud import aiplatform_v1
    from google.protobuf.descriptor import FieldDescriptor

    messages: dict[str, dict[str, Field]] = {}
    enums: dict[str, list[str]] = {}
    scalar = {FieldDescriptor.TYPE_INT32: "int32", FieldDescriptor.TYPE_SINT32: "int32",
              FieldDescriptor.TYPE_SFIXED32: "int32", FieldDescriptor.TYPE_INT64: "int64",
              FieldDescriptor.TYPE_SINT64: "int64", FieldDescriptor.TYPE_SFIXED64: "int64",
              FieldDescriptor.TYPE_UINT32: "uint32", FieldDescriptor.TYPE_FIXED32: "uint32",
              FieldDescriptor.TYPE_UINT64: "uint64", FieldDescriptor.TYPE_FIXED64: "uint64",
              FieldDescriptor.TYPE_FLOAT: "float", FieldDescriptor.TYPE_DOUBLE: "double",
              FieldDescriptor.TYPE_BOOL: "bool", FieldDescriptor.TYPE_STRING: "string",
              FieldDescriptor.TYPE_BYTES: "bytes"}

    def kind_of(field: Any) -> str:
        if field.enum_type is not None:
            enums[field.enum_type.full_name] = [v.name for v in field.enum_type.values]
            return f"enum:{field.enum_type.full_name}"
        if field.message_type is not None:
            visit(field.message_type)
            return f"message:{field.message_type.full_name}"
        return scalar[field.type]

    def visit(descriptor: Any) -> None:
        if descriptor.full_name in messages or descriptor.full_name.startswith("google.protobuf."):
            return
        fields: dict[str, Field] = {}
        messages[descriptor.full_name] = fields
        for field in descriptor.fields:
            oneof = field.containing_oneof.name if field.containing_oneof else ""
            entry = field.message_type
            if entry is not None and entry.GetOptions().map_entry:
                value = entry.fields_by_name["value"]
                fields[field.name] = [field.json_name, kind_of(value), "map", oneof]
            else:
                label = "repeated" if field.is_repeated else ""
                fields[field.name] = [field.json_name, kind_of(field), label, oneof]

    visit(aiplatform_v1.CustomJob.pb().DESCRIPTOR)
    return {"messages": messages, "enums": dict(sorted(enums.items()))}


if __name__ == "__main__":
    TABLE.write_text(json.dumps(extract(), indent=1, sort_keys=True) + "\n")
