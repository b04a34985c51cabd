"""Fixtures and helpers for the tests that use Docker (builders, registries,
local-container, the starvation test): a real Docker daemon, real OCI registries
(Debian's docker-registry, open on RELAUNCH_TEST_REGISTRY and htpasswd-protected on
RELAUNCH_TEST_AUTH_REGISTRY), the session's Prefect server (tests/support/fixtures/prefect.py)
and, for the ECR path, moto's server as the AWS API emulator.

Start the services with ``eval "$(bash scripts/start-docker.sh)"``. Without them the
tests skip locally and fail under CI=true. tests/conftest.py loads this module as a
pytest plugin, so its fixtures serve every folder; a folder whose tests run agents
imports the Prefect-aware ``cli_env`` from tests/support/fixtures/prefect.py.

Everything a test creates is named uniquely per test (repository
``relaunch-test/<uuid>``, container label ``relaunch.test=<uuid>``) so parallel runs
do not collide; images, registry manifests and containers are removed at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from launch_core.store import QueueStore
from tests.support import RELAUNCH, require_service, serving, wait_for  # noqa: F401 (used by the tests)
from tests.support.prefect_server import free_port

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class DockerEnv:
    """The services of scripts/start-docker.sh, as the tests see them."""

    client: Any
    registry: str
    auth_registry: str
    user: str
    password: str = field(repr=False)
    base_image: str = "relaunch/python:bookworm"


@pytest.fixture
def agents() -> Iterator[list]:
    """Agent processes a test starts; any still running are killed by PID at the end."""
    started: list = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="session")
def docker_env() -> DockerEnv:
    """The Docker daemon and registries (skip locally / fail in CI when absent)."""
    names = ("RELAUNCH_TEST_DOCKER", "RELAUNCH_TEST_REGISTRY", "RELAUNCH_TEST_AUTH_REGISTRY",
             "RELAUNCH_TEST_REGISTRY_USER", "RELAUNCH_TEST_REGISTRY_PASSWORD",
             "RELAUNCH_TEST_BASE_IMAGE")
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        require_service("Docker", f"{', '.join(missing)} not set "
                        "(eval \"$(bash scripts/start-docker.sh)\")")
    try:
        import docker

        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:
        require_service("Docker", f"the daemon does not answer: {type(exc).__name__}")
    env = os.environ
    for host in (env["RELAUNCH_TEST_REGISTRY"], env["RELAUNCH_TEST_AUTH_REGISTRY"]):
        try:
            httpx.get(f"http://{host}/v2/", timeout=5)
        except httpx.HTTPError as exc:
            require_service("OCI registry", f"{host} does not answer: {type(exc).__name__}")
    return DockerEnv(client, env["RELAUNCH_TEST_REGISTRY"], env["RELAUNCH_TEST_AUTH_REGISTRY"],
                     env["RELAUNCH_TEST_REGISTRY_USER"], env["RELAUNCH_TEST_REGISTRY_PASSWORD"],
                     env["RELAUNCH_TEST_BASE_IMAGE"])


@dataclass
class Names:
    """Unique names for one test: repository, container label value."""

    token: str
    repository: str  # relaunch-test/<uuid>, no host

    @property
    def queue(self) -> str:
        """Queue name; flow runs are named <queue>-<item id>, unique per test."""
        return f"q-{self.token}"

    def destination(self, host: str) -> str:
        return f"{host}/{self.repository}"


def registry_tags(host: str, repository: str, auth: tuple[str, str] | None = None
                  ) -> list[str]:
    """Tags of ``repository`` in the registry at ``host`` (its HTTP API)."""
    response = httpx.get(f"http://{host}/v2/{repository}/tags/list", auth=auth, timeout=30)
    if response.status_code == 404:
        return []
    response.raise_for_status()
    return list(response.json().get("tags") or [])


def _delete_repository(host: str, repository: str, auth: tuple[str, str] | None) -> None:
    accept = "application/vnd.docker.distribution.manifest.v2+json, " \
             "application/vnd.oci.image.manifest.v1+json"
    try:
        for tag in registry_tags(host, repository, auth):
            url = f"http://{host}/v2/{repository}/manifests/{tag}"
            head = httpx.head(url, headers={"Accept": accept}, auth=auth, timeout=30)
            digest = head.headers.get("docker-content-digest")
            if digest:
                httpx.delete(f"http://{host}/v2/{repository}/manifests/{digest}", auth=auth,
                             timeout=30)
    except httpx.HTTPError:
        pass  # best effort


@pytest.fixture
def names(docker_env: DockerEnv) -> Iterator[Names]:
    """A unique repository and label for this test; its images, registry manifests and
    containers are removed afterwards."""
    token = uuid.uuid4().hex[:16]
    created = Names(token, f"relaunch-test/{token}")
    yield created
    client = docker_env.client
    for container in client.containers.list(all=True,
                                            filters={"label": f"relaunch.test={token}"}):
        try:
            container.remove(force=True)
        except Exception:
            pass
    for host in (docker_env.registry, docker_env.auth_registry):
        reference = created.destination(host)
        for image in client.images.list(name=reference):
            for tag in image.tags:
                if tag.startswith(reference + ":"):
                    try:
                        client.images.remove(tag, force=True)
                    except Exception:
                        pass
    _delete_repository(docker_env.registry, created.repository, None)
    _delete_repository(docker_env.auth_registry, created.repository,
                       (docker_env.user, docker_env.password))


@pytest.fixture
def cli_store(cli_env: dict[str, str]) -> Iterator[QueueStore]:  # noqa: F811
    """The SQLite queue store the console scripts of this test use."""
    data = Path(cli_env["RELAUNCH_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    opened = QueueStore(f"sqlite:///{data / 'relaunch.db'}")
    yield opened
    opened.dispose()


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """moto's server (AWS API emulator) on a free 127.0.0.1 port; stopped by PID."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("moto") / "moto.log"
    # The recorder lets tests see which AWS API calls reached the emulator.
    env = {**os.environ, "MOTO_ENABLE_RECORDING": "True",
           "MOTO_RECORDER_FILEPATH": str(log_path.parent / "recording.jsonl")}
    url = f"http://127.0.0.1:{port}"
    with serving([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], log_path,
                 f"{url}/moto-api/", "moto_server", env=env):
        yield url


def reset_moto_calls(moto_url: str) -> None:
    """Forget what moto's server recorded so far (other tests' calls, large S3 bodies
    among them), without reading it."""
    httpx.post(f"{moto_url}/moto-api/recorder/reset-recording", timeout=30)


def moto_calls(moto_url: str) -> list[str]:
    """The X-Amz-Target of every request moto's server recorded since the last reset
    (then reset)."""
    text = httpx.get(f"{moto_url}/moto-api/recorder/download-recording", timeout=30).text
    reset_moto_calls(moto_url)
    calls = []
    for line in text.splitlines():
        if line.strip():
            headers = {k.lower(): v for k, v in json.loads(line)["headers"].items()}
            calls.append(headers.get("x-amz-target", ""))
    return calls


def aws_env(moto_url: str) -> dict[str, str]:
    """Environment pointing boto3 at moto's server with dummy credentials."""
    return {"AWS_ENDPOINT_URL": moto_url, "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}


# --- helpers for the end-to-end tests ------------------------------------------------

MAIN = """\
import json, os, sys, time
print("hello from", os.environ["RELAUNCH_ITEM_ID"], flush=True)
print("config:", os.environ["RELAUNCH_RUN_CONFIG"], flush=True)
config = json.loads(os.environ["RELAUNCH_RUN_CONFIG"])
time.sleep(config.get("sleep", 0))
print("done", flush=True)
sys.exit(config.get("exit", 0))
"""


def write_code(root: Path, main: str = MAIN, **files: str) -> Path:
    """A tiny job directory: main.py (prints a line and its run config) and ``files``."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "main.py").write_text(main)
    for name, text in files.items():
        (root / name.replace("__", ".")).write_text(text)
    return root


def write_agent_config(path: Path, queue: str, **extra: Any) -> Path:
    """A launch-config.yaml (JSON is YAML) for the agent."""
    path.write_text(json.dumps({"queues": [queue], **extra}))
    return path


def create_queue(relaunch, name: str, names: Names, config: dict[str, Any] | None = None
                 ) -> None:
    """A local-container queue whose containers carry this test's label."""
    queue_config = {"labels": {"relaunch.test": names.token}, **(config or {})}
    result = relaunch("queue", "create", name, "-r", "local-container",
                      "--config", json.dumps(queue_config))
    assert result.code == 0, result.err


def enqueue(relaunch, queue: str, code: Path, *extra: str, **run_config: Any) -> int:
    result = relaunch("launch", "-q", queue, "--code", str(code), "-E", "python3 main.py",
                      "--run-config", json.dumps(run_config), "--json", *extra)
    assert result.code == 0, result.err
    return int(result.json()["id"])


def run_agent(relaunch, config: Path, env: dict[str, str] | None = None):
    """``relaunch launch-agent -c CONFIG --until-idle`` (bounded)."""
    return relaunch("launch-agent", "-c", str(config), "--until-idle", env=env, timeout=300)


def containers_of(docker_env: DockerEnv, names: Names, item_id: int) -> list[Any]:
    """The item's containers as the list call saw them (id, status): sparse, since
    inspecting each one after the list races with the agent removing it."""
    return docker_env.client.containers.list(all=True, sparse=True, filters={
        "label": [f"relaunch.item={item_id}", f"relaunch.test={names.token}"]})


def start_agent(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[str]:
    out = open(log, "w")  # noqa: SIM115
    return subprocess.Popen([RELAUNCH, "launch-agent", *args], env=env, cwd=log.parent,
                            stdout=out, stderr=subprocess.STDOUT, text=True)


