"""The Kubernetes schema check of queue create and enqueue, without loading
``kubernetes-validate`` (which imports ``jsonschema``) nor its 1.8 MB of definitions:
a subset of the strict schemas (``kube_schema_subset.json``: the kinds ``SUBSET_KINDS``,
which are a Job and the kinds ``kube_schema`` wraps a custom resource's templates in,
with the definitions they reach), pre-extracted from kubernetes-validate's newest
schemas, and a validator of the few keywords they use (``type``, ``properties``,
``additionalProperties``, ``required``, ``items``, ``enum``, ``oneOf``, ``$ref``) that
reports the errors ``jsonschema`` reports, with the same attributes.

The subset is used only when it was extracted from the schemas of the Kubernetes
version the installed kubernetes-validate has newest (else the full schema is
loaded); the tests check it is current and that both validators agree
(tests/unit/backends/kubernetes/test_kube_schema_lite.py). Regenerate it after upgrading
kubernetes-validate: ``python -m launch_core.backends.kubernetes.schema_lite``.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SUBSET = Path(__file__).with_name("kube_schema_subset.json")
SUBSET_KINDS = (("batch/v1", "Job"), ("batch/v1", "CronJob"), ("v1", "PodTemplate"),
                ("v1", "ConfigMap"))
_SCHEMAS = "kubernetes-json-schema"
_VERSION = re.compile(r"^v([^-]*)")
_DROP = re.compile(r"^(description|x-kubernetes-.*)$")  # no bearing on validation
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class SchemaError:
    """One error, with the attributes of ``jsonschema.ValidationError`` that
    ``kube_schema`` reads."""

    validator: str | None
    validator_value: Any
    instance: Any
    schema: Any
    absolute_path: Path_


@functools.cache
def installed() -> tuple[str, Path] | None:
    """The newest Kubernetes version the installed kubernetes-validate has schemas of
    (as ``kubernetes_validate.latest_version()``) and their folder, found without
    importing it; None when it is not installed."""
    try:
        spec = importlib.util.find_spec("kubernetes_validate")
    except (ImportError, ValueError):  # ValueError: set to None in sys.modules
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    root = Path(list(spec.submodule_search_locations)[0]) / _SCHEMAS
    versions = {match.group(1) for entry in root.iterdir()
                if (match := _VERSION.match(entry.name))}
    if not versions:
        return None
    latest = max(versions, key=lambda v: tuple(int(n) for n in re.findall(r"\d+", v)))
    return latest, root / f"v{latest}-local-strict"


def schema_file(api_version: str, kind: str) -> Path | None:
    """The strict schema file of a kind in the newest schemas (None: no such kind)."""
    found = installed()
    if found is None:
        return None
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    path = found[1] / f"{kind.lower()}-{group}.json"
    return path if path.is_file() else None


def validator(api_version: str, kind: str) -> LiteValidator | None:
    """The subset's validator of a kind; None when the subset lacks the kind or was
    taken from other schemas than the installed ones."""
    subset, found = _subset(), installed()
    if found is None or subset["version"] != found[0]:
        return None
    schema = subset["kinds"].get(f"{api_version} {kind}")
    return LiteValidator(schema, subset["definitions"]) if schema is not None else None


@functools.cache
def _subset() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SUBSET.read_text())
    return loaded


class LiteValidator:
    """Draft 2020-12 validation of the keywords the Kubernetes schemas use; errors in
    the order ``jsonschema`` yields them (the schema's keyword order)."""

    def __init__(self, schema: Any, definitions: dict[str, Any]) -> None:
        self.schema, self.definitions = schema, definitions
        self._keywords: dict[str, Callable[[Any, Any, Any, Path_], Iterator[SchemaError]]]
        self._keywords = {"$ref": self._ref, "type": self._type, "properties": self._properties,
                          "additionalProperties": self._additional, "items": self._items,
                          "required": self._required, "enum": self._enum,
                          "oneOf": self._one_of}

    def iter_errors(self, instance: Any) -> Iterator[SchemaError]:
        yield from self._errors(instance, self.schema, ())

    def _errors(self, instance: Any, schema: Any, path: Path_) -> Iterator[SchemaError]:
        if schema is True:
            return
        if schema is False:
            yield SchemaError(None, None, instance, schema, path)
            return
        for keyword, value in schema.items():
            check = self._keywords.get(keyword)
            if check is None:
                continue  # description, format...: no bearing on validity here
            for error in check(value, instance, schema, path):
                yield error if error.validator != "" else SchemaError(
                    keyword, value, instance, schema, path)

    def _ref(self, ref: str, instance: Any, _: Any, path: Path_) -> Iterator[SchemaError]:
        yield from self._errors(instance, self.definitions[ref.rpartition("/")[2]], path)

    def _type(self, types: Any, instance: Any, _: Any, path: Path_) -> Iterator[SchemaError]:
        if not any(_is_type(instance, t) for t in (types if isinstance(types, list)
                                                   else [types])):
            yield _HERE

    def _properties(self, properties: dict[str, Any], instance: Any, _: Any,
                    path: Path_) -> Iterator[SchemaError]:
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if name in instance:
                    yield from self._errors(instance[name], subschema, (*path, name))

    def _additional(self, extra: Any, instance: Any, schema: Any,
                              path: Path_) -> Iterator[SchemaError]:
        if not isinstance(instance, dict):
            return
        known = schema.get("properties", {})
        extras = [name for name in instance if name not in known]
        if isinstance(extra, dict):
            for name in extras:
                yield from self._errors(instance[name], extra, (*path, name))
        elif not extra and extras:
            yield _HERE

    def _items(self, items: Any, instance: Any, _: Any, path: Path_) -> Iterator[SchemaError]:
        if not isinstance(instance, list):
            return
        if items is False and instance:
            yield _HERE
        elif items is not False:
            for index, item in enumerate(instance):
                yield from self._errors(item, items, (*path, index))

    def _required(self, names: list[str], instance: Any, _: Any,
                  path: Path_) -> Iterator[SchemaError]:
        if isinstance(instance, dict):
            yield from (_HERE for name in names if name not in instance)

    def _enum(self, values: list[Any], instance: Any, _: Any,
              path: Path_) -> Iterator[SchemaError]:
        if not any(_equal(value, instance) for value in values):
            yield _HERE

    def _one_of(self, schemas: list[Any], instance: Any, _: Any,
               path: Path_) -> Iterator[SchemaError]:
        valid = [not any(True for _ in self._errors(instance, s, path)) for s in schemas]
        if valid.count(True) != 1:  # none valid, or more than one
            yield _HERE


_HERE = SchemaError("", None, None, None, ())  # an error of the keyword being checked


def _is_type(instance: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(instance, bool):
        return False
    if kind == "integer":
        return isinstance(instance, int) or (isinstance(instance, float)
                                             and instance.is_integer())
    python: dict[str, type | tuple[type, ...]] = {
        "array": list, "boolean": bool, "null": type(None), "number": (int, float),
        "object": dict, "string": str}
    return isinstance(instance, python[kind])


def _equal(one: Any, two: Any) -> bool:
    """As jsonschema compares an enum's values: ``True`` is not ``1``."""
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, bool) or isinstance(two, bool):
        return isinstance(one, bool) and isinstance(two, bool) and one == two
    return bool(one == two)


def extract() -> dict[str, Any]:
    """The subset, from the installed kubernetes-validate's newest strict schemas."""
    found = installed()
    assert found is not None, "kubernetes-validate is not installed"
    version, folder = found
    everything = json.loads((folder / "_definitions.json").read_text())["$defs"]
    kinds: dict[str, Any] = {}
    definitions: dict[str, Any] = {}

    def slim(node: Any) -> Any:
        if isinstance(node, list):
            return [slim(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "properties":
                out[key] = {name: slim(sub) for name, sub in value.items()}
            elif key == "$ref":
                name = value.rpartition("/")[2]
                out[key] = f"#/definitions/{name}"
                if name not in definitions:
                    definitions[name] = {}
                    definitions[name] = slim(everything[name])
            elif not _DROP.match(key):
                out[key] = slim(value)
        return out

    for api_version, kind in SUBSET_KINDS:
        path = schema_file(api_version, kind)
        assert path is not None, f"no schema of {api_version} {kind}"
        kinds[f"{api_version} {kind}"] = slim(json.loads(path.read_text()))
    return {"version": version, "kinds": kinds, "definitions": dict(sorted(definitions.items()))}


if __name__ == "__main__":
    SUBSET.write_text(json.dumps(extract(), sort_keys=True, separators=(",", ":")) + "\n")
