"""Which Kubernetes cluster and namespace a run goes to, and an API client for it.

The cluster comes from the queue config's ``configFile``/``context`` when it names
either, else from the agent's own service account when the agent runs in a cluster
(KUBERNETES_SERVICE_HOST/PORT set and a token file present), else from the kube
config (KUBECONFIG or ~/.kube/config, its current context).

The namespace, first found: the manifest's ``metadata.namespace``, the queue config's
``namespace``, the agent's own namespace in a cluster, the kube context's, ``default``.

``kubernetes_asyncio`` is imported inside the functions, so that ``launch_core``
imports without the ``kubernetes`` extra.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from launch_core.errors import InvalidInput

# Where a pod's service account (token, ca.crt, namespace) is mounted; tests and
# unusual mounts point elsewhere with this variable.
SERVICE_ACCOUNT_DIR_ENV = "RELAUNCH_KUBE_SERVICE_ACCOUNT_DIR"
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class ClusterChoice:
    """How to reach the cluster: a kube config file and context (None: the
    defaults), kept in a run's handle so another agent reaches the same cluster."""

    config_file: str | None = None
    context: str | None = None

    def as_handle(self) -> dict[str, str | None]:
        return {"config_file": self.config_file, "context": self.context}

    @classmethod
    def from_handle(cls, handle: dict[str, Any]) -> ClusterChoice:
        return cls(handle.get("config_file"), handle.get("context"))

    @property
    def in_cluster(self) -> bool:
        """Whether the agent's service account is used (nothing chosen, in a pod)."""
        return self.config_file is None and self.context is None and in_cluster()


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
    if cluster.in_cluster:
        own = service_account_dir() / "namespace"
        if own.is_file() and own.read_text().strip():
            return own.read_text().strip()
    return context_namespace(cluster) or "default"


def context_namespace(cluster: ClusterChoice) -> str | None:
    """The namespace of the kube config's context (chosen or current), if it sets one."""
    path = kube_config_path(cluster.config_file)
    if not Path(path.split(os.pathsep)[0]).is_file():
        return None
    from kubernetes_asyncio.config import ConfigException, list_kube_config_contexts

    try:
        contexts, current = list_kube_config_contexts(path)
    except ConfigException:
        return None
    wanted = cluster.context or (current or {}).get("name")
    for context in contexts:
        if context.get("name") == wanted:
            return (context.get("context") or {}).get("namespace") or None
    return None


async def api_client(cluster: ClusterChoice) -> Any:
    """A ``kubernetes_asyncio`` ApiClient for ``cluster`` (the caller closes it).

    Raises InvalidInput when no configuration is found or the context is unknown.
    """
    from kubernetes_asyncio import client, config

    configuration = client.Configuration()
    try:
        if cluster.in_cluster:
            folder = service_account_dir()
            config.incluster_config.InClusterConfigLoader(
                token_filename=str(folder / "token"),
                cert_filename=str(folder / "ca.crt")).load_and_set(configuration)
        else:
            await config.load_kube_config(config_file=kube_config_path(cluster.config_file),
                                          context=cluster.context,
                                          client_configuration=configuration,
                                          persist_config=False)
    except (config.ConfigException, OSError) as exc:
        where = "configFile/context" if cluster.config_file or cluster.context else \
            "in-cluster service account or kube config"
        raise InvalidInput(f"kubernetes: no usable cluster configuration ({where}): "
                           f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
                           ) from None
    return client.ApiClient(configuration)
