"""Kubernetes guardrails on the shared engine (launch_core.spec.guardrails): each refused
case names its JSON path (and, for an allowable field, its ``--allow-field`` name).

A queue's config is checked as ``queue create`` checks it (``check_queue_config``),
a job as ``launch``/``--dry-run`` checks it (``check_launch``: the real resolve step,
template values and resource args merged), the agent's own manifests (the kaniko
build Job) with ``check_manifest`` and no queue."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from launch_core.api import check_launch
from launch_core.backends.checks import check_queue_config
from launch_core.backends.kaniko.job import KanikoBuild, kaniko_job
from launch_core.backends.kubernetes.guardrails import check_manifest
from launch_core.backends.kubernetes.resource import KubernetesResource
from launch_core.errors import InvalidInput
from launch_core.spec.models import LaunchSpec, QueueDefinition

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


def created(config: dict[str, Any], allow: list[str] | None = None,
            variables: dict[str, Any] | None = None) -> QueueDefinition:
    """The queue, checked as ``queue create`` checks it."""
    q = queue(config, allow, variables)
    check_queue_config(q)
    return q


def refused_at_create(config: dict[str, Any], allow: list[str] | None = None,
                      variables: dict[str, Any] | None = None) -> str:
    with pytest.raises(InvalidInput) as info:
        check_queue_config(queue(config, allow, variables))
    return str(info.value)


def launched(q: QueueDefinition, **spec: Any) -> dict[str, Any]:
    return check_launch(q, LaunchSpec(image="python:3.11", **spec))


def refused(q: QueueDefinition, **spec: Any) -> str:
    with pytest.raises(InvalidInput) as info:
        launched(q, **spec)
    message = str(info.value)
    assert "\n" not in message
    return message


def pod_args(**pod: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": pod}}}


def pytorch_job(pod: dict[str, Any]) -> dict[str, Any]:
    replica = {"replicas": 1, "template": {"spec": {"containers": [{"name": "pytorch",
                                                                    "image": "i"}]}}}
    worker = copy.deepcopy(replica)
    worker["template"]["spec"].update(pod)
    return {"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "metadata": {"name": "p"},
            "spec": {"pytorchReplicaSpecs": {"Master": replica, "Worker": worker}}}


def benign(manifest: dict[str, Any]) -> dict[str, Any]:
    """An admin's manifest of ``manifest``'s kind with nothing guarded in it."""
    template = job()["spec"]["template"]
    spec = {"batch/v1": job()["spec"],
            "kubeflow.org/v1": pytorch_job({})["spec"],
            "jobset.x-k8s.io/v1alpha2": {"replicatedJobs": [
                {"name": "w", "template": {"spec": {"template": template}}}]},
            "batch.volcano.sh/v1alpha1": {"tasks": [{"name": "a", "template": template}]},
            }[manifest["apiVersion"]]
    return {**manifest, "spec": copy.deepcopy(spec)}


# --- allowable guardrails: refused unless the queue allows them ---------------------

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
    # The rest of the Pod Security Standards' baseline.
    (with_container(securityContext={"procMount": "Unmasked"}),
     f"{C0}.securityContext.procMount", "procMount"),
    (job(securityContext={"sysctls": [{"name": "net.ipv4.tcp_syncookies", "value": "1"},
                                      {"name": "kernel.msgmax", "value": "65536"}]}),
     f"{POD}.securityContext.sysctls[1]", "sysctls"),
    (job(securityContext={"seLinuxOptions": {"type": "spc_t"}}),
     f"{POD}.securityContext.seLinuxOptions", "seLinuxOptions"),
    (with_container(securityContext={"seLinuxOptions": {"type": "container_t",
                                                        "user": "system_u"}}),
     f"{C0}.securityContext.seLinuxOptions", "seLinuxOptions"),
    (with_container(securityContext={"seLinuxOptions": {"role": "sysadm_r"}}),
     f"{C0}.securityContext.seLinuxOptions", "seLinuxOptions"),
    (with_container(securityContext={"windowsOptions": {"hostProcess": True}}),
     f"{C0}.securityContext.windowsOptions.hostProcess", "hostProcess"),
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
def test_each_guardrail_is_refused_at_queue_create_naming_its_path(
        manifest: dict[str, Any], path: str, guard: str) -> None:
    message = refused_at_create(manifest)
    assert message.startswith(f"{path}: "), message
    assert message.endswith(f"--allow-field {guard})"), message
    created(manifest, allow=[guard])  # the admin's own literal, allowed


@pytest.mark.parametrize(("manifest", "path", "guard"), CASES,
                         ids=[f"{guard}:{path}" for _, path, guard in CASES])
def test_each_guardrail_is_refused_from_resource_args_even_where_allowed(
        manifest: dict[str, Any], path: str, guard: str) -> None:
    q = created(benign(manifest), allow=[guard])
    message = refused(q, resource_args={"spec": manifest["spec"]})
    assert message.startswith(f"{path}: "), message


def test_baseline_values_of_the_pod_security_fields_pass() -> None:
    manifest = job(securityContext={
        "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "1024 65535"},
                    {"name": "kernel.shm_rmid_forced", "value": "1"}],
        "seLinuxOptions": {"type": "container_init_t", "level": "s0:c123,c456"},
        "windowsOptions": {"hostProcess": False}})
    manifest["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {
        "procMount": "Default", "seLinuxOptions": {"type": "container_t"}}
    launched(created(manifest))
    check_manifest(manifest)


def test_apparmor_annotation_is_refused_naming_it() -> None:
    manifest = job()
    key = "container.apparmor.security.beta.kubernetes.io/main"
    manifest["spec"]["template"]["metadata"] = {"annotations": {key: "unconfined"}}
    assert refused_at_create(manifest).startswith(
        f'spec.template.metadata.annotations["{key}"]: ')


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
    job(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        priorityClassName="high"),
], ids=["plain", "restricted", "host-to-container", "off-flags", "container-port",
        "gpu-toleration"])
def test_safe_manifests_pass(manifest: dict[str, Any]) -> None:
    launched(created(manifest))
    check_manifest(manifest)


def test_without_a_queue_every_allowable_guardrail_is_refused() -> None:
    assert check_manifest_refuses(job(hostIPC=True)).startswith(f"{POD}.hostIPC: ")


def check_manifest_refuses(manifest: dict[str, Any]) -> str:
    with pytest.raises(InvalidInput) as info:
        check_manifest(manifest)
    return str(info.value)


def test_the_kaniko_build_job_with_its_secrets_passes_without_a_queue() -> None:
    build = KanikoBuild(name="relaunch-build-1-1", namespace="builds",
                        context_uri="s3://bucket/ctx.tar.gz", image="reg/img:tag",
                        cache_repo="reg/cache", docker_secret="relaunch-build-1-1-docker",
                        store_secret=("store", "credentials"))
    check_manifest(kaniko_job(build))


def test_an_unknown_allow_field_name_is_refused_and_the_names_are_the_guardrails() -> None:
    names = KubernetesResource.allow_fields()
    assert {"privileged", "hostPath", "hostNetwork", "procMount", "sysctls",
            "seLinuxOptions", "hostProcess"} <= names
    assert not names & {"serviceAccountName", "configFile", "secretRef", "nodeName", "kind"}
    message = refused_at_create(job(), allow=["privilegd"])
    assert "'privilegd' means nothing on a kubernetes queue" in message


def test_a_template_value_cannot_set_an_allowed_field() -> None:
    config = with_container(securityContext={"privileged": "{{ privileged }}"})
    q = queue(config, allow=["privileged"],
              variables={"privileged": {"type": "boolean", "default": False}})
    message = refused(q, template_values={"privileged": True})
    assert message.startswith(f"{C0}.securityContext.privileged: a privileged container "
                              "(privileged) may only be set by the queue's config"), message


def test_resource_args_cannot_add_an_allowed_field_or_change_its_value() -> None:
    q = created(job(volumes=[{"name": "h", "hostPath": {"path": "/data"}}]),
                allow=["hostPath", "hostNetwork"])
    assert refused(q, resource_args=pod_args(hostNetwork=True)).startswith(
        f"{POD}.hostNetwork: ")
    other = pod_args(volumes=[{"name": "h", "hostPath": {"path": "/etc"}}])
    assert refused(q, resource_args=other).startswith(f"{POD}.volumes[0].hostPath: ")
    same = pod_args(volumes=[{"name": "h", "hostPath": {"path": "/data"}}],
                    priorityClassName="x")
    launched(q, resource_args=same)


# --- part 1: where to connect and which manifest, the admin's only ------------------

CONNECTION = [
    ({"configFile": "~/.relaunch/runs/${run_id}/code/kc.yaml"}, "configFile"),
    ({"context": "prod-admin"}, "context"),
    ({"namespace": "kube-system"}, "namespace"),
    ({"metadata": {"namespace": "kube-system"}}, "metadata.namespace"),
    ({"kind": "PyTorchJob", "apiVersion": "kubeflow.org/v1"}, "apiVersion"),
    ({"kind": "CronJob"}, "kind"),
    ({"metadata": {"annotations": {"relaunch/container": "sidecar"}}},
     'metadata.annotations["relaunch/container"]'),
]


@pytest.mark.parametrize(("args", "path"), CONNECTION, ids=[p for _, p in CONNECTION])
def test_resource_args_cannot_choose_the_cluster_namespace_or_kind(
        args: dict[str, Any], path: str) -> None:
    q = created(job())  # no template variables: -R is allowed
    message = refused(q, resource_args=args)
    assert message.startswith(f"{path}: "), message
    assert "may only be set by the queue's config" in message


def test_the_admins_literal_connection_fields_pass_and_stay() -> None:
    config = {**job(), "configFile": "/etc/relaunch/kube.yaml", "context": "team",
              "namespace": "team-a"}
    q = created(config)
    launched(q)
    launched(q, resource_args={"namespace": "team-a", "kind": "Job"})  # the same values
    assert refused(q, resource_args={"namespace": "team-b"}).startswith("namespace: ")
    assert refused(q, resource_args={"context": None}).startswith("context: ")
    # The kind's default is the admin's too.
    launched(created({"spec": job()["spec"]}), resource_args={"kind": "Job",
                                                              "apiVersion": "batch/v1"})


@pytest.mark.parametrize("field", ["namespace", "configFile", "context"])
def test_a_template_variable_cannot_name_the_connection(field: str) -> None:
    message = refused_at_create({**job(), field: "{{ where }}"},
                                variables={"where": {"type": "string", "default": "x"}})
    assert message.startswith(f"{field}: "), message


# --- part 3: an allowed field guards its whole container, volume or mount -----------


def privileged_init(**changes: Any) -> dict[str, Any]:
    init = {"name": "setup", "image": "admin/sysctl:1", "command": ["sysctl", "-w", "x=1"],
            "securityContext": {"privileged": True}, **changes}
    return init


def test_an_allowed_privileged_init_container_cannot_be_repurposed() -> None:
    q = created(job(initContainers=[privileged_init()]), allow=["privileged"])
    launched(q)
    launched(q, resource_args=pod_args(initContainers=[privileged_init()]))
    for changed in (privileged_init(image="evil/shell:1"),
                    privileged_init(command=["sh", "-c", "cat /host/etc/shadow"]),
                    privileged_init(env=[{"name": "A", "value": "1"}])):
        message = refused(q, resource_args=pod_args(initContainers=[changed]))
        path = f"{POD}.initContainers[0]"
        assert message.startswith(f"{path}.securityContext.privileged: "), message
        assert f"{path} as a whole must be the admin's" in message


def test_an_allowed_privileged_main_container_cannot_take_other_fields_from_a_job() -> None:
    q = created(with_container(securityContext={"privileged": True}), allow=["privileged"])
    args = pod_args(containers=[{"name": "main", "image": "python:3.11",
                                 "securityContext": {"privileged": True},
                                 "volumeMounts": [{"name": "x", "mountPath": "/x"}]}])
    assert refused(q, resource_args=args).startswith(f"{C0}.securityContext.privileged: ")


HOST_VOLUME = {"name": "data", "hostPath": {"path": "/data", "type": "Directory"}}
HOST_MOUNT = {"name": "data", "mountPath": "/data", "readOnly": True}


def test_an_allowed_host_path_volume_and_its_mounts_are_the_admins_as_a_whole() -> None:
    config = job(volumes=[HOST_VOLUME])
    config["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [HOST_MOUNT]
    q = created(config, allow=["hostPath"])
    launched(q)
    main = {"name": "main", "image": "python:3.11", "volumeMounts": [HOST_MOUNT]}
    launched(q, resource_args=pod_args(containers=[{**main, "args": ["--x"]}]))
    writable = {**main, "volumeMounts": [{"name": "data", "mountPath": "/data"}]}
    message = refused(q, resource_args=pod_args(containers=[writable]))
    assert message.startswith(f"{C0}.volumeMounts[0]: "), message
    sub = {**main, "volumeMounts": [{**HOST_MOUNT, "subPath": ".."}]}
    assert refused(q, resource_args=pod_args(containers=[sub])).startswith(
        f"{C0}.volumeMounts[0]: ")
    sidecar = {"name": "side", "image": "busybox", "volumeMounts": [HOST_MOUNT]}
    assert refused(q, resource_args=pod_args(containers=[main, sidecar])).startswith(
        f"{POD}.containers[1].volumeMounts[0]: ")
    init = {"name": "i", "image": "busybox", "volumeMounts": [HOST_MOUNT]}
    assert refused(q, resource_args=pod_args(initContainers=[init])).startswith(
        f"{POD}.initContainers[0].volumeMounts[0]: ")
    typed = {**HOST_VOLUME, "hostPath": {"path": "/data", "type": "DirectoryOrCreate"}}
    message = refused(q, resource_args=pod_args(volumes=[typed]))
    assert message.startswith(f"{POD}.volumes[0].hostPath: "), message
    assert f"{POD}.volumes[0] as a whole" in message


# --- part 4: credentials, the admin's only -------------------------------------------

CREDENTIALS = [
    (pod_args(volumes=[{"name": "s", "secret": {"secretName": "relaunch-agent"}}]),
     f"{POD}.volumes[0].secret", "secretVolume"),
    (pod_args(volumes=[{"name": "t", "projected": {"sources": [{"serviceAccountToken": {
        "path": "token", "audience": "vault"}}]}}]),
     f"{POD}.volumes[0].projected", "projected"),
    (pod_args(containers=[{"name": "main", "env": [{"name": "DB", "valueFrom": {
        "secretKeyRef": {"name": "relaunch-agent", "key": "RELAUNCH_DATABASE_URL"}}}]}]),
     f"{C0}.env[0].valueFrom.secretKeyRef", "secretRef"),
    (pod_args(containers=[{"name": "main", "envFrom": [
        {"secretRef": {"name": "relaunch-agent"}}]}]), f"{C0}.envFrom", "envFrom"),
    (pod_args(containers=[{"name": "main", "envFrom": [
        {"configMapRef": {"name": "relaunch-agent-config"}}]}]), f"{C0}.envFrom", "envFrom"),
    (pod_args(volumes=[{"name": "c", "cephfs": {"monitors": ["m:6789"],
                                                "secretRef": {"name": "ceph"}}}]),
     f"{POD}.volumes[0].cephfs.secretRef", "secretRef"),
    (pod_args(volumes=[{"name": "a", "azureFile": {"secretName": "azure",
                                                   "shareName": "s"}}]),
     f"{POD}.volumes[0].azureFile.secretName", "secretRef"),
    (pod_args(volumes=[{"name": "c", "csi": {"driver": "secrets-store.csi.k8s.io",
                                             "nodePublishSecretRef": {"name": "x"}}}]),
     f"{POD}.volumes[0].csi", "csi"),
    (pod_args(imagePullSecrets=[{"name": "registry"}]), f"{POD}.imagePullSecrets",
     "imagePullSecrets"),
    (pod_args(serviceAccountName="cluster-admin"), f"{POD}.serviceAccountName",
     "serviceAccountName"),
    (pod_args(serviceAccount="cluster-admin"), f"{POD}.serviceAccount", "serviceAccountName"),
    (pod_args(automountServiceAccountToken=True), f"{POD}.automountServiceAccountToken",
     "automountServiceAccountToken"),
]


@pytest.mark.parametrize(("args", "path", "guard"), CREDENTIALS,
                         ids=[f"{g}:{p}" for _, p, g in CREDENTIALS])
def test_a_job_cannot_reach_a_credential(args: dict[str, Any], path: str, guard: str) -> None:
    q = created(job(), allow=sorted(KubernetesResource.allow_fields()))
    message = refused(q, resource_args=args)
    assert message.startswith(f"{path}: "), message
    assert f"({guard})" in message


def test_the_admin_gives_credentials_a_job_keeps_as_they_are() -> None:
    config = job(serviceAccountName="trainer", automountServiceAccountToken=False,
                 volumes=[{"name": "creds", "secret": {"secretName": "wandb"}}])
    config["spec"]["template"]["spec"]["initContainers"] = [
        {"name": "fetch", "image": "admin/fetch:1",
         "volumeMounts": [{"name": "creds", "mountPath": "/creds"}]}]
    q = created(config)
    launched(q)
    launched(q, resource_args=pod_args(serviceAccountName="trainer",
                                       automountServiceAccountToken=False))
    # The admin's secret volume, mounted into the job's container by a job: refused.
    mount = {"name": "main", "volumeMounts": [{"name": "creds", "mountPath": "/c"}]}
    assert refused(q, resource_args=pod_args(containers=[mount])).startswith(
        f"{C0}.volumeMounts[0]: ")
    assert refused(q, resource_args=pod_args(serviceAccountName="other")).startswith(
        f"{POD}.serviceAccountName: ")
    # The token turned off by the admin stays off: neither removed nor turned on.
    for value in (True, None):
        assert refused(q, resource_args=pod_args(automountServiceAccountToken=value)
                       ).startswith(f"{POD}.automountServiceAccountToken: ")
    # A job may turn the token off where the admin said nothing.
    launched(created(job()), resource_args=pod_args(automountServiceAccountToken=False))


def test_a_templated_service_account_is_no_admins_literal() -> None:
    message = refused_at_create(job(serviceAccountName="{{ sa }}"),
                                variables={"sa": {"type": "string", "default": "x"}})
    assert message.startswith(f"{POD}.serviceAccountName: "), message
    macro = refused_at_create(job(serviceAccountName="${SERVICE_ACCOUNT}"))
    assert macro.startswith(f"{POD}.serviceAccountName: "), macro


# --- part 5: kinds and node fields ---------------------------------------------------


@pytest.mark.parametrize(("api_version", "kind"), [
    ("apps/v1", "DaemonSet"), ("apps/v1", "Deployment"), ("v1", "Pod"),
    ("example.com/v1", "Widget"), ("batch/v1", "CronJob")])
def test_only_kinds_whose_end_relaunch_reads_are_allowed(api_version: str, kind: str) -> None:
    message = refused_at_create({"apiVersion": api_version, "kind": kind,
                                 "spec": {"template": {"spec": {"containers": [{}]}}}})
    assert message.startswith(f"kind: {kind!r} ({api_version}) is refused"), message
    assert "batch/v1 Job" in message and "kubeflow.org PyTorchJob" in message
    assert "jobset.x-k8s.io JobSet" in message and "batch.volcano.sh Job" in message


@pytest.mark.parametrize("manifest", [
    job(), pytorch_job({}),
    {"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet",
     "spec": {"replicatedJobs": [{"name": "w", "template": {"spec": job()["spec"]}}]}}],
    ids=["Job", "PyTorchJob", "JobSet"])
def test_workload_kinds_pass(manifest: dict[str, Any]) -> None:
    launched(created(manifest))


NODE_FIELDS = [
    (pod_args(nodeName="control-plane-1"), f"{POD}.nodeName", "nodeName"),
    (pod_args(tolerations=[{"key": "gpu", "operator": "Exists"}, {"operator": "Exists"}]),
     f"{POD}.tolerations[1]", "tolerations"),
    (pod_args(priorityClassName="system-node-critical"), f"{POD}.priorityClassName",
     "priorityClassName"),
]


@pytest.mark.parametrize(("args", "path", "guard"), NODE_FIELDS,
                         ids=[g for _, _, g in NODE_FIELDS])
def test_node_fields_are_the_admins(args: dict[str, Any], path: str, guard: str) -> None:
    q = created(job(), allow=sorted(KubernetesResource.allow_fields()))
    message = refused(q, resource_args=args)
    assert message.startswith(f"{path}: "), message
    assert f"({guard})" in message
    admins = job(**args["spec"]["template"]["spec"])
    launched(created(admins))  # the admin's own literal passes


# --- benign resource args still pass -------------------------------------------------


def test_benign_resource_args_pass() -> None:
    config = job(tolerations=[{"key": "gpu", "operator": "Exists"}])
    q = created(config)
    main = {"name": "main", "image": "python:3.11",
            "env": [{"name": "LR", "value": "0.1"}], "args": ["--epochs", "3"],
            "resources": {"limits": {"cpu": "2", "memory": "4Gi", "nvidia.com/gpu": 1}},
            "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False}}
    args = {"metadata": {"labels": {"team": "ml"}, "annotations": {"note": "x"}},
            "env": {"WANDB_PROJECT": "p"},
            "spec": {"backoffLimit": 1, "template": {
                "metadata": {"labels": {"exp": "1"}},
                "spec": {"containers": [main], "volumes": [{"name": "w", "emptyDir": {}}],
                         "automountServiceAccountToken": False}}}}
    resolved = launched(q, resource_args=args)
    assert resolved["spec"]["template"]["spec"]["containers"] == [main]


def test_a_host_path_volume_is_named_before_its_mounts() -> None:
    config = job(volumes=[HOST_VOLUME])
    config["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] = [HOST_MOUNT]
    assert refused_at_create(config).startswith(f"{POD}.volumes[0].hostPath: a hostPath "
                                                "volume is refused")
