"""Kubernetes manifest guardrails: each refused case names its JSON path; a queue's
``allow_fields`` lets its admin's own literal value through, never a submitter's
(template values and resource args go through the real resolve step)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from launch_core.errors import InvalidInput
from launch_core.models import LaunchSpec, QueueDefinition
from launch_core.resolve import resolve_resource_config
from launch_core.resources.kube_guardrails import check_manifest

POD = "spec.template.spec"
C0 = f"{POD}.containers[0]"


def job(**pod_fields: Any) -> dict[str, Any]:
    container = {"name": "main", "image": "python:3.11"}
    pod = {"containers": [container], "restartPolicy": "Never", **pod_fields}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "x"},
            "spec": {"template": {"spec": pod}}}


def with_container(**fields: Any) -> dict[str, Any]:
    manifest = job()
    manifest["spec"]["template"]["spec"]["containers"][0].update(fields)
    return manifest


def queue(config: dict[str, Any], allow: list[str] | None = None,
          variables: dict[str, Any] | None = None) -> QueueDefinition:
    return QueueDefinition(entity="team", name="k8s", resource="kubernetes", config=config,
                           allow_fields=allow or [], template_variables=variables or {})


def refused(manifest: dict[str, Any], q: QueueDefinition | None = None) -> str:
    with pytest.raises(InvalidInput) as info:
        check_manifest(manifest, q)
    return str(info.value)


def pytorch_job(pod: dict[str, Any]) -> dict[str, Any]:
    replica = {"replicas": 1, "template": {"spec": {"containers": [{"name": "pytorch",
                                                                    "image": "i"}]}}}
    worker = copy.deepcopy(replica)
    worker["template"]["spec"].update(pod)
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "p"},
            "spec": {"pytorchReplicaSpecs": {"Master": replica, "Worker": worker}}}


CASES = [
    (with_container(securityContext={"privileged": True}),
     f"{C0}.securityContext.privileged", "privileged"),
    (job(initContainers=[{"name": "i", "image": "i", "securityContext": {"privileged": True}}]),
     f"{POD}.initContainers[0].securityContext.privileged", "privileged"),
    (job(ephemeralContainers=[{"name": "d", "image": "i",
                               "securityContext": {"privileged": True}}]),
     f"{POD}.ephemeralContainers[0].securityContext.privileged", "privileged"),
    (job(volumes=[{"name": "v", "emptyDir": {}}, {"name": "h", "hostPath": {"path": "/"}}]),
     f"{POD}.volumes[1].hostPath", "hostPath"),
    (job(hostNetwork=True), f"{POD}.hostNetwork", "hostNetwork"),
    (job(hostPID=True), f"{POD}.hostPID", "hostPID"),
    (job(hostIPC=True), f"{POD}.hostIPC", "hostIPC"),
    (with_container(ports=[{"containerPort": 80, "hostPort": 8080}]),
     f"{C0}.ports[0].hostPort", "hostPort"),
    (with_container(securityContext={"capabilities": {"add": ["CHOWN", "SYS_ADMIN"]}}),
     f"{C0}.securityContext.capabilities.add[1]", "capabilities"),
    (with_container(securityContext={"capabilities": {"add": ["NET_RAW"]}}),
     f"{C0}.securityContext.capabilities.add[0]", "capabilities"),
    (job(securityContext={"seccompProfile": {"type": "Unconfined"}}),
     f"{POD}.securityContext.seccompProfile.type", "seccomp"),
    (with_container(securityContext={"seccompProfile": {"type": "Unconfined"}}),
     f"{C0}.securityContext.seccompProfile.type", "seccomp"),
    (with_container(securityContext={"appArmorProfile": {"type": "Unconfined"}}),
     f"{C0}.securityContext.appArmorProfile.type", "apparmor"),
    (with_container(volumeMounts=[{"name": "v", "mountPath": "/v",
                                   "mountPropagation": "Bidirectional"}]),
     f"{C0}.volumeMounts[0].mountPropagation", "mountPropagation"),
    (pytorch_job({"hostNetwork": True}),
     "spec.pytorchReplicaSpecs.Worker.template.spec.hostNetwork", "hostNetwork"),
    ({"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "metadata": {"name": "j"},
      "spec": {"replicatedJobs": [{"name": "w", "template": {"spec": {"template": job(
          hostPID=True)["spec"]["template"]}}}]}},
     "spec.replicatedJobs[0].template.spec.template.spec.hostPID", "hostPID"),
    ({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "metadata": {"name": "v"},
      "spec": {"tasks": [{"name": "a", "template": job()["spec"]["template"]},
                         {"name": "b", "template": job(volumes=[
                             {"name": "h", "hostPath": {"path": "/var"}}])["spec"]["template"]}]}},
     "spec.tasks[1].template.spec.volumes[0].hostPath", "hostPath"),
]


@pytest.mark.parametrize(("manifest", "path", "guard"), CASES,
                         ids=[f"{guard}:{path}" for _, path, guard in CASES])
def test_each_guardrail_is_refused_naming_its_path(manifest: dict[str, Any], path: str,
                                                   guard: str) -> None:
    message = refused(manifest, queue(manifest))
    assert message.startswith(f"{path}: ")
    assert f"--allow-field {guard}" in message


def test_apparmor_annotation_is_refused_naming_it() -> None:
    manifest = job()
    key = "container.apparmor.security.beta.kubernetes.io/main"
    manifest["spec"]["template"]["metadata"] = {"annotations": {key: "unconfined"}}
    assert refused(manifest).startswith(f'spec.template.metadata.annotations["{key}"]: ')


@pytest.mark.parametrize("manifest", [
    job(),
    with_container(securityContext={"privileged": False, "allowPrivilegeEscalation": False,
                                    "capabilities": {"add": ["NET_BIND_SERVICE", "CHOWN"],
                                                     "drop": ["ALL"]},
                                    "seccompProfile": {"type": "RuntimeDefault"}}),
    with_container(volumeMounts=[{"name": "v", "mountPath": "/v",
                                  "mountPropagation": "HostToContainer"}]),
    job(hostNetwork=False, volumes=[{"name": "v", "emptyDir": {}}],
        automountServiceAccountToken=False),
    with_container(ports=[{"containerPort": 80}]),
], ids=["plain", "restricted", "host-to-container", "off-flags", "container-port"])
def test_safe_manifests_pass(manifest: dict[str, Any]) -> None:
    check_manifest(manifest, queue(manifest))
    check_manifest(manifest)


def test_an_allowed_field_passes_with_the_admins_literal_value() -> None:
    manifest = job(hostNetwork=True, volumes=[{"name": "h", "hostPath": {"path": "/data"}}])
    check_manifest(manifest, queue(manifest, allow=["hostNetwork", "hostPath"]))
    assert refused(manifest, queue(manifest, allow=["hostNetwork"])).startswith(
        f"{POD}.volumes[0].hostPath: ")


def test_without_a_queue_every_guardrail_is_refused() -> None:
    assert refused(job(hostIPC=True)).startswith(f"{POD}.hostIPC: ")


def test_an_unknown_allow_field_name_is_refused() -> None:
    manifest = job()
    assert "allow_fields: 'privilegd' is no Kubernetes guardrail" in refused(
        manifest, queue(manifest, allow=["privilegd"]))


def test_a_template_value_cannot_set_an_allowed_field() -> None:
    config = with_container(securityContext={"privileged": "{{ privileged }}"})
    q = queue(config, allow=["privileged"], variables={"privileged": {"type": "boolean"}})
    spec = LaunchSpec(image="python:3.11", template_values={"privileged": True})
    message = refused(resolve_resource_config(q, spec), q)
    assert message.startswith(f"{C0}.securityContext.privileged: privileged may only be set "
                              "by the queue's config")


def test_resource_args_cannot_add_an_allowed_field_or_change_its_value() -> None:
    config = job(volumes=[{"name": "h", "hostPath": {"path": "/data"}}])
    q = queue(config, allow=["hostPath", "hostNetwork"])
    pod_args = {"hostNetwork": True}
    spec = LaunchSpec(image="i", resource_args={"spec": {"template": {"spec": pod_args}}})
    assert refused(resolve_resource_config(q, spec), q).startswith(f"{POD}.hostNetwork: ")
    other = {"volumes": [{"name": "h", "hostPath": {"path": "/etc"}}]}
    spec = LaunchSpec(image="i", resource_args={"spec": {"template": {"spec": other}}})
    assert refused(resolve_resource_config(q, spec), q).startswith(f"{POD}.volumes[0].hostPath: ")
    same = {"volumes": [{"name": "h", "hostPath": {"path": "/data"}}], "priorityClassName": "x"}
    spec = LaunchSpec(image="i", resource_args={"spec": {"template": {"spec": same}}})
    check_manifest(resolve_resource_config(q, spec), q)


@pytest.mark.parametrize("field", ["serviceAccountName", "serviceAccount"])
def test_a_submitter_cannot_set_the_service_account(field: str) -> None:
    q = queue(job())
    spec = LaunchSpec(image="i", resource_args={"spec": {"template": {"spec": {field: "admin"}}}})
    assert refused(resolve_resource_config(q, spec), q).startswith(f"{POD}.{field}: ")
    templated = queue(job(serviceAccountName="{{ sa }}"), variables={"sa": {"type": "string"}})
    spec = LaunchSpec(image="i", template_values={"sa": "admin"})
    assert refused(resolve_resource_config(templated, spec), templated).startswith(
        f"{POD}.serviceAccountName: serviceAccountName may only be set by the queue's config")


def test_the_admin_sets_the_service_account_and_token_as_a_literal() -> None:
    config = job(serviceAccountName="trainer", automountServiceAccountToken=True)
    q = queue(config)
    check_manifest(resolve_resource_config(q, LaunchSpec(image="i")), q)
    spec = LaunchSpec(image="i", resource_args={"spec": {"template": {"spec": {
        "automountServiceAccountToken": True, "serviceAccountName": "trainer"}}}})
    check_manifest(resolve_resource_config(q, spec), q)
    spec = LaunchSpec(image="i", resource_args={"spec": {"template": {"spec": {
        "automountServiceAccountToken": True}}}})
    assert refused(resolve_resource_config(queue(job()), spec), queue(job())).startswith(
        f"{POD}.automountServiceAccountToken: ")


def test_an_admin_value_with_a_macro_is_no_literal() -> None:
    config = job(serviceAccountName="${SERVICE_ACCOUNT}")
    q = queue(config)
    resolved = resolve_resource_config(q, LaunchSpec(image="i"), env={"SERVICE_ACCOUNT": "sa"})
    assert refused(resolved, q).startswith(f"{POD}.serviceAccountName: ")
    assert refused(config, q).startswith(f"{POD}.serviceAccountName: ")
