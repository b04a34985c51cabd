"""Registries end to end and at unit level.

Real services: the Docker daemon, Debian's docker-registry (open on
RELAUNCH_TEST_REGISTRY, htpasswd auth on RELAUNCH_TEST_AUTH_REGISTRY) and the session's
Prefect server (which stores the DockerRegistryCredentials block). The AWS API is
moto's server (an emulator, over its real HTTP protocol) in the ECR tests.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from launch_core.backends.ecr import EcrRegistry
from launch_core.backends.gcp import ArtifactRegistry
from launch_core.backends.local_registry import LocalDaemon
from launch_core.backends.oci.registry import AcrRegistry, OciRegistry
from launch_core.backends.registries import detect_kind, make_registry
from launch_core.backends.registry import RegistryAuthError, RegistryError
from tests.support.docker import (
    aws_env,
    create_queue,
    enqueue,
    moto_calls,
    registry_tags,
    reset_moto_calls,
    run_agent,
    write_agent_config,
    write_code,
)

GET_TOKEN = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken"


def _save_credentials_block(cli_env, name: str, docker_env) -> None:
    """Save a prefect-docker DockerRegistryCredentials block in the session's server."""
    script = ("import os\n"
              "from prefect_docker.credentials import DockerRegistryCredentials\n"
              "DockerRegistryCredentials(username=os.environ['U'], password=os.environ['P'],"
              " registry_url=os.environ['R']).save(os.environ['N'])\n")
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, env={**cli_env, "U": docker_env.user,
                                            "P": docker_env.password,
                                            "R": docker_env.auth_registry, "N": name})
    assert proc.returncode == 0, proc.stderr[-2000:]


def _auth_config(tmp_path, docker_env, names, **builder):
    return write_agent_config(
        tmp_path / "launch-config.yaml", names.queue,
        builder={"type": "docker", "destination": names.destination(docker_env.auth_registry),
                 "base-image": docker_env.base_image, **builder})


def test_auth_registry_without_credentials_fails_at_build_with_one_line_reason(
        relaunch, api, cli_store, docker_env, names, tmp_path):
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code)
    agent = run_agent(relaunch, _auth_config(tmp_path, docker_env, names))
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.stage) == ("failed", "build")
    assert "authentication" in item.reason.lower()
    assert "\n" not in item.reason and docker_env.password not in item.reason
    assert item.handle is None
    [run] = api.flow_runs(f"{names.queue}-{job}")
    assert run["state_type"] == "FAILED"


def test_auth_registry_with_credentials_block_succeeds_and_never_leaks_password(
        relaunch, api, cli_store, cli_env, docker_env, names, tmp_path):
    block = f"reg-{names.token}"
    _save_credentials_block(cli_env, block, docker_env)
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code)
    agent = run_agent(relaunch, _auth_config(tmp_path, docker_env, names,
                                             **{"credentials-block": block}))
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    image = item.handle["image"]
    assert image.startswith(names.destination(docker_env.auth_registry) + ":")
    tags = registry_tags(docker_env.auth_registry, names.repository,
                         (docker_env.user, docker_env.password))
    assert image.rpartition(":")[2] in tags

    secret = docker_env.password
    assert secret not in agent.out and secret not in agent.err
    assert secret not in (item.reason or "")
    assert all(secret not in (e.message or "") for e in cli_store.events_for(job))
    assert secret not in relaunch("job", "logs", str(job)).out
    assert secret not in relaunch("job", "status", str(job), "--json").out
    [run] = api.flow_runs(f"{names.queue}-{job}")
    lines = api.logs(run["id"])
    assert lines and all(secret not in line for line in lines)
    [artifact] = api.artifacts(run["id"])
    assert image in artifact["data"] and secret not in artifact["data"]


def test_ecr_registry_gets_token_from_moto_and_pushes(
        relaunch, cli_store, docker_env, names, moto_server, tmp_path):
    """AWS API: moto's server (emulator) answers get_authorization_token; the local
    open registry stands in for the ECR endpoint (registry.type ecr forces the kind)."""
    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code)
    config = write_agent_config(
        tmp_path / "launch-config.yaml", names.queue,
        builder={"type": "docker", "base-image": docker_env.base_image},
        registry={"type": "ecr", "uri": names.destination(docker_env.registry)})
    reset_moto_calls(moto_server)
    agent = run_agent(relaunch, config, env=aws_env(moto_server))
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    image = item.handle["image"]
    assert image.rpartition(":")[2] in registry_tags(docker_env.registry, names.repository)
    assert f"pushed {image}" in [e.message for e in cli_store.events_for(job)]
    assert GET_TOKEN in moto_calls(moto_server)


def test_ecr_registry_without_reachable_aws_api_fails_at_build(
        relaunch, cli_store, docker_env, names, moto_server, tmp_path):
    """Control for the test above: with the AWS endpoint (moto's server's address
    family, a closed port) unreachable, no token, so the build stage fails."""
    from tests.support.prefect_server import free_port

    code = write_code(tmp_path / "job")
    create_queue(relaunch, names.queue, names)
    job = enqueue(relaunch, names.queue, code)
    config = write_agent_config(
        tmp_path / "launch-config.yaml", names.queue,
        builder={"type": "docker", "base-image": docker_env.base_image},
        registry={"type": "ecr", "uri": names.destination(docker_env.registry)})
    env = {**aws_env(f"http://127.0.0.1:{free_port()}"), "AWS_MAX_ATTEMPTS": "1"}
    agent = run_agent(relaunch, config, env=env)
    assert agent.code == 0, agent.err[-3000:]
    item = cli_store.get_item(job)
    assert (item.state, item.stage) == ("failed", "build")
    assert "ECR token" in item.reason and "testing" not in item.reason


def test_ecr_auth_against_moto_gives_user_aws_and_a_password(moto_server, monkeypatch):
    """Unit level: EcrRegistry.auth() calls moto's server (emulator)."""
    import boto3

    for key, value in aws_env(moto_server).items():
        monkeypatch.setenv(key, value)
    registry = EcrRegistry("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
                           credentials=boto3.session.Session())
    assert registry.region == "us-east-1"
    reset_moto_calls(moto_server)
    auth = registry.auth()
    assert auth.username == "AWS"
    assert auth.password
    assert auth.password not in repr(auth)
    assert moto_calls(moto_server) == [GET_TOKEN]


def test_ecr_auth_without_credentials_is_an_auth_error(moto_server, monkeypatch, tmp_path):
    """moto's server (emulator) as endpoint, but no AWS credentials anywhere."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    registry = EcrRegistry("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app",
                           credentials=boto3.session.Session(region_name="us-east-1"))
    with pytest.raises(RegistryAuthError, match="ECR token for 123456789012"):
        registry.auth()


@pytest.mark.parametrize(("destination", "kind", "cls"), [
    ("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app", "ecr", EcrRegistry),
    ("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/app", "ecr", EcrRegistry),
    ("us-central1-docker.pkg.dev/project/repo/app", "gcp", ArtifactRegistry),
    ("gcr.io/project/app", "gcp", ArtifactRegistry),
    ("eu.gcr.io/project/app", "gcp", ArtifactRegistry),
    ("myteam.azurecr.io/app", "acr", AcrRegistry),
    ("127.0.0.1:5000/relaunch-test/app", "oci", OciRegistry),
    ("registry.example.com/team/app", "oci", OciRegistry),
    ("amazonaws.com.evil.example/app", "oci", OciRegistry),
])
def test_make_registry_detects_kind_from_host(destination, kind, cls):
    registry = make_registry(destination)
    assert detect_kind(destination) == kind
    assert type(registry) is cls and registry.kind == kind
    assert registry.image("abc") == f"{destination}:abc"


def test_make_registry_kind_override_local_daemon_and_errors():
    ecr = make_registry("127.0.0.1:5000/x", "ecr", region="eu-west-1")
    assert isinstance(ecr, EcrRegistry) and ecr.region == "eu-west-1"
    assert ecr.image("t") == "127.0.0.1:5000/x:t"
    assert isinstance(make_registry("127.0.0.1:5000/x", "gcr"), ArtifactRegistry)
    assert isinstance(make_registry(None), LocalDaemon)
    assert make_registry(None).kind == "local"
    with pytest.raises(RegistryError, match="not supported"):
        make_registry("127.0.0.1:5000/x", "quay")
    with pytest.raises(RegistryError, match="HOST/REPOSITORY"):
        make_registry("just-a-host")


def test_ecr_region_comes_from_host():
    registry = make_registry("210987654321.dkr.ecr.ap-south-1.amazonaws.com/app")
    assert isinstance(registry, EcrRegistry) and registry.region == "ap-south-1"
