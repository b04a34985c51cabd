"""How a Kubernetes object and its pods map to a run's state (kube_status), on the
objects as the API server returns them. No service."""

from __future__ import annotations

from typing import Any

import pytest

from launch_core.backends.kubernetes.status import STATUS_MAPPINGS, StatusMapping, run_status


def _job(*conditions: tuple[str, str]) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "status": {"conditions": [
        {"type": kind, "status": "True", "reason": reason} for kind, reason in conditions]}}


def _pod(phase: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "main"}]},
            "status": {"phase": phase, **status}}


def _terminated(code: int, reason: str) -> dict[str, Any]:
    return {"containerStatuses": [{"name": "main", "state": {"terminated": {
        "exitCode": code, "reason": reason}}}]}


def test_complete_job_is_finished():
    assert run_status(_job(("Complete", "Completed")), [_pod("Succeeded")], None).state == \
        "finished"


@pytest.mark.parametrize(("code", "reason", "message", "cause"), [
    (3, "Error", "exit code 3", None), (137, "OOMKilled", "OOMKilled (exit code 137)", "oom")])
def test_failed_job_reports_its_containers_exit_code_or_reason(code, reason, message, cause):
    status = run_status(_job(("Failed", "BackoffLimitExceeded")),
                        [_pod("Failed", **_terminated(code, reason))], "main")
    assert (status.state, status.exit_code, status.message) == ("failed", code, message)
    assert status.cause == cause  # an OOM kill is what --retry-on oom retries


def test_failed_job_without_pods_reports_the_jobs_reason():
    status = run_status(_job(("Failed", "DeadlineExceeded")), [], None)
    assert (status.state, status.message) == ("failed", "DeadlineExceeded")


def test_disrupted_pod_of_a_failed_job_is_preempted():
    pod = _pod("Failed", conditions=[{"type": "DisruptionTarget", "status": "True",
                                      "reason": "PreemptionByScheduler",
                                      "message": "Preempted in order to admit critical pod"}])
    status = run_status(_job(("Failed", "BackoffLimitExceeded")), [pod], None)
    assert status.state == "preempted"
    assert status.message == "preempted: Preempted in order to admit critical pod"


def test_evicted_pod_with_no_live_pod_left_is_preempted_before_the_job_fails():
    pod = _pod("Failed", reason="Evicted", message="The node was low on resource: memory.")
    status = run_status({"apiVersion": "batch/v1", "kind": "Job", "status": {}}, [pod], None)
    assert (status.state, status.message) == (
        "preempted", "preempted: evicted: The node was low on resource: memory.")


def test_image_pull_backoff_fails_the_run_at_once():
    pod = _pod("Pending", containerStatuses=[{"name": "main", "state": {"waiting": {
        "reason": "ImagePullBackOff", "message": 'Back-off pulling image "x:1"'}}}])
    status = run_status({"apiVersion": "batch/v1", "kind": "Job"}, [pod], None)
    assert (status.state, status.message, status.cause) == (
        "failed", 'ImagePullBackOff: Back-off pulling image "x:1"', "infra")


def test_an_invalid_image_name_is_no_infrastructure_failure():
    pod = _pod("Pending", containerStatuses=[{"name": "main", "state": {"waiting": {
        "reason": "InvalidImageName", "message": 'couldn\'t parse image "X:"'}}}])
    status = run_status({"apiVersion": "batch/v1", "kind": "Job"}, [pod], None)
    assert (status.state, status.cause) == ("failed", None)


def test_unschedulable_pod_is_running_with_the_schedulers_reason():
    pod = _pod("Pending", conditions=[{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}])
    status = run_status({"apiVersion": "batch/v1", "kind": "Job"}, [pod], None)
    assert (status.state, status.message) == (
        "running", "waiting: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")


@pytest.mark.parametrize(("obj", "state"), [
    ({"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "status": {"conditions": [
        {"type": "Created", "status": "True"}, {"type": "Succeeded", "status": "True"}]}},
     "finished"),
    ({"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "status": {"conditions": [
        {"type": "Running", "status": "True"}]}}, "running"),
    ({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
      "status": {"state": {"phase": "Aborted"}}}, "failed"),
    ({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job",
      "status": {"state": {"phase": "Completed"}}}, "finished"),
    ({"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "status": {"conditions": [
        {"type": "Failed", "status": "True", "reason": "FailedJobs"}]}}, "failed"),
    ({"apiVersion": "example.com/v1", "kind": "Thing", "status": {"conditions": [
        {"type": "Succeeded", "status": "True"}]}}, "finished"),  # the generic mapping
])
def test_custom_resources_map_through_the_table(obj, state):
    assert run_status(obj, [], None).state == state


def test_a_new_kind_is_one_table_entry(monkeypatch):
    monkeypatch.setitem(STATUS_MAPPINGS, ("ray.io", "RayJob"), StatusMapping(
        finished=("SUCCEEDED",), failed=("FAILED", "STOPPED"), phase_path=("status",
                                                                         "jobStatus")))
    obj = {"apiVersion": "ray.io/v1", "kind": "RayJob", "status": {"jobStatus": "STOPPED"}}
    status = run_status(obj, [], None)
    assert (status.state, status.message) == ("failed", "STOPPED")
