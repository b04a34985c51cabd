"""Secrets stay out of Prefect: a queue-store password (PostgreSQL accepts any with
trust auth, so the test can put one in the URL) and an agent env secret filled into
the queue config never reach flow-run parameters, logs or the job artifact."""

from __future__ import annotations

import json

from tests.flows.conftest import JOBS


def test_store_password_and_env_secret_never_reach_prefect(relaunch, api, cli_env, postgres_url,
                                                          out_dir):
    url = postgresql_with_password(postgres_url, "sekret-pw-123")
    env = {"RELAUNCH_DATABASE_URL": url, "MY_API_TOKEN": "tok-987-secret"}
    config = json.dumps({"env": {"API_TOKEN": "${MY_API_TOKEN}"}})
    assert relaunch("queue", "create", "secrets", "-r", "local-process", "--config", config,
                    env=env).code == 0
    launched = relaunch("launch", "-q", "secrets", "--code", str(JOBS), "-E", "python3 record.py",
                        "--run-config", json.dumps({"out": str(out_dir)}), "--json", env=env)
    job = launched.json()["id"]
    agent = relaunch("launch-agent", "-q", "secrets", "--until-idle", env=env, timeout=180)
    assert agent.code == 0, agent.err[-2000:]
    record = json.loads((out_dir / f"{job}.jsonl").read_text())
    assert record["env"]  # the job itself ran (and got its token through the queue config)

    runs = api.flow_runs(f"secrets-{job}")
    assert runs and runs[0]["state_type"] == "COMPLETED"
    seen = json.dumps(runs) + json.dumps(api.logs(runs[0]["id"]))
    seen += json.dumps(api.artifacts(runs[0]["id"])) + agent.out + agent.err
    for secret in ("sekret-pw-123", "tok-987-secret"):
        assert secret not in seen


def postgresql_with_password(url: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{password}@{host}"
