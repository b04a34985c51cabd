"""Kueue end to end: console scripts -> a real agent (on the session's Prefect server)
-> the kubernetes resource -> the Kubernetes test double. The double is kmock's
emulator (an in-memory API over HTTP on 127.0.0.1, not a real API server) plus the
project's job controller (tests/support/kube_controller.py), which honours
``spec.suspend`` as Kubernetes's Job controller does. No Kueue runs here: the test
plays Kueue, admitting (resuming) and evicting (suspending) the Job with a merge patch
of ``spec.suspend`` through the double's API, as Kueue's controller does."""

from __future__ import annotations

import json
import shlex
import time
from pathlib import Path
from typing import Any

from tests.support.docker import start_agent, wait_for

LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_QUEUE = {"namespace": "work", "metadata": {"labels": {LABEL: "team-gpus"}}}
# The job: says hello, sleeps until the run config's `until` (a wall-clock time, so a
# run Kueue restarted after an eviction ends at the same time) and exits 0.
SCRIPT = ("import json, os, time; c = json.loads(os.environ['RELAUNCH_RUN_CONFIG']); "
          "print('hello from', os.environ['RELAUNCH_ITEM_ID'], flush=True); "
          "time.sleep(max(0.0, c.get('until', 0) - time.time()))")
WAITING = "suspended by Kueue: waiting for admission to LocalQueue team-gpus"


def _setup(relaunch, image: str, tmp_path: Path, **run_config: Any) -> tuple[int, Path]:
    result = relaunch("queue", "create", "kq", "-r", "kubernetes", "--config",
                      json.dumps(KUEUE_QUEUE))
    assert result.code == 0, result.err
    result = relaunch("launch", "-q", "kq", "-d", image, "-E", "python3 -c " +
                      shlex.quote(SCRIPT), "--run-config", json.dumps(run_config), "--json")
    assert result.code == 0, result.err
    config = tmp_path / "launch-config.yaml"
    config.write_text(json.dumps({"queues": ["kq"]}))
    return int(result.json()["id"]), config


def _notes(cli_store, item_id: int, text: str) -> int:
    return sum(text in (e.message or "") for e in cli_store.events_for(item_id))


def _job_gets(kube_double, name: str) -> int:
    """How many times the Job was read through the API (the agent's status polls)."""
    return int(kube_double.call(lambda: sum(
        1 for r in list(kube_double.emulator)
        if r.method == "GET" and str(r.url.path).endswith(f"/jobs/{name}"))))


def _live_pods(kube_double, name: str) -> list[str]:
    return [pod for (_, pod), obj in kube_double.objects("pods").items()
            if obj["metadata"]["labels"].get("job-name") == name]


def _finished_once(cli_store, item_id: int) -> None:
    item = cli_store.get_item(item_id)
    assert (item.state, item.exit_code, item.resume_count) == ("finished", 0, 0), (
        item.stage, item.reason)
    states = [e.to_state for e in cli_store.events_for(item_id)]
    assert states.count("finished") == 1 and "queued" not in states[1:], states
    assert _notes(cli_store, item_id, "preempted") == 0


def test_a_kueue_job_is_created_suspended_waits_then_runs_once_when_admitted(
        relaunch, cli_store, kube_double, kube_env, docker_env, tmp_path):
    job, config = _setup(relaunch, docker_env.base_image, tmp_path)
    agent = start_agent(kube_env, tmp_path / "agent.log", "-c", str(config), "--until-idle")
    name = f"relaunch-{cli_store.get_item(job).run_id}"
    wait_for(lambda: WAITING in relaunch("job", "status", str(job)).out,
             "the Kueue wait in job status")
    manifest = kube_double.objects("jobs")[("work", name)]
    assert manifest["spec"]["suspend"] is True
    assert manifest["metadata"]["labels"][LABEL] == "team-gpus"
    # It waits: polled several more times, no pod, the item neither requeued nor
    # preempted, and the wait noted once.
    polls = _job_gets(kube_double, name)
    wait_for(lambda: _job_gets(kube_double, name) >= polls + 3, "three more status polls")
    assert (_live_pods(kube_double, name), kube_double.runs(name)) == ([], [])
    assert cli_store.get_item(job).state == "running"
    assert _notes(cli_store, job, WAITING) == 1

    kube_double.set_suspend("work", name, False)  # Kueue admits the workload
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]
    _finished_once(cli_store, job)
    assert kube_double.ever_created("jobs") == [name]  # no -r1
    assert len(kube_double.runs(name)) == 1
    assert f"hello from {job}" in relaunch("job", "logs", str(job)).out


def test_a_running_job_kueue_evicts_waits_and_resumes_under_its_own_name(
        relaunch, cli_store, kube_double, kube_env, docker_env, tmp_path):
    job, config = _setup(relaunch, docker_env.base_image, tmp_path, until=time.time() + 60)
    agent = start_agent(kube_env, tmp_path / "agent.log", "-c", str(config), "--until-idle")
    name = f"relaunch-{cli_store.get_item(job).run_id}"
    wait_for(lambda: WAITING in relaunch("job", "status", str(job)).out,
             "the Kueue wait in job status")
    kube_double.set_suspend("work", name, False)  # admitted
    wait_for(lambda: kube_double.runs(name), "the Job's pod to run")
    wait_for(lambda: "admitted by Kueue" in relaunch("job", "status", str(job)).out,
             "the admission in job status")

    kube_double.set_suspend("work", name, True)  # evicted: its pod is deleted
    wait_for(lambda: not _live_pods(kube_double, name), "the evicted Job's pod to go")
    wait_for(lambda: WAITING in relaunch("job", "status", str(job)).out,
             "the eviction in job status")
    polls = _job_gets(kube_double, name)
    wait_for(lambda: _job_gets(kube_double, name) >= polls + 3, "three more status polls")
    assert cli_store.get_item(job).state == "running"
    assert _notes(cli_store, job, WAITING) == 2  # the admission wait, then the eviction
    [suspended] = kube_double.objects("jobs")[("work", name)]["status"]["conditions"]
    assert (suspended["type"], suspended["status"]) == ("Suspended", "True")

    kube_double.set_suspend("work", name, False)  # admitted again
    assert agent.wait(timeout=120) == 0, (tmp_path / "agent.log").read_text()[-3000:]
    _finished_once(cli_store, job)
    assert kube_double.ever_created("jobs") == [name]  # the same Job throughout
    assert len(kube_double.runs(name)) == 2  # a pod before the eviction, one after
    assert _notes(cli_store, job, WAITING) == 2


def test_a_jobs_resource_args_may_not_choose_a_local_queue_or_suspend(relaunch):
    result = relaunch("queue", "create", "kq", "-r", "kubernetes", "--config",
                      json.dumps(KUEUE_QUEUE))
    assert result.code == 0, result.err
    cases = {json.dumps({"kubernetes": {"metadata": {"labels": {LABEL: "other"}}}}):
             f'metadata.labels["{LABEL}"]: the Kueue LocalQueue',
             json.dumps({"kubernetes": {"spec": {"suspend": False}}}):
             "spec.suspend: the suspend flag"}
    for args, field in cases.items():
        result = relaunch("launch", "-q", "kq", "-d", "img:1", "-R", args)
        assert result.code == 2, (result.out, result.err)
        [line] = result.err.strip().splitlines()
        assert field in line, line
