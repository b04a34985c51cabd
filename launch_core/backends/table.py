"""The backend table: each kind (resource, builder, registry) maps names to
``module:Class`` and the extra that must be installed for it. Adding a backend is
one file and one line here; nothing else branches on a backend's name."""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any

from launch_core.errors import InvalidInput, MissingExtra


@dataclass(frozen=True)
class Plugin:
    """Where a backend's class lives, and the extra (``relaunch[extra]``) it needs."""

    target: str
    extra: str | None = None


BACKENDS: dict[str, dict[str, Plugin]] = {
    "resource": {
        "local-process": Plugin("launch_core.backends.local_process.resource:LocalProcessResource"),
        "local-container": Plugin(
            "launch_core.backends.local_container:LocalContainerResource"),
        "vertex": Plugin("launch_core.backends.vertex.resource:VertexResource", "gcp"),
        "sagemaker": Plugin("launch_core.backends.sagemaker.resource:SageMakerResource", "aws"),
        "kubernetes": Plugin("launch_core.backends.kubernetes.resource:KubernetesResource",
                             "kubernetes"),
    },
    "builder": {
        "noop": Plugin("launch_core.backends.noop:NoopBuilder"),
        "docker": Plugin("launch_core.backends.docker.builder:DockerBuilder"),
        "kaniko": Plugin("launch_core.backends.kaniko.builder:KanikoBuilder", "kubernetes"),
    },
    "registry": {
        "local": Plugin("launch_core.backends.local_registry:LocalDaemon"),
        "oci": Plugin("launch_core.backends.oci.registry:OciRegistry"),
        "acr": Plugin("launch_core.backends.oci.registry:AcrRegistry"),
        "ecr": Plugin("launch_core.backends.ecr:EcrRegistry", "aws"),
        "gcp": Plugin("launch_core.backends.gcp:ArtifactRegistry", "gcp"),
    },
}

# A module each extra brings: when it is missing, so is the extra. Backends import
# their dependencies lazily, so this is checked when a backend is loaded. (The Docker
# SDK is in the base install; the docker extra brings prefect-docker's credentials.)
EXTRA_MODULES = {"postgres": "psycopg", "docker": "prefect_docker", "aws": "boto3",
                 "gcp": "google.auth", "kubernetes": "kubernetes_asyncio"}


def names(kind: str) -> tuple[str, ...]:
    """The backend names of ``kind``, sorted."""
    return tuple(sorted(BACKENDS[kind]))


def load_class(kind: str, name: str) -> Any:
    """The class of the ``kind`` called ``name``, imported on first use.

    Raises InvalidInput listing the available names when ``name`` is unknown, and
    MissingExtra naming the extra to install when its module cannot be imported.
    """
    plugin = BACKENDS[kind].get(name)
    if plugin is None:
        raise InvalidInput(f"{kind} {name!r} is not available in this version "
                           f"(available: {', '.join(names(kind))})")
    if plugin.extra and not has_module(EXTRA_MODULES[plugin.extra]):
        raise MissingExtra(kind, name, plugin.extra)
    return import_target(plugin.target)


def import_target(target: str) -> Any:
    """The object a ``module:attribute`` string names, its module imported now."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def has_module(name: str) -> bool:
    """Whether ``name`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a parent package is missing, or None in sys.modules
        return False


def load_implementation(kind: str, name: str, *args: Any, **kwargs: Any) -> Any:
    """An instance of the ``kind`` called ``name`` (see ``load_class`` for errors)."""
    return load_class(kind, name)(*args, **kwargs)
