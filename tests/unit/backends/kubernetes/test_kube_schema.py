"""Offline validation of Kubernetes manifests against the OpenAPI schema
(kubernetes-validate's strict schemas): the error names the field's path."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from launch_core.backends.kubernetes.guardrails import check_manifest, validate_schema
from launch_core.errors import InvalidInput

POD = "spec.template.spec"


def job(**pod_fields: Any) -> dict[str, Any]:
    pod = {"containers": [{"name": "main", "image": "python:3.11"}], "restartPolicy": "Never",
           **pod_fields}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "relaunch-${run_id}", "labels": {"relaunch/run-id": "${run_id}"}},
            "spec": {"backoffLimit": 0, "template": {"spec": pod}}}


def refused(manifest: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as info:
        validate_schema(manifest)
    return str(info.value)


def test_a_valid_job_with_unfilled_macros_passes() -> None:
    manifest = job()
    manifest["spec"]["ttlSecondsAfterFinished"] = "${TTL}"  # an int once the agent fills it
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    container["resources"] = {"limits": {"nvidia.com/gpu": 4, "memory": "${MEMORY}"}}
    validate_schema(manifest)


def test_a_typo_is_refused_naming_the_field() -> None:
    manifest = job(containerz=[])
    assert refused(manifest).startswith(f"{POD}.containerz: unknown field (Kubernetes 1.")
    manifest = job()
    manifest["spec"]["template"]["spec"]["containers"][0]["imagePullPolice"] = "Always"
    assert refused(manifest).startswith(f"{POD}.containers[0].imagePullPolice: unknown field")


def test_a_missing_required_field_is_named() -> None:
    manifest = job()
    del manifest["spec"]["template"]["spec"]["containers"][0]["name"]
    assert refused(manifest).startswith(f"{POD}.containers[0].name: required field missing")


def test_a_wrong_type_is_named_without_its_value() -> None:
    manifest = job()
    manifest["spec"]["template"]["spec"]["containers"][0]["env"] = [
        {"name": "TOKEN", "value": 918273645}]
    message = refused(manifest)
    assert message.startswith(f"{POD}.containers[0].env[0].value: must be of type string")
    assert "918273645" not in message


def test_a_manifest_without_kind_is_a_job() -> None:
    manifest = job()
    del manifest["apiVersion"], manifest["kind"]
    validate_schema(manifest)
    manifest["spec"]["backofLimit"] = 1
    assert "spec.backofLimit: unknown field" in refused(manifest)


def test_an_unknown_kind_of_a_builtin_group_is_refused() -> None:
    assert refused({**job(), "kind": "Jobs"}) == "kind: batch/v1 has no kind 'Jobs'"


def pytorch_job() -> dict[str, Any]:
    template = {"spec": {"containers": [{"name": "pytorch", "image": "i"}]}}
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "p"},
            "spec": {"runPolicy": {"cleanPodPolicy": "None"},
                     "pytorchReplicaSpecs": {"Master": {"replicas": 1, "template": template}}}}


def test_a_custom_resource_checks_its_embedded_pod_templates() -> None:
    manifest = pytorch_job()
    validate_schema(manifest)  # the CR's own fields (runPolicy...) are the cluster's
    pod = manifest["spec"]["pytorchReplicaSpecs"]["Master"]["template"]["spec"]
    pod["containers"][0]["comand"] = ["python"]
    assert refused(manifest).startswith(
        "spec.pytorchReplicaSpecs.Master.template.spec.containers[0].comand: unknown field "
        "(Kubernetes 1.")
    assert "kubeflow.org/v1 PyTorchJob" in refused(manifest)


def test_a_custom_resource_checks_its_metadata_and_job_templates() -> None:
    manifest = pytorch_job()
    manifest["metadata"]["labels"] = {"gpus": 4}
    assert refused(manifest).startswith("metadata.labels.gpus: must be of type string")
    jobset = {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
              "metadata": {"name": "j"},
              "spec": {"replicatedJobs": [{"name": "w", "template": {"spec": {
                  "parallelism": 2, "backofLimit": 0, "template": job()["spec"]["template"]}}}]}}
    assert refused(jobset).startswith("spec.replicatedJobs[0].template.spec.backofLimit: ")


def test_without_kubernetes_validate_the_module_imports_and_skips_the_check() -> None:
    code = ("import sys; sys.modules['kubernetes_validate'] = None\n"
            "from launch_core.backends.kubernetes import guardrails as g\n"
            "g.validate_schema({'kind': 'Job', 'apiVersion': 'batch/v1', 'spek': 1})\n"
            "print('skipped')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "skipped"


def test_a_queues_partial_manifest_leaves_required_fields_to_the_final_one() -> None:
    partial = {"spec": {"template": {"spec": {"containers": [{"resources": {}}]}}}}
    validate_schema(partial, partial=True)
    assert refused(partial).startswith(f"{POD}.containers[0].name: required field missing")
    partial["spec"]["template"]["spec"]["containers"][0]["resourcez"] = {}
    with pytest.raises(InvalidInput, match=r"containers\[0\]\.resourcez: unknown field"):
        validate_schema(partial, partial=True)


def test_check_manifest_refuses_a_typo_in_a_queues_manifest() -> None:
    with pytest.raises(InvalidInput, match=rf"^{POD}\.containerz: unknown field"):
        check_manifest({"spec": {"template": {"spec": {"containerz": []}}}})
