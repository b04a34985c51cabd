"""Kueue on the kubernetes resource, without a service: a suspended object is a waiting
run (never preempted), a manifest naming a LocalQueue is created suspended, and Kueue's
label, its other labels and annotations and ``suspend`` are the queue admin's only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from launch_core.api import check_launch
from launch_core.backends.checks import check_queue_config
from launch_core.backends.kubernetes.manifest import build_manifest
from launch_core.backends.kubernetes.status import run_status
from launch_core.backends.resource import JobContext
from launch_core.errors import InvalidInput
from launch_core.spec.models import LaunchSpec, QueueDefinition

LABEL = "kueue.x-k8s.io/queue-name"
KUEUE_JOB = {"metadata": {"labels": {LABEL: "team-a-gpus"}},
             "spec": {"template": {"spec": {"containers": [{"name": "main"}]}}}}


def _job(suspend: bool | None, *conditions: dict[str, Any], queue: str | None = "lq"
         ) -> dict[str, Any]:
    spec = {} if suspend is None else {"suspend": suspend}
    labels = {LABEL: queue} if queue else {}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"labels": labels},
            "spec": spec, "status": {"conditions": list(conditions)}}


def _running_pod() -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "status": {"phase": "Running"}}


def _disrupted_pod() -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "status": {"phase": "Failed", "conditions": [
        {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler",
         "message": "Preempted in order to admit critical pod"}]}}


def test_a_job_waiting_for_admission_is_running_with_its_local_queue_named():
    status = run_status(_job(True), [], None)
    assert (status.state, status.done) == ("running", False)
    assert status.message == "suspended by Kueue: waiting for admission to LocalQueue lq"


def test_an_evicted_job_whose_pods_were_disrupted_is_waiting_not_preempted():
    suspended = {"type": "Suspended", "status": "True", "reason": "JobSuspended"}
    status = run_status(_job(True, suspended), [_disrupted_pod()], None)
    assert status.state == "running"
    assert status.message.startswith("suspended by Kueue")
    # The same pods without the suspension: preempted, as before.
    assert run_status(_job(False), [_disrupted_pod()], None).state == "preempted"


def test_a_suspended_job_without_the_label_waits_to_be_resumed():
    status = run_status(_job(True, queue=None), [], None)
    assert (status.state, status.message) == ("running", "suspended: waiting to be resumed")


def test_an_admitted_job_says_so_and_a_finished_one_is_finished():
    assert run_status(_job(False), [_running_pod()], None).message == \
        "admitted by Kueue (LocalQueue lq)"
    assert run_status(_job(False, queue=None), [_running_pod()], None).message == ""
    complete = {"type": "Complete", "status": "True"}
    assert run_status(_job(False, complete), [], None).state == "finished"


def test_a_suspended_pytorchjob_reads_its_run_policy():
    obj = {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob",
           "metadata": {"labels": {LABEL: "lq"}}, "spec": {"runPolicy": {"suspend": True}}}
    assert run_status(obj, [], None).message.startswith("suspended by Kueue")


def _context(config: dict[str, Any]) -> JobContext:
    return JobContext(run_id="abc123def456", item_id=7, entry_point=["python3"], args=[],
                      env={}, config=config, run_dir=Path("."), workdir=None, image="img:1",
                      queue="gpu", entity="team", agent="a")


def test_a_manifest_naming_a_local_queue_is_created_suspended():
    manifest = build_manifest(_context({}), {"apiVersion": "batch/v1", "kind": "Job",
                                             **KUEUE_JOB}, "ns")
    assert manifest["spec"]["suspend"] is True
    assert manifest["metadata"]["labels"][LABEL] == "team-a-gpus"
    plain = build_manifest(_context({}), {"apiVersion": "batch/v1", "kind": "Job"}, "ns")
    assert "suspend" not in plain["spec"]


def _queue(config: dict[str, Any], variables: dict[str, Any] | None = None
           ) -> QueueDefinition:
    return QueueDefinition(entity="team", name="k", resource="kubernetes", config=config,
                           template_variables=variables or {})


def _refused(q: QueueDefinition, args: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as info:
        check_launch(q, LaunchSpec(image="img:1", resource_args=args))
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(("args", "path"), [
    ({"metadata": {"labels": {LABEL: "other-team"}}}, f'metadata.labels["{LABEL}"]'),
    ({"metadata": {"labels": {LABEL: None}}}, f'metadata.labels["{LABEL}"]'),
    ({"metadata": {"labels": {"kueue.x-k8s.io/priority-class": "urgent"}}},
     'metadata.labels["kueue.x-k8s.io/priority-class"]'),
    ({"spec": {"template": {"metadata": {"labels": {LABEL: "other-team"}}}}},
     f'spec.template.metadata.labels["{LABEL}"]'),
    ({"spec": {"suspend": False}}, "spec.suspend"),
])
def test_a_job_may_not_choose_change_or_remove_its_local_queue_nor_suspend(args, path):
    q = _queue(KUEUE_JOB)
    check_queue_config(q)
    check_launch(q, LaunchSpec(image="img:1"))
    message = _refused(q, args)
    assert message.startswith(f"{path}: "), message
    assert "queue's admin" in message or "queue's config" in message


def test_a_queue_without_kueue_refuses_a_jobs_label_and_suspend():
    q = _queue({"spec": KUEUE_JOB["spec"]})
    assert _refused(q, {"metadata": {"labels": {LABEL: "lq"}}}).startswith(
        f'metadata.labels["{LABEL}"]: the Kueue LocalQueue')
    assert _refused(q, {"spec": {"suspend": True}}).startswith("spec.suspend: ")


def test_a_template_value_cannot_name_the_local_queue():
    config = {"metadata": {"labels": {LABEL: "{{ lq }}"}}, "spec": KUEUE_JOB["spec"]}
    with pytest.raises(InvalidInput) as info:
        check_queue_config(_queue(config, {"lq": {"type": "string", "enum": ["a", "b"]}}))
    assert str(info.value).startswith(f'metadata.labels["{LABEL}"]: '), str(info.value)
