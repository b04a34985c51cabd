"""`prefect deploy --all` with the project's prefect.yaml, and the block types,
against the session's real Prefect server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent


def _prefect(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "prefect"), "--no-prompt", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def test_deploy_all_creates_agent_with_schedule_and_concurrency_limit(cli_env, prefect_api):
    env = {**cli_env, "RELAUNCH_PROJECT_DIR": str(ROOT), "RELAUNCH_WORK_POOL": "relaunch-test",
           "RELAUNCH_AGENT_QUEUE": "gpu"}
    created = _prefect(env, "work-pool", "create", "relaunch-test", "--type", "process")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = _prefect(env, "deploy", "--all")
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    client = httpx.Client(base_url=prefect_api, timeout=30)
    agent = client.get("/deployments/name/launch-agent/relaunch-agent").json()
    assert agent["parameters"]["queues"] == ["gpu"]
    assert agent["concurrency_limit"] == 1 or agent["global_concurrency_limit"]["limit"] == 1
    assert agent["concurrency_options"]["collision_strategy"] == "CANCEL_NEW"
    [schedule] = agent["schedules"]
    assert schedule["schedule"]["interval"] == 60
    job = client.get("/deployments/name/launch-job/launch-job").json()
    assert job["entrypoint"] == "flows/launch_job.py:launch_job"


def test_block_types_register_and_agent_config_block_round_trips(cli_env, prefect_api):
    registered = _prefect(cli_env, "block", "register", "-m", "blocks")
    assert registered.returncode == 0, registered.stdout + registered.stderr
    script = (
        "from blocks import AgentConfigBlock, QueueStoreBlock\n"
        "store = QueueStoreBlock(url='postgresql://u:s3cret@127.0.0.1/db')\n"
        "AgentConfigBlock(config={'queues': ['q'], 'max_jobs': 3}, queue_store=store)"
        ".save('test-agent', overwrite=True)\n"
        "data = AgentConfigBlock.load('test-agent').as_config_data()\n"
        "print(data['database'], data['max_jobs'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=cli_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["postgresql://u:s3cret@127.0.0.1/db", "3"]
    # The URL is a secret: the API does not return it in clear.
    docs = [doc for anonymous in (True, False) for doc in httpx.post(
        f"{prefect_api}/block_documents/filter",
        json={"block_documents": {"is_anonymous": {"eq_": anonymous}}}).json()]
    assert docs, "the saved block documents should be listed"
    assert all("s3cret" not in str(doc["data"]) for doc in docs)
    assert "relaunch-agent-config" in {doc["block_type"]["slug"] for doc in docs}


def test_agent_loads_its_config_and_store_from_blocks(cli_env, relaunch, tmp_path):
    """No config file and no RELAUNCH_DATABASE_URL: the agent gets both from blocks."""
    store_url = f"sqlite:///{tmp_path / 'block-store.db'}"
    env = {"RELAUNCH_DATABASE_URL": store_url}
    assert relaunch("queue", "create", "bq", "-r", "local-process", env=env).code == 0
    job = relaunch("launch", "-q", "bq", "-d", "none", "-E", "python3 -c print(42)", "--json",
                   env=env).json()["id"]
    script = (
        "from blocks import AgentConfigBlock, QueueStoreBlock\n"
        f"store = QueueStoreBlock(url={store_url!r})\n"
        "AgentConfigBlock(config={'queues': ['bq'], 'max_jobs': 2, 'entity': 'team'},"
        " queue_store=store).save('block-agent', overwrite=True)\n"
    )
    saved = subprocess.run([sys.executable, "-c", script], env=cli_env, cwd=ROOT,
                           capture_output=True, text=True, timeout=120)
    assert saved.returncode == 0, saved.stderr[-2000:]
    agent = relaunch("launch-agent", "--config-block", "block-agent", "--until-idle",
                     timeout=180)
    assert agent.code == 0, agent.err[-2000:]
    status = relaunch("job", "status", str(job), "--json", env=env).json()
    assert (status["state"], status["exit_code"]) == ("finished", 0)
    assert relaunch("job", "logs", str(job), env=env).out.strip() == "42"
