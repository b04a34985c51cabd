"""Secrets stay out of everything relaunch shows or records, masked by value: a
queue-store password (PostgreSQL accepts any with trust auth, so the test can put one
in the URL), an agent env secret filled into the queue config under a secret-looking
key and one under an innocent key (inside a URL), never reach flow-run or task-run
data, Prefect logs (even when the job prints one), the job artifact, events, job
status and list, the agent's output, any store row or any file relaunch wrote (the
sweep of tests/support/secret_sweep.py; test_secret_sweep.py covers the other
resources and secrets)."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

from tests.support.fixtures.prefect import JOBS
from tests.support.secret_sweep import files_under, hits, prefect_records, store_rows

DATASET_KEY = "dk-5522-hidden"
SECRETS = ("sekret-pw-123", "tok-987-secret", DATASET_KEY)


def test_store_password_and_env_secrets_are_masked_everywhere(relaunch, api, prefect_api,
                                                              cli_env, postgres_url, out_dir):
    since = datetime.datetime.now(datetime.UTC).isoformat()
    url = postgresql_with_password(postgres_url, "sekret-pw-123")
    env = {"RELAUNCH_DATABASE_URL": url, "MY_API_TOKEN": "tok-987-secret",
           "DATASET_KEY": DATASET_KEY}
    config = json.dumps({"env": {
        "API_TOKEN": "${MY_API_TOKEN}",
        "DATASET_URL": "https://reader:${DATASET_KEY}@data.example/set"}})  # innocent key
    assert relaunch("queue", "create", "secrets", "-r", "local-process", "--config", config,
                    env=env).code == 0
    run_config = {"out": str(out_dir), "print_env": "DATASET_URL"}
    launched = relaunch("launch", "-q", "secrets", "--code", str(JOBS), "-E", "python3 record.py",
                        "--run-config", json.dumps(run_config), "--json", env=env)
    job = launched.json()["id"]
    agent = relaunch("launch-agent", "-q", "secrets", "--until-idle", env=env, timeout=180)
    assert agent.code == 0, agent.err[-2000:]
    record = json.loads((out_dir / f"{job}.jsonl").read_text())
    assert record["env"]  # the job itself ran (and got its values through the queue config)
    output = relaunch("job", "logs", str(job), env=env).out
    assert f"DATASET_URL=https://reader:{DATASET_KEY}@data.example/set" in output  # its own

    runs = api.flow_runs(f"secrets-{job}")
    assert runs and runs[0]["state_type"] == "COMPLETED"
    logs = api.logs(runs[0]["id"])
    assert "DATASET_URL=https://reader:***@data.example/set" in logs  # the job's line, masked
    artifacts = json.dumps(api.artifacts(runs[0]["id"]))
    assert "https://reader:***@data.example/set" in artifacts
    seen = {"agent stdout": agent.out, "agent stderr": agent.err}
    for command in (("job", "status", str(job), "--json"), ("job", "list", "--json"),
                    ("queue", "show", "secrets", "--json")):
        seen[" ".join(command)] = relaunch(*command, env=env).out
    seen.update(prefect_records(prefect_api, since))
    seen.update(store_rows(url))
    seen.update(files_under(Path(cli_env["RELAUNCH_DATA_DIR"]), skip=("output.log",)))
    found = hits(seen, dict(enumerate(SECRETS)))
    assert not found, "\n".join(found)


def postgresql_with_password(url: str, password: str) -> str:
    scheme, _, rest = url.partition("://")
    user, _, host = rest.partition("@")
    return f"{scheme}://{user}:{password}@{host}"
