"""Validation of a Kubernetes manifest against the Kubernetes OpenAPI schema, offline,
with ``kubernetes-validate``'s strict schemas (an unknown field is an error), for the
newest Kubernetes version it ships. So a typo is an exit-2 error naming the field,
not a 422 from the cluster at run time.

- Kinds it has a schema for (core ``v1``, ``batch/v1``...) are validated whole.
- A custom resource (PyTorchJob, JobSet, Volcano Job...) has no schema here: its
  ``metadata`` and the pod and job templates it embeds (any mapping shaped like a
  ``PodTemplateSpec``, a ``JobTemplateSpec`` or a bare ``PodSpec``) are validated; its
  own fields are left to the cluster. A built-in API group (``v1``, ``batch/v1``,
  ``*.k8s.io``) with an unknown kind is a typo and refused.
- A manifest without ``apiVersion`` and ``kind`` is a ``batch/v1`` Job (as in W&B).
- A string with an unfilled macro (``${run_id}`` at dry-run and enqueue) where the
  schema wants another type is left out of the check; the agent, which fills macros,
  checks the final manifest again.
- A queue's manifest, before the resource completes it, is checked ``partial``:
  required fields are left to the final manifest.
- ``kubernetes-validate`` comes with the ``[kubernetes]`` extra. Without it the check
  is skipped (a CLI without the extra); the agent, which runs Kubernetes jobs and so
  has the extra, always checks.
- A partial manifest (queue create, enqueue) of a kind in ``kube_schema_lite``'s
  pre-extracted subset (a Job, and the kinds a custom resource's templates are
  wrapped in) is checked with that subset, without importing kubernetes-validate nor
  loading its full schema; the final manifest (dry-run, the agent's submit) is checked
  with the full schema, loaded once per process.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

from launch_core.backends.kubernetes import schema_lite as kube_schema_lite
from launch_core.errors import InvalidInput
from launch_core.spec.guardrails import JsonPath, format_path

_WRAPPER_NAME = {"name": "relaunch-check"}


def validate_schema(manifest: dict[str, Any], *, partial: bool = False) -> None:
    """Raise InvalidInput naming the field when ``manifest`` does not match the
    Kubernetes OpenAPI schema of its ``apiVersion``/``kind`` (offline).

    ``partial``: ``manifest`` is a queue's, which the resource completes before
    sending it (a container's name, a Job's template...): required fields are not
    checked, unknown fields and wrong types are. Without ``kubernetes-validate`` (no
    ``[kubernetes]`` extra) nothing is checked here; the agent checks again."""
    if kube_schema_lite.installed() is None:
        return
    api_version, kind = _kind(manifest)
    what = f"{api_version} {kind}"
    if kube_schema_lite.schema_file(api_version, kind) is not None:
        _validate({**manifest, "apiVersion": api_version, "kind": kind}, (), 0, what, partial)
    elif _builtin_group(api_version):
        raise InvalidInput(f"kind: {api_version} has no kind {kind!r}")
    else:
        _validate_embedded(manifest, what, partial)


def _kind(manifest: dict[str, Any]) -> tuple[str, str]:
    kind = manifest.get("kind", "Job")
    api_version = manifest.get("apiVersion", "batch/v1" if "kind" not in manifest else None)
    if not isinstance(kind, str) or not kind:
        raise InvalidInput("kind: must be a resource kind such as Job")
    if not isinstance(api_version, str) or not api_version:
        raise InvalidInput(f"apiVersion: missing for kind {kind!r}")
    return api_version, kind


def _builtin_group(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


def _validate_embedded(manifest: dict[str, Any], what: str, partial: bool) -> None:
    if isinstance(manifest.get("metadata"), dict):
        wrapper = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": manifest["metadata"]}
        _validate(wrapper, ("metadata",), 1, what, partial)
    for key, value in manifest.items():
        if key not in ("apiVersion", "kind", "metadata", "status"):
            for path, wrapper, depth in _templates(value, (key,)):
                _validate(wrapper, path, depth, what, partial)


def _templates(node: Any, path: JsonPath) -> Iterator[tuple[JsonPath, dict[str, Any], int]]:
    """The pod and job templates in ``node``, each wrapped in a kind that has a schema,
    with how many leading keys of the wrapper's error paths to drop."""
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _templates(item, (*path, index))
        return
    if not isinstance(node, dict):
        return
    spec = node.get("spec")
    if isinstance(spec, dict) and _is_pod_template(spec.get("template")):
        yield path, {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": _WRAPPER_NAME,
                     "spec": {"schedule": "0 0 * * *", "jobTemplate": node}}, 2
    elif _is_pod_template(node):
        yield path, {"apiVersion": "v1", "kind": "PodTemplate", "metadata": _WRAPPER_NAME,
                     "template": node}, 1
    elif isinstance(node.get("containers"), list):
        yield path, {"apiVersion": "v1", "kind": "PodTemplate", "metadata": _WRAPPER_NAME,
                     "template": {"spec": node}}, 2
    else:
        for key, value in node.items():
            yield from _templates(value, (*path, key))


def _is_pod_template(node: Any) -> bool:
    return (isinstance(node, dict) and isinstance(node.get("spec"), dict)
            and isinstance(node["spec"].get("containers"), list))


def _validate(document: dict[str, Any], prefix: JsonPath, depth: int, what: str,
              partial: bool) -> None:
    """Raise InvalidInput for the first error of ``document`` that counts; its path
    drops ``depth`` keys, then goes under ``prefix``. A partial manifest (queue create,
    enqueue) is checked with the pre-extracted subset when it has the kind."""
    api_version, kind = document["apiVersion"], document["kind"]
    checker = (partial and kube_schema_lite.validator(api_version, kind)
               or _validator(api_version, kind))
    for error in checker.iter_errors(document):
        if _unfilled_macro(error.instance) or (partial and error.validator == "required"):
            continue
        where = format_path((*prefix, *tuple(error.absolute_path)[depth:], *_field(error)))
        version = (kube_schema_lite.installed() or ("?",))[0].rpartition(".")[0]
        raise InvalidInput(f"{where}: {_reason(error)} (Kubernetes {version} "
                           f"schema of {what})")


def _version() -> tuple[str, str]:
    """The newest Kubernetes version kubernetes-validate has schemas of, and their folder."""
    import kubernetes_validate

    version = kubernetes_validate.latest_version()
    return version.rpartition(".")[0], f"kubernetes-json-schema/v{version}-local-strict"


@functools.lru_cache(maxsize=32)
def _validator(api_version: str, kind: str) -> Any:
    """The strict schema's validator of a kind, as ``kubernetes_validate.validate``
    builds it (that function stops at the first error; this one lists them all, to
    pass over unfilled macros). Raises SchemaNotFoundError."""
    import jsonschema
    from kubernetes_validate import SchemaNotFoundError, utils
    from referencing import Registry, Resource

    version, folder = _version()
    group = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = utils.schema_contents(f"{folder}/{kind.lower()}-{group}.json", version)
    except FileNotFoundError:
        raise SchemaNotFoundError(version=version, kind=kind, api_version=api_version) from None
    registry = Resource.from_contents(_definitions()) @ (Resource.from_contents(schema)
                                                         @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


@functools.lru_cache(maxsize=1)
def _definitions() -> Any:
    from kubernetes_validate import utils

    version, folder = _version()
    return utils.schema_contents(f"{folder}/_definitions.json", version)


def _unfilled_macro(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _field(exc: Any) -> JsonPath:
    """The field an error is about, when the validator reports its parent."""
    if exc.validator == "additionalProperties" and isinstance(exc.instance, dict):
        known = exc.schema.get("properties", {})
        return tuple(key for key in exc.instance if key not in known)[:1]
    if exc.validator == "required" and isinstance(exc.instance, dict):
        return tuple(key for key in exc.validator_value if key not in exc.instance)[:1]
    return ()


def _reason(exc: Any) -> str:
    """Why, without the value itself (it may be an environment variable's secret)."""
    if exc.validator == "additionalProperties":
        return "unknown field"
    if exc.validator == "required":
        return "required field missing"
    if exc.validator == "type":
        types = exc.validator_value
        return f"must be of type {' or '.join(types) if isinstance(types, list) else types}"
    if exc.validator == "enum":
        return f"must be one of {exc.validator_value}"
    return f"does not match the schema ({exc.validator}: {str(exc.validator_value)[:80]})"
