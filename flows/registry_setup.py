"""The destination registry of a job, with credentials from Prefect blocks."""

from __future__ import annotations

from typing import Any

from launch_core.config import AgentConfig
from launch_core.registries import Registry, RegistryAuth, detect_kind, make_registry


async def registry_for(config: AgentConfig, queue_builder: dict[str, Any]) -> Registry:
    """The registry images go to: the queue's ``builder.destination``, else the
    agent's ``builder.destination``, else its legacy ``registry.uri``; credentials
    from ``builder.credentials-block`` (the block type depends on the registry)."""
    legacy = config.registry
    destination = (queue_builder.get("destination") or config.builder.destination
                   or (legacy.uri if legacy else None))
    kind = legacy.type if legacy and legacy.type else None
    region = config.environment.region if config.environment else None
    credentials: dict[str, Any] = {}
    block = config.builder.credentials_block
    if destination and block:
        credentials = await _load_credentials(block, kind or detect_kind(destination))
    return make_registry(destination, kind, region=region, **credentials)


async def _load_credentials(block: str, kind: str) -> dict[str, Any]:
    if kind == "ecr":
        from prefect_aws import AwsCredentials

        aws: AwsCredentials = await AwsCredentials.aload(block)
        return {"aws_session": aws.get_boto3_session()}
    if kind in ("gcp", "gcr"):
        from prefect_gcp import GcpCredentials

        gcp: GcpCredentials = await GcpCredentials.aload(block)
        return {"gcp_credentials": gcp.get_credentials_from_service_account()}
    from prefect_docker.credentials import DockerRegistryCredentials

    docker: DockerRegistryCredentials = await DockerRegistryCredentials.aload(block)
    return {"auth": RegistryAuth(docker.username, docker.password.get_secret_value())}
