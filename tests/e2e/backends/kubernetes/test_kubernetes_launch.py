"""End to end on kubernetes: console scripts -> a real agent (on the session's Prefect
server) -> the kubernetes resource -> the Kubernetes test double: kmock's emulator
over HTTP (and HTTPS for the in-cluster agent) on 127.0.0.1 with a kwok-like job
controller that runs each pod's container on the local Docker daemon with
``--network none``, so the job's output and side effects are real."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.support.docker import start_agent, wait_for

PAUSED_AGENT = Path(__file__).resolve().parents[3] / "support" / "kube_paused_agent.py"
# The job: says hello, sleeps (unless resumed) and exits as its run config says.
SCRIPT = ("import json, os, sys, time; c = json.loads(os.environ['RELAUNCH_RUN_CONFIG']); "
          "print('hello from', os.environ['RELAUNCH_ITEM_ID'], 'resume', "
          "os.environ.get('RELAUNCH_RESUME', '0'), flush=True); "
          "time.sleep(0 if os.environ.get('RELAUNCH_RESUME') else c.get('sleep', 0)); "
          "sys.exit(c.get('exit', 0))")
GPU_VARS = {"gpus": {"type": "integer", "minimum": 1, "maximum": 8}}
# The namespace is the admin's (a literal: no template variable or -R may name it).
GPU_CONFIG = {"namespace": "team-a", "env": {"TIER": "gold"},
              "spec": {"template": {"spec": {"containers": [
                  {"name": "main", "resources": {"limits": {"nvidia.com/gpu": "{{ gpus }}"}}}]}}}}
TORCH = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "namespace": "torch",
         "metadata": {"annotations": {"relaunch/container": "pytorch"}},
         "spec": {"pytorchReplicaSpecs": {
             role: {"replicas": 1, "restartPolicy": "OnFailure", "template": {"spec": {
                 "containers": [{"name": "pytorch", "image": "placeholder"}]}}}
             for role in ("Master", "Worker")}}}


def _queue(relaunch, name: str, config: dict[str, Any], variables: dict[str, Any] | None
           = None) -> None:
    extra = ["--template-variables", json.dumps(variables)] if variables else []
    result = relaunch("queue", "create", name, "-r", "kubernetes", "--config",
                      json.dumps(config), *extra)
    assert result.code == 0, result.err


def _enqueue(relaunch, queue: str, image: str, *extra: str, **run_config: Any) -> int:
    result = relaunch("launch", "-q", queue, "-d", image, "-E", "python3 -c " +
                      shlex.quote(SCRIPT), "--run-config", json.dumps(run_config), "--json",
                      *extra)
    assert result.code == 0, result.err
    return int(result.json()["id"])


def _agent_config(tmp_path: Path, *queues: str, **extra: Any) -> Path:
    path = tmp_path / "launch-config.yaml"
    path.write_text(json.dumps({"queues": list(queues), **extra}))
    return path


def _run_agent(relaunch, config: Path, env: dict[str, str]):
    result = relaunch("launch-agent", "-c", str(config), "--until-idle", env=env,
                      timeout=300)
    assert result.code == 0, result.err[-3000:]
    return result


def test_jobs_run_finish_fail_with_reasons_and_a_pytorchjob_completes(
        relaunch, cli_store, kube_double, kube_env, docker_env, tmp_path):
    image = docker_env.base_image
    _queue(relaunch, "gpu", GPU_CONFIG, GPU_VARS)
    _queue(relaunch, "torch", TORCH)
    ok = _enqueue(relaunch, "gpu", image, "-v", "gpus=2")
    code = _enqueue(relaunch, "gpu", image, "-v", "gpus=1", exit=3)
    missing = _enqueue(relaunch, "gpu", f"{docker_env.registry}/relaunch-test/"
                       f"{tmp_path.name}:missing", "-v", "gpus=1")
    torch = _enqueue(relaunch, "torch", image)
    _run_agent(relaunch, _agent_config(tmp_path, "gpu", "torch", max_jobs=4), kube_env)

    item = cli_store.get_item(ok)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    states = [e.to_state for e in cli_store.events_for(ok)]
    assert states.index("queued") < states.index("running") < states.index("finished")
    manifest = kube_double.objects("jobs")[("team-a", f"relaunch-{item.run_id}")]
    [container] = manifest["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 2
    assert container["image"] == image
    assert manifest["spec"]["backoffLimit"] == 0
    assert manifest["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    labels = manifest["metadata"]["labels"]
    assert (labels["relaunch/run-id"], labels["relaunch/item-id"]) == (item.run_id, str(ok))
    assert {"name": "RELAUNCH_RUN_ID", "value": item.run_id} in container["env"]
    assert {"name": "TIER", "value": "gold"} in container["env"]  # the queue's env option
    logs = relaunch("job", "logs", str(ok))
    assert logs.code == 0 and f"hello from {ok} resume 0" in logs.out, (logs.out, logs.err)

    failed = cli_store.get_item(code)
    assert (failed.state, failed.stage, failed.exit_code) == ("failed", "run", 3)
    assert failed.reason == "exit code 3"
    pull = cli_store.get_item(missing)
    assert (pull.state, pull.stage) == ("failed", "run")
    assert pull.reason.startswith("ImagePullBackOff"), pull.reason

    done = cli_store.get_item(torch)
    assert done.state == "finished", (done.stage, done.reason)
    pytorch = kube_double.objects("pytorchjobs")[("torch", f"relaunch-{done.run_id}")]
    for role in ("Master", "Worker"):
        [replica] = pytorch["spec"]["pytorchReplicaSpecs"][role]["template"]["spec"][
            "containers"]
        assert (replica["name"], replica["image"]) == ("pytorch", image)
    assert [c["type"] for c in pytorch["status"]["conditions"]] == ["Succeeded"]
    assert len(kube_double.runs(f"relaunch-{done.run_id}")) == 2  # master and worker


def test_eviction_requeues_with_same_run_id_and_cancel_deletes_the_job(
        relaunch, cli_store, kube_double, kube_env, docker_env, tmp_path):
    image = docker_env.base_image
    _queue(relaunch, "q", {"namespace": "work"})
    _queue(relaunch, "big", GPU_CONFIG, {**GPU_VARS, "gpus": {"type": "integer",
                                                               "maximum": 16}})
    evicted = _enqueue(relaunch, "q", image, sleep=120)
    cancelled = _enqueue(relaunch, "q", image, sleep=120)
    pending = _enqueue(relaunch, "big", image, "-v", "gpus=12")
    config = _agent_config(tmp_path, "q", "big", max_jobs=3)
    agent = start_agent(kube_env, tmp_path / "agent.log", "-c", str(config), "--until-idle")
    first = f"relaunch-{cli_store.get_item(evicted).run_id}"
    other = f"relaunch-{cli_store.get_item(cancelled).run_id}"
    wait_for(lambda: kube_double.runs(first) and kube_double.runs(other), "both jobs to run")
    # More GPUs than the cluster has: the scheduler's reason reaches `job status`.
    wait_for(lambda: "resource says: waiting: 0/3 nodes are available: 3 Insufficient "
             "nvidia.com/gpu" in relaunch("job", "status", str(pending)).out,
             "the pending reason in job status")
    assert relaunch("job", "cancel", str(pending)).code == 0
    kube_double.evict(first)
    assert relaunch("job", "cancel", str(cancelled)).code == 0
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]

    item = cli_store.get_item(evicted)
    assert (item.state, item.resume_count) == ("finished", 1), (item.stage, item.reason)
    [resumed] = kube_double.runs(f"{first}-r1")
    assert resumed["RELAUNCH_RUN_ID"] == item.run_id and resumed["RELAUNCH_RESUME"] == "1"
    assert any("preempted" in (e.message or "")
               for e in cli_store.events_for(evicted))
    assert cli_store.get_item(cancelled).state == "cancelled"
    assert ("work", other) not in kube_double.objects("jobs")
    deletes = [params for path, params in kube_double.deletes() if path.endswith(other)]
    assert deletes and deletes[0]["propagationPolicy"] == "Foreground"


def test_kill_9_between_create_and_record_then_new_agent_finds_the_job_by_name(
        relaunch, cli_store, kube_double, kube_env, docker_env, tmp_path):
    _queue(relaunch, "q", {})
    job = _enqueue(relaunch, "q", docker_env.base_image, sleep=3)
    config = _agent_config(tmp_path, "q", lease_seconds=5)
    paused = tmp_path / "paused"
    with open(tmp_path / "agent-0.log", "w") as log:
        first = subprocess.Popen([sys.executable, str(PAUSED_AGENT), str(paused),
                                  "launch-agent", "-c", str(config)], env=kube_env,
                                 cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    wait_for(paused.exists, "the Job to be created under the paused agent")
    assert cli_store.get_item(job).state not in ("submitted", "running")  # not recorded
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    second = start_agent(kube_env, tmp_path / "agent-1.log", "-c", str(config), "--until-idle")
    assert second.wait(timeout=120) == 0, (tmp_path / "agent-1.log").read_text()[-3000:]

    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    name = paused.read_text()
    assert ("ctx-ns", name) in kube_double.objects("jobs")  # the kube context's namespace
    assert kube_double.ever_created("jobs") == [name]
    assert len(kube_double.runs(name)) == 1
    [submitted] = [e for e in cli_store.events_for(job) if e.to_state == "submitted"]
    assert "re-attached" in (submitted.message or "")


def test_agent_in_a_cluster_uses_its_service_account_and_namespace(
        relaunch, cli_store, kube_double, cli_env, docker_env, tmp_path):
    env = {**cli_env, "KUBECONFIG": str(tmp_path / "no-kubeconfig"),
           **kube_double.service_account(tmp_path / "serviceaccount", "agents-ns")}
    _queue(relaunch, "q", {})
    job = _enqueue(relaunch, "q", docker_env.base_image)
    _run_agent(relaunch, _agent_config(tmp_path, "q"), env)
    item = cli_store.get_item(job)
    assert (item.state, item.exit_code) == ("finished", 0), (item.stage, item.reason)
    assert ("agents-ns", f"relaunch-{item.run_id}") in kube_double.objects("jobs")
    assert f"hello from {job}" in relaunch("job", "logs", str(job)).out


def test_dry_run_prints_the_manifest_and_enqueues_nothing(relaunch):
    _queue(relaunch, "gpu", GPU_CONFIG, GPU_VARS)
    result = relaunch("launch", "-q", "gpu", "-d", "img:1", "-E", "python3 train.py",
                      "-v", "gpus=4", "--dry-run", "--json")
    assert result.code == 0, result.err
    manifest = result.json()["request"]
    assert (manifest["apiVersion"], manifest["kind"]) == ("batch/v1", "Job")
    assert manifest["metadata"]["namespace"] == "team-a"
    assert manifest["metadata"]["name"].startswith("relaunch-")
    [container] = manifest["spec"]["template"]["spec"]["containers"]
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 4
    assert (container["image"], container["command"]) == ("img:1", ["python3", "train.py"])
    assert manifest["spec"]["ttlSecondsAfterFinished"] == 3600
    listed = relaunch("job", "list", "--json")
    assert listed.code == 0 and json.loads(listed.out or "[]") == []


def test_queue_config_with_an_unknown_key_or_a_schema_typo_is_refused_naming_it(relaunch):
    bad = relaunch("queue", "create", "bad", "-r", "kubernetes", "--config",
                   json.dumps({"replicas": 2}))
    assert bad.code == 2 and "option 'replicas' is not allowed" in bad.err, bad.err
    typo = relaunch("queue", "create", "typo", "-r", "kubernetes", "--config",
                    json.dumps({"spec": {"backofLimit": 1}}))
    assert typo.code == 2 and "spec.backofLimit" in typo.err, typo.err
    assert relaunch("queue", "list", "--json").json() == []
