"""The manifest a run sends to Kubernetes: the queue's manifest with the job filled in
and W&B Launch's defaults where the manifest is silent.

- the name is the run's (``relaunch-<run id>[-r<N>]``), so a second submit finds it;
- labels and annotations carry run id, run name, item id, queue, entity and agent,
  on the object and on every pod template (pods are found by ``relaunch/run``);
- a ``batch/v1`` Job gets ``backoffLimit: 0``, ``ttlSecondsAfterFinished: 3600`` and
  ``restartPolicy: Never`` unless it sets them;
- in every pod template (a ``template`` whose ``spec`` has ``containers``: a Job's,
  each PyTorchJob replica's, each Volcano task's, each JobSet replicated job's), the
  container named by the annotation ``relaunch/container``, else the first, gets the
  job's image, entry point (command), args and environment;
- with registry credentials, each pod template names the run's pull secret;
- a manifest labelled ``kueue.x-k8s.io/queue-name`` is created suspended, for Kueue
  to admit (``kueue``).
"""

from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass
from typing import Any

from launch_core.backends.kubernetes import kueue
from launch_core.backends.resource import JobContext, RunRef
from launch_core.errors import InvalidInput

LABEL_PREFIX = "relaunch/"
CONTAINER_ANNOTATION = "relaunch/container"  # which container runs the job
RUN_LABEL = "relaunch/run"  # the run's name: pods of a run are selected by it
JOB_DEFAULTS = {"backoffLimit": 0, "ttlSecondsAfterFinished": 3600}
_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Target:
    """What a manifest creates: its API version, kind, name and namespace."""

    api_version: str
    kind: str
    name: str
    namespace: str

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def version(self) -> str:
        return self.api_version.rpartition("/")[2]

    @property
    def is_batch_job(self) -> bool:
        return self.api_version == "batch/v1" and self.kind == "Job"

    @property
    def plural(self) -> str:
        """The resource's plural name (English rules, as CRDs are named)."""
        kind = self.kind.lower()
        if kind.endswith("y") and kind[-2:-1] not in "aeiou":
            return kind[:-1] + "ies"
        return kind + ("es" if kind.endswith(("s", "x", "ch", "sh")) else "s")

    def as_handle(self) -> dict[str, str]:
        return {"api_version": self.api_version, "kind": self.kind, "name": self.name,
                "namespace": self.namespace}

    @classmethod
    def from_handle(cls, handle: dict[str, Any]) -> Target:
        return cls(handle["api_version"], handle["kind"], handle["name"], handle["namespace"])


def build_manifest(job: JobContext, base: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The manifest for ``job``: ``base`` (apiVersion, kind, metadata, spec) filled in.
    Raises InvalidInput naming the path when no pod template or container is found."""
    manifest = copy.deepcopy(base)
    manifest.setdefault("apiVersion", "batch/v1")
    manifest.setdefault("kind", "Job")
    metadata = manifest.setdefault("metadata", {})
    metadata.pop("generateName", None)
    metadata.update(name=job.ref.name, namespace=namespace)
    marks = _marks(job)
    _merge(metadata, "labels", {k: label_value(v) for k, v in marks.items()})
    _merge(metadata, "annotations", marks)
    spec = manifest.setdefault("spec", {})
    batch = manifest["apiVersion"] == "batch/v1" and manifest["kind"] == "Job"
    if batch:
        for key, value in JOB_DEFAULTS.items():
            spec.setdefault(key, value)
        spec.setdefault("template", {}).setdefault("spec", {}).setdefault("containers", [{}])
        spec["template"]["spec"].setdefault("restartPolicy", "Never")
    kueue.suspend_on_create(manifest)
    templates = pod_templates(spec, "spec")
    if not templates:
        raise InvalidInput("kubernetes: spec: no pod template (a 'template' whose 'spec' "
                           "has 'containers') to run the job in")
    wanted = (metadata.get("annotations") or {}).get(CONTAINER_ANNOTATION)
    for path, template in templates:
        _merge(template.setdefault("metadata", {}), "labels",
               {k: label_value(v) for k, v in marks.items()})
        pod = template["spec"]
        _fill_container(_pick_container(pod, wanted, path), job)
        if job.pull_auth:
            secrets = pod.setdefault("imagePullSecrets", [])
            if {"name": pull_secret_name(job.ref)} not in secrets:
                secrets.append({"name": pull_secret_name(job.ref)})
    return manifest


def target_of(manifest: dict[str, Any]) -> Target:
    metadata = manifest["metadata"]
    return Target(manifest["apiVersion"], manifest["kind"], metadata["name"],
                  metadata["namespace"])


def pod_templates(node: Any, path: str) -> list[tuple[str, dict[str, Any]]]:
    """Every pod template under ``node`` with its JSON path, outermost first."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        template = node.get("template")
        if isinstance(template, dict) and isinstance(template.get("spec"), dict) \
                and isinstance(template["spec"].get("containers"), list):
            return [(f"{path}.template", template)]
        for key, value in node.items():
            found += pod_templates(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += pod_templates(value, f"{path}[{index}]")
    return found


def _pick_container(pod: dict[str, Any], wanted: str | None, path: str) -> dict[str, Any]:
    containers = pod["containers"]
    if wanted is None:
        if not containers:
            containers.append({})
        container: dict[str, Any] = containers[0]
        container.setdefault("name", "job")
        return container
    for container in containers:
        if isinstance(container, dict) and container.get("name") == wanted:
            return container
    raise InvalidInput(f"kubernetes: {path}.spec.containers: no container named {wanted!r} "
                       f"(annotation {CONTAINER_ANNOTATION})")


def _fill_container(container: dict[str, Any], job: JobContext) -> None:
    if job.image:
        container["image"] = job.image
    if job.entry_point:
        container["command"] = list(job.entry_point)
    if job.entry_point or job.args:
        container["args"] = list(job.args)
    container["env"] = merge_env(container.get("env") or [], job.env)


def merge_env(manifest_env: list[dict[str, Any]], job_env: dict[str, str]
              ) -> list[dict[str, Any]]:
    """The manifest's env entries (its own values win, ``valueFrom`` kept), then the
    job's; RELAUNCH_* variables are always the job's."""
    merged = [dict(entry) for entry in manifest_env
              if not str(entry.get("name", "")).startswith("RELAUNCH_")]
    present = {entry.get("name") for entry in merged}
    merged += [{"name": name, "value": value} for name, value in job_env.items()
               if name not in present]
    return merged


def _marks(job: JobContext) -> dict[str, str]:
    marks = {"run-id": job.run_id, "run": job.ref.name, "item-id": str(job.item_id),
             "queue": job.queue, "entity": job.entity, "agent": job.agent}
    return {LABEL_PREFIX + key: value for key, value in marks.items() if value}


def _merge(metadata: dict[str, Any], key: str, values: dict[str, str]) -> None:
    metadata[key] = {**(metadata.get(key) or {}), **values}


def label_value(value: str) -> str:
    """``value`` as a valid label value (63 characters, letters, digits, ``-_.``)."""
    return _LABEL_VALUE_BAD.sub("-", value)[:63].strip("-_.")


def pull_secret_name(ref: RunRef) -> str:
    return f"{ref.name}-pull"


def pull_secret(job: JobContext, namespace: str) -> dict[str, Any] | None:
    """The run's image pull secret (``kubernetes.io/dockerconfigjson``), or None."""
    if not job.pull_auth or not job.image:
        return None
    first = job.image.split("/", 1)[0]
    registry = first if ("." in first or ":" in first or first == "localhost") \
        and "/" in job.image else "https://index.docker.io/v1/"
    user, password = job.pull_auth.get("username", ""), job.pull_auth.get("password", "")
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    config = {"auths": {registry: {"username": user, "password": password, "auth": auth}}}
    data = base64.b64encode(json.dumps(config).encode()).decode()
    return {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
            "metadata": {"name": pull_secret_name(job.ref), "namespace": namespace,
                         "labels": {RUN_LABEL: label_value(job.ref.name)}},
            "data": {".dockerconfigjson": data}}
