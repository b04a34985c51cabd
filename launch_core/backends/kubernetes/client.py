"""Which Kubernetes cluster and namespace a run goes to, and an API client for it.

The cluster comes from the queue config's ``configFile``/``context`` when it names
either, else from the prefect-kubernetes ``KubernetesClusterConfig`` block the agent's
RELAUNCH_KUBE_CLUSTER_CONFIG_BLOCK names, else from the agent's own service account
when the agent runs in a cluster (KUBERNETES_SERVICE_HOST/PORT set and a token file
present), else from the kube config (KUBECONFIG or ~/.kube/config, its current
context).

The namespace, first found: the manifest's ``metadata.namespace``, the queue config's
``namespace`` (both the admin's only: guardrails), the agent's RELAUNCH_KUBE_NAMESPACE
(the namespace for runs, apart from the agent's own and its Secret), the agent's own
namespace in a cluster, the kube context's, ``default``.

``kubernetes_asyncio`` is imported inside the functions, so that ``launch_core``
imports without the ``kubernetes`` extra.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from launch_core.errors import InvalidInput, LaunchError, Unavailable

T = TypeVar("T")

# Where a pod's service account (token, ca.crt, namespace) is mounted; tests and
# unusual mounts point elsewhere with this variable.
SERVICE_ACCOUNT_DIR_ENV = "RELAUNCH_KUBE_SERVICE_ACCOUNT_DIR"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
# The KubernetesClusterConfig block (prefect-kubernetes) an agent reaches its cluster with.
BLOCK_ENV = "RELAUNCH_KUBE_CLUSTER_CONFIG_BLOCK"
# Where runs go when their queue's config names no namespace (the agent's setting).
NAMESPACE_ENV = "RELAUNCH_KUBE_NAMESPACE"


@dataclass(frozen=True)
class ClusterChoice:
    """How to reach the cluster: a kube config file and context (None: the
    defaults), kept in a run's handle so another agent reaches the same cluster."""

    config_file: str | None = None
    context: str | None = None
    block: str | None = field(default_factory=lambda: os.environ.get(BLOCK_ENV) or None)

    def as_handle(self) -> dict[str, str | None]:
        return {"config_file": self.config_file, "context": self.context,
                "block": self.block}

    @classmethod
    def from_handle(cls, handle: dict[str, Any]) -> ClusterChoice:
        return cls(handle.get("config_file"), handle.get("context"), handle.get("block"))

    @property
    def chosen_by_queue(self) -> bool:
        return self.config_file is not None or self.context is not None

    @property
    def uses_block(self) -> bool:
        return self.block is not None and not self.chosen_by_queue

    @property
    def in_cluster(self) -> bool:
        """Whether the agent's service account is used (nothing chosen, in a pod)."""
        return not self.chosen_by_queue and self.block is None and in_cluster()


def service_account_dir() -> Path:
    return Path(os.environ.get(SERVICE_ACCOUNT_DIR_ENV) or SERVICE_ACCOUNT_DIR)


def in_cluster() -> bool:
    """Whether this process runs in a pod: the service host and port are set and the
    service account's token is mounted."""
    return bool(os.environ.get("KUBERNETES_SERVICE_HOST")
                and os.environ.get("KUBERNETES_SERVICE_PORT")
                and (service_account_dir() / "token").is_file())


def kube_config_path(config_file: str | None) -> str:
    """The kube config file to read: the one chosen, else KUBECONFIG, else ~/.kube/config."""
    chosen = config_file or os.environ.get("KUBECONFIG") or "~/.kube/config"
    return os.path.expanduser(chosen)


def resolve_namespace(manifest: dict[str, Any], queue_namespace: str | None,
                      cluster: ClusterChoice) -> str:
    """The namespace a run goes to (the order is in this module's docstring)."""
    metadata = manifest.get("metadata") or {}
    if metadata.get("namespace"):
        return str(metadata["namespace"])
    if queue_namespace:
        return queue_namespace
    if os.environ.get(NAMESPACE_ENV):
        return os.environ[NAMESPACE_ENV]
    if cluster.in_cluster:
        own = service_account_dir() / "namespace"
        if own.is_file() and own.read_text().strip():
            return own.read_text().strip()
    return context_namespace(cluster) or "default"


def context_namespace(cluster: ClusterChoice) -> str | None:
    """The namespace of the kube config's context (chosen or current), if it sets one."""
    if cluster.uses_block:
        kube_config, context = cluster_block(cluster.block or "")
        wanted = context or kube_config.get("current-context")
        for entry in kube_config.get("contexts") or []:
            if entry.get("name") == wanted:
                return (entry.get("context") or {}).get("namespace") or None
        return None
    path = kube_config_path(cluster.config_file)
    if not Path(path.split(os.pathsep)[0]).is_file():
        return None
    import yaml
    from kubernetes_asyncio.config import ConfigException, list_kube_config_contexts

    try:
        contexts, current = list_kube_config_contexts(path)
    except (ConfigException, yaml.YAMLError, OSError, ValueError, AttributeError, TypeError):
        return None  # a broken kube config: the client, loading it, says what is wrong
    wanted = cluster.context or (current or {}).get("name")
    for context in contexts:
        if context.get("name") == wanted:
            return (context.get("context") or {}).get("namespace") or None
    return None


async def api_client(cluster: ClusterChoice) -> Any:
    """A ``kubernetes_asyncio`` ApiClient for ``cluster`` (the caller closes it).

    Raises InvalidInput when no configuration is found or the context is unknown.
    """
    import yaml
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    try:
        if cluster.uses_block:
            kube_config, context = cluster_block(cluster.block or "")
            await config.load_kube_config_from_dict(
                kube_config, context=context, client_configuration=configuration)
        elif cluster.in_cluster:
            folder = service_account_dir()
            config.incluster_config.InClusterConfigLoader(
                token_filename=str(folder / "token"),
                cert_filename=str(folder / "ca.crt")).load_and_set(configuration)
        else:
            path = kube_config_path(cluster.config_file)
            if not any(Path(part).is_file() for part in path.split(os.pathsep)):
                raise InvalidInput(f"kubernetes: no cluster configuration: not in a pod, and "
                                   f"no kube config at {path} (configFile, KUBECONFIG)")
            await config.load_kube_config(config_file=path,
                                          context=cluster.context,
                                          client_configuration=configuration,
                                          persist_config=False)
    except (config.ConfigException, yaml.YAMLError, OSError) as exc:
        where = ("configFile/context" if cluster.chosen_by_queue else
                 f"the block {cluster.block!r} ({BLOCK_ENV})" if cluster.uses_block else
                 "in-cluster service account or kube config")
        raise InvalidInput(f"kubernetes: no usable cluster configuration ({where}): "
                           f"{config_error(exc)}") from None
    return client.ApiClient(configuration)


_EXEC_FAILED = re.compile(r"exec: process returned -?\d+")


def config_error(exc: BaseException) -> str:
    """One line saying why a kube config could not be loaded, masked. An exec
    plugin's failure says its exit code only: its stderr (which kubernetes_asyncio
    puts in the message) comes from a command run with the agent's environment."""
    from launch_core.masking import mask

    text = str(exc).strip()
    if text.startswith("exec:"):
        failed = _EXEC_FAILED.match(text)
        return (f"{failed.group(0)} (its output is not shown)" if failed else
                "the exec plugin failed (its output is not shown)")
    return mask(text.splitlines()[0]) if text else type(exc).__name__


@functools.cache
def cluster_block(name: str) -> tuple[dict[str, Any], str | None]:
    """The kube config and context of the KubernetesClusterConfig block ``name``; its
    credentials (tokens, keys, passwords) are masked wherever they would show."""
    from launch_core.backends.credentials import load_block
    from launch_core.masking import add_secret

    block = load_block("prefect_kubernetes:KubernetesClusterConfig", name, setting=BLOCK_ENV,
                       extra="kubernetes")
    kube_config = dict(block.config)
    for user in kube_config.get("users") or []:
        for key, value in (user.get("user") or {}).items():
            if key in ("token", "password", "client-key-data"):
                add_secret(value)
    return kube_config, block.context_name


class KubernetesApiError(LaunchError):
    """The cluster refused or failed a request (one line: object, status, message)."""


class KubernetesUnreachable(KubernetesApiError, Unavailable):
    """The API server did not answer, or answered 5xx: perhaps only for a while."""


def run_session(cluster: ClusterChoice, call: Callable[[Any], Awaitable[T]],
                about: dict[str, Any]) -> T:
    """``call(api client)`` on a private event loop, the client closed afterwards.
    Raises KubernetesApiError naming the object ``about`` describes (kind, name,
    namespace) when the API refuses, KubernetesUnreachable when it does not answer
    (or answers 5xx)."""

    async def session() -> T:
        async with await api_client(cluster) as api:
            return await call(api)

    import aiohttp
    from kubernetes_asyncio.client import ApiException

    try:
        return asyncio.run(session())
    except ApiException as exc:
        error = KubernetesUnreachable if (exc.status or 0) >= 500 else KubernetesApiError
        raise error(_describe(exc, about)) from None
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise KubernetesUnreachable(f"kubernetes: API server unreachable: "
                                    f"{type(exc).__name__}") from None


async def ignore(statuses: int | tuple[int, ...], call: Awaitable[Any]) -> Any:
    """``await call``; None when the API answers with one of ``statuses``."""
    from kubernetes_asyncio.client import ApiException

    try:
        return await call
    except ApiException as exc:
        if exc.status in ((statuses,) if isinstance(statuses, int) else statuses):
            return None
        raise


async def raw_json(call: Awaitable[Any]) -> dict[str, Any]:
    """The JSON body of a raw (``_preload_content=False``) call, which the client
    returns whatever its status: ApiException past a 2xx, as the client raises."""
    from kubernetes_asyncio.client import ApiException

    response = await call
    if not 200 <= response.status <= 299:
        error = ApiException(status=response.status, reason=response.reason)
        error.body = await response.text()
        raise error
    return dict(await response.json())


def _describe(exc: Any, about: dict[str, Any]) -> str:
    try:
        detail = json.loads(exc.body).get("message", "")
    except (TypeError, ValueError, AttributeError):
        detail = ""
    where = f"{about.get('kind', 'object')} {about.get('name')} in {about.get('namespace')}"
    return f"kubernetes: {where}: {exc.status} {exc.reason}: {detail}".rstrip(": ")[:300]
