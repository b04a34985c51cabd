"""The agent's image (deployments/kubernetes/Dockerfile), built from the local base
image on the real Docker daemon, without PyPI in the build: pip installs relaunch
from the repository and its dependencies from a wheelhouse made on the host
(``pip wheel``, the host's own pip configuration) and served on 127.0.0.1.

Then the image's agent runs as the Deployment runs it: the ConfigMap's own
launch-config.yaml, the queue store in PostgreSQL, the session's Prefect server, and
in-cluster settings (KUBERNETES_SERVICE_HOST/PORT and a service account mounted where
a pod has it) and the Deployment's own ``env``. Against the Kubernetes test double of
tests/kubernetes (kmock's API emulator over HTTPS on 127.0.0.1 with a kwok-like job
controller running pods on the local Docker daemon), it runs a job end to end in the
runs' namespace, apart from its own.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from launch_core.store import QueueStore
from tests.support import RELAUNCH
from tests.support.docker import DockerEnv
from tests.support.kube_double import KubeDouble, running

pytestmark = pytest.mark.soak  # the agent image build (minutes): `make soak`

ROOT = Path(__file__).resolve().parents[3]
HERE = ROOT / "deployments" / "kubernetes"
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a wheelhouse of relaunch's [postgres,kubernetes] dependencies."""
    folder = tmp_path_factory.mktemp("wheelhouse")
    # async-timeout: redis needs it below Python 3.11.3 (Debian bookworm's 3.11.2);
    # the host's resolver, on a newer 3.11, leaves it out.
    made = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "-c",
                           str(ROOT / "constraints.txt"), "-w", str(folder),
                           f"{ROOT}[postgres,kubernetes]", "hatchling", "async-timeout"],
                          capture_output=True, text=True, timeout=600)
    assert made.returncode == 0, f"pip wheel (needs PyPI or a mirror): {made.stderr[-2000:]}"
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def agent_image(docker_env: DockerEnv, wheelhouse: str) -> Iterator[str]:
    """The agent image, built as the Dockerfile says (removed afterwards)."""
    import docker.errors

    tag = f"relaunch-test/agent-{uuid.uuid4().hex[:12]}:latest"
    try:
        docker_env.client.images.build(
            path=str(ROOT), dockerfile="deployments/kubernetes/Dockerfile", tag=tag,
            buildargs={"BASE_IMAGE": docker_env.base_image,
                       "PIP_OPTIONS": f"--no-index --find-links {wheelhouse}"},
            network_mode="host", rm=True, forcerm=True, timeout=1200)
    except docker.errors.BuildError as exc:
        tail = [str(line.get("stream") or line.get("error") or "") for line in exc.build_log]
        pytest.fail(f"agent image build failed: {''.join(tail[-20:])}")
    yield tag
    docker_env.client.images.remove(tag, force=True)


def test_the_image_runs_relaunch_as_non_root(docker_env: DockerEnv, agent_image: str) -> None:
    config = docker_env.client.images.get(agent_image).attrs["Config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["relaunch"] and config["Cmd"] == ["launch-agent"]
    out = docker_env.client.containers.run(
        agent_image, entrypoint="sh", remove=True,
        command=["-c", "id -u; relaunch launch-agent --help; python -c 'import "
                 "kubernetes_asyncio, kubernetes_validate, psycopg, prefect_kubernetes'"])
    text = out.decode()
    assert text.splitlines()[0] == "10001"
    assert "Poll queues and launch their jobs" in text


@pytest.fixture
def kube_double(docker_env: DockerEnv, tmp_path: Path) -> Iterator[KubeDouble]:
    """The Kubernetes test double (tests/support/kube_double.py)."""
    yield from running(KubeDouble(docker_env.client, uuid.uuid4().hex[:12],
                                  tmp_path / "kube-double"))


def test_the_images_agent_runs_a_job_in_its_cluster(
        docker_env: DockerEnv, agent_image: str, kube_double: KubeDouble, postgres_url: str,
        prefect_api: str, tmp_path: Path, cli_env: dict[str, str]) -> None:
    configmap = yaml.safe_load((HERE / "configmap.yaml").read_text())
    deployment = yaml.safe_load((HERE / "deployment.yaml").read_text())
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    deployment_env = {e["name"]: e["value"] for e in container.get("env") or []}
    settings = yaml.safe_load(configmap["data"]["launch-config.yaml"])
    entity, queue = settings["entity"], settings["queues"][0]
    host_env = {**cli_env, "RELAUNCH_DATABASE_URL": postgres_url,
                "KUBECONFIG": str(kube_double.kubeconfig(tmp_path / "kubeconfig.json"))}
    for args in (["queue", "create", queue, "-r", "kubernetes", "-e", entity, "--config",
                  '{"spec": {"template": {"spec": {"containers": [{"name": "main"}]}}}}'],
                 ["launch", "-q", queue, "-e", entity, "-d", docker_env.base_image, "-E",
                  "python3 -c 'print(\"hello from the cluster\")'"]):
        done = subprocess.run([RELAUNCH, *args], env=host_env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "launch-config.yaml").write_text(configmap["data"]["launch-config.yaml"])
    agent_namespace = deployment["metadata"]["namespace"]
    cluster = kube_double.service_account(tmp_path / "serviceaccount", agent_namespace)
    account = Path(cluster.pop("RELAUNCH_KUBE_SERVICE_ACCOUNT_DIR"))
    for path in (config_dir, account, *config_dir.iterdir(), *account.iterdir()):
        path.chmod(0o755 if path.is_dir() else 0o644)
    logs = _run_agent(docker_env, agent_image, {
        **deployment_env, "RELAUNCH_DATABASE_URL": postgres_url,
        "PREFECT_API_URL": prefect_api, **cluster},
        {config_dir: "/etc/relaunch", account: SERVICE_ACCOUNT})
    assert "launch config: /etc/relaunch/launch-config.yaml" in logs
    assert "agent stopped after launching 1 job(s)" in logs
    store = QueueStore(postgres_url)
    try:
        (item,) = store.list_items(queue_id=store.get_queue(entity, queue).id)
    finally:
        store.dispose()
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    jobs_namespace = deployment_env["RELAUNCH_KUBE_NAMESPACE"]
    assert jobs_namespace != agent_namespace
    assert list(kube_double.objects("jobs")) == [(jobs_namespace, f"relaunch-{item.run_id}")]
    shown = subprocess.run([RELAUNCH, "job", "logs", str(item.id)], env=host_env,
                           capture_output=True, text=True, timeout=120)
    assert "hello from the cluster" in shown.stdout, shown.stderr


def _run_agent(docker_env: DockerEnv, image: str, env: dict[str, str],
               mounts: dict[Path, str]) -> str:
    """``relaunch launch-agent --until-idle`` in ``image``, as the Deployment runs it;
    its output. Fails unless it exits 0."""
    container = docker_env.client.containers.run(
        image, detach=True, network_mode="host",
        command=["launch-agent", "--config", "/etc/relaunch/launch-config.yaml", "--until-idle"],
        environment={**env, "DO_NOT_TRACK": "1"}, labels={"relaunch.test": uuid.uuid4().hex},
        volumes={str(path): {"bind": bind, "mode": "ro"} for path, bind in mounts.items()})
    try:
        status = container.wait(timeout=300)
        logs = str(container.logs().decode())
    finally:
        container.remove(force=True)
    assert status["StatusCode"] == 0, logs[-3000:]
    return logs
