"""A job that brings its own kube config (``-R '{"kubernetes": {"configFile": ...,
"context": ...}}'``), end to end against the Kubernetes test double (kmock's emulator
on 127.0.0.1 and the kwok-like controller, tests/support/kube_double.py).

The job's kube config names the double as its cluster, and its user an exec plugin
(a real command, run with the agent's environment if the agent ever loaded it) that
writes a marker file and hands out a token: loaded, it would create the job's Job in
the double. Refused at enqueue; and a spec written straight into the store (past
enqueue's checks) is failed by the agent before anything reaches the cluster: no
Job, no pod, no exec plugin run."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from launch_core.spec.models import LaunchSpec

CONFIG = {"spec": {"template": {"spec": {"containers": [{"name": "main"}]}}}}


def hostile_kube_config(path: Path, server: str, marker: Path) -> Path:
    credential = {"apiVersion": "client.authentication.k8s.io/v1beta1",
                  "kind": "ExecCredential", "status": {"token": "double-token"}}
    script = (f"import json, os; open({str(marker)!r}, 'w').write(json.dumps(dict("
              f"os.environ))); print({json.dumps(json.dumps(credential))})")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "prod-admin",
        "clusters": [{"name": "double", "cluster": {"server": server}}],
        "users": [{"name": "admin", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable, "args": ["-c", script]}}}],
        "contexts": [{"name": "prod-admin", "context": {"cluster": "double",
                                                        "user": "admin"}}]}))
    return path


def test_a_job_bringing_its_own_kube_config_is_refused_and_never_loaded(
        relaunch, cli_store, kube_double, kube_env, docker_env, tmp_path):
    marker = tmp_path / "exec-plugin-ran"
    kube_config = hostile_kube_config(tmp_path / "job-code" / "kc.yaml", kube_double.url,
                                      marker)
    hostile = {"configFile": str(kube_config), "context": "prod-admin"}
    created = relaunch("queue", "create", "q", "-r", "kubernetes", "--config",
                       json.dumps(CONFIG))
    assert created.code == 0, created.err  # no template variables: -R is allowed

    for dry_run in ([], ["--dry-run"]):
        result = relaunch("launch", "-q", "q", "-d", docker_env.base_image, "-R",
                          json.dumps({"kubernetes": hostile}), *dry_run, env=kube_env)
        assert result.code == 2, (result.out, result.err)
        (line,) = result.err.strip().splitlines()
        assert line.startswith("error: configFile: the kube config file (configFile) may "
                               "only be set by the queue's config"), line
    assert relaunch("job", "list", "--json").json() == []

    # Past enqueue: the spec written straight into the store.
    item = cli_store.enqueue(cli_store.get_queue("team", "q"),
                             LaunchSpec(image=docker_env.base_image, resource_args=hostile))
    config = tmp_path / "launch-config.yaml"
    config.write_text(json.dumps({"queues": ["q"]}))
    agent = relaunch("launch-agent", "-c", str(config), "--until-idle", env=kube_env,
                     timeout=300)
    assert agent.code == 0, agent.err[-3000:]

    failed = cli_store.get_item(item.id)
    assert (failed.state, failed.stage) == ("failed", "agent"), (failed.state, failed.reason)
    assert failed.reason.startswith("configFile: the kube config file (configFile) may only "
                                    "be set by the queue's config"), failed.reason
    assert not marker.exists(), "the job's exec plugin ran"
    assert kube_double.ever_created("jobs") == []
    assert kube_double.ever_created("pods") == []
