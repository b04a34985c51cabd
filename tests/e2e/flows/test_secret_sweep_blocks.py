"""Credentials blocks load where the agent loads them: in a worker thread of an async
flow run (the pipeline calls a resource through ``asyncio.to_thread``, which carries
the flow's context). There Prefect's ``Block.load`` returns a coroutine unless told to
run synchronously, so a loader that called it plainly failed every job with
``'coroutine' object has no attribute ...``. Each loader is called that way against the
session's Prefect server, and the block's secret is masked afterwards."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from prefect import flow
from prefect.settings import PREFECT_API_URL, temporary_settings

from launch_core.masking import mask
from tests.e2e.backends.vertex.test_vertex_credentials import _service_account

KUBE_TOKEN = f"kube-token-{uuid.uuid4().hex[:8]}"


def _in_flow_worker_thread(fn: Any, *args: Any) -> Any:
    @flow(name="secret-sweep-block-load")
    async def load() -> Any:
        return await asyncio.to_thread(fn, *args)

    return asyncio.run(load())


def test_vertex_credentials_block_loads_in_a_flow_worker_thread(prefect_api):
    from prefect_gcp import GcpCredentials

    from launch_core.backends.vertex.resource import VertexSettings, _credentials

    name = f"gcp-{uuid.uuid4().hex[:10]}"
    info, _ = _service_account()
    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        GcpCredentials(service_account_info=info).save(name)
        settings = VertexSettings(None, "us-east1", "http://127.0.0.1:9", name)
        credentials, project = _in_flow_worker_thread(_credentials, settings)
    assert (project, credentials.service_account_email) == ("block-proj", info["client_email"])
    line = info["private_key"].splitlines()[3]
    assert mask(f"key {line}") == "key ***"


def test_kubernetes_cluster_block_loads_in_a_flow_worker_thread(prefect_api):
    from prefect_kubernetes import KubernetesClusterConfig

    from launch_core.backends.kubernetes.client import cluster_block

    name = f"kube-{uuid.uuid4().hex[:10]}"
    config = {"apiVersion": "v1", "kind": "Config", "current-context": "c",
              "clusters": [{"name": "k", "cluster": {"server": "https://127.0.0.1:9"}}],
              "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
              "users": [{"name": "u", "user": {"token": KUBE_TOKEN}}]}
    with temporary_settings(updates={PREFECT_API_URL: prefect_api}):
        KubernetesClusterConfig(config=config, context_name="c").save(name)
        kube_config, context = _in_flow_worker_thread(cluster_block, name)
    assert (context, kube_config["users"][0]["user"]["token"]) == ("c", KUBE_TOKEN)
    assert mask(f"Bearer {KUBE_TOKEN}") == "Bearer ***"
