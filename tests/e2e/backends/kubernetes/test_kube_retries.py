"""End to end on kubernetes: a queue that retries OOM kills and raises its memory
variable (`--retry-on oom --retry-raise memory`). The Kubernetes test double runs each
pod's container with its ``limits.memory`` as the Docker memory limit, so the first run
is really OOMKilled; the retry runs under a new Job name with the raised memory."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

# Touches 200 MiB: killed under 48Mi, fine under 512Mi.
HUNGRY = ("import os; print('resume', os.environ.get('RELAUNCH_RESUME', '0'), flush=True); "
          "data = b'x' * (200 * 2**20); print('allocated', len(data), flush=True)")
CONFIG = {"namespace": "mem", "spec": {"template": {"spec": {"containers": [
    {"name": "main", "resources": {"limits": {"memory": "{{ memory }}"}}}]}}}}
VARIABLES = {"memory": {"type": "string", "enum": ["48Mi", "512Mi"], "default": "48Mi"}}


def _limits(manifest: dict) -> dict:
    [container] = manifest["spec"]["template"]["spec"]["containers"]
    return dict(container["resources"]["limits"])


def test_an_oom_killed_run_is_retried_with_the_raised_memory(
        relaunch, cli_store, kube_double, kube_env, docker_env, tmp_path: Path):
    created = relaunch("queue", "create", "mem", "-r", "kubernetes", "--config",
                       json.dumps(CONFIG), "--template-variables", json.dumps(VARIABLES),
                       "--retry", "1", "--retry-on", "oom", "--retry-raise", "memory")
    assert created.code == 0, created.err
    launched = relaunch("launch", "-q", "mem", "-d", docker_env.base_image, "-E",
                        "python3 -c " + shlex.quote(HUNGRY), "--json")
    assert launched.code == 0, launched.err
    job = int(launched.json()["id"])
    config = tmp_path / "launch-config.yaml"
    config.write_text(json.dumps({"queues": ["mem"]}))
    agent = relaunch("launch-agent", "-c", str(config), "--until-idle", env=kube_env,
                     timeout=300)
    assert agent.code == 0, agent.err[-3000:]

    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert (item.retries, item.resume_count, item.raised) == (1, 1, {"memory": "512Mi"})
    assert item.spec.template_values == {}  # the raise lives beside the spec
    first, retried = f"relaunch-{item.run_id}", f"relaunch-{item.run_id}-r1"
    assert kube_double.ever_created("jobs") == [first, retried]
    jobs = kube_double.objects("jobs")
    assert _limits(jobs[("mem", first)])["memory"] == "48Mi"
    assert _limits(jobs[("mem", retried)])["memory"] == "512Mi"
    status = relaunch("job", "status", str(job), "--json").json()
    assert status["last_retry"] == "retry 1 of 1 after OOM; raised memory 48Mi -> 512Mi"
    assert "allocated 209715200" in relaunch("job", "logs", str(job)).out
