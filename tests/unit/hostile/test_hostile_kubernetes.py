"""Hostile kubernetes jobs: what a submitter sends (``-R`` resource args, template
values) never reaches the cluster's credentials, the host, other nodes or another
cluster. Each payload is refused at ``launch`` and ``launch --dry-run`` with exit 2
and one line naming the JSON path, nothing enqueued; even where the queue's admin
allowed the field (``--allow-field``), since only the admin's own literal passes.

The payload tables go through the real CLI (``relaunch`` fixture); the property
tests through ``check_launch``, the function ``launch`` calls (the real resolve step
and the kubernetes resource's checks), with guarded fields inserted at random places
of an admin's manifest: Jobs, PyTorchJobs, JobSets and Volcano Jobs, their pod
templates, containers, init and ephemeral containers and lists. Controls: benign
resource args (variables, args, resources, labels...) still pass."""

from __future__ import annotations

import copy
import json
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launch_core.api import check_launch
from launch_core.backends.kubernetes.resource import KubernetesResource
from launch_core.errors import InvalidInput
from launch_core.spec.guardrails import JsonPath, format_path
from launch_core.spec.models import LaunchSpec, QueueDefinition

FUZZ = settings(max_examples=int(os.environ.get("RELAUNCH_FUZZ_EXAMPLES", "200")),
                deadline=None, suppress_health_check=[HealthCheck.too_slow])
POD = "spec.template.spec"
C0 = f"{POD}.containers[0]"
ALLOW_ALL = sorted(KubernetesResource.allow_fields())
ADMIN = {"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "python:3.11"}],
                                       "restartPolicy": "Never"}}}}


def pod(**fields: Any) -> dict[str, Any]:
    return {"spec": {"template": {"spec": fields}}}


def main(**fields: Any) -> dict[str, Any]:
    return pod(containers=[{"name": "main", **fields}])


def security(**context: Any) -> dict[str, Any]:
    return main(securityContext=context)


# (-R body for the kubernetes resource, the path the error names)
PAYLOADS: dict[str, tuple[dict[str, Any], str]] = {
    "kube-config-with-exec-plugin": ({"configFile": "~/.relaunch/runs/${run_id}/code/kc.yaml",
                                      "context": "prod-admin"}, "configFile"),
    "context": ({"context": "prod-admin"}, "context"),
    "namespace": ({"namespace": "kube-system"}, "namespace"),
    "metadata-namespace": ({"metadata": {"namespace": "relaunch"}}, "metadata.namespace"),
    "daemonset": ({"apiVersion": "apps/v1", "kind": "DaemonSet"}, "apiVersion"),
    "kind": ({"kind": "CronJob"}, "kind"),
    "job-container": ({"metadata": {"annotations": {"relaunch/container": "side"}}},
                      'metadata.annotations["relaunch/container"]'),
    "privileged": (security(privileged=True), f"{C0}.securityContext.privileged"),
    "privileged-init": (pod(containers=[{"name": "main"}], initContainers=[
        {"name": "i", "image": "busybox", "securityContext": {"privileged": True}}]),
        f"{POD}.initContainers[0].securityContext.privileged"),
    "privileged-ephemeral": (pod(containers=[{"name": "main"}], ephemeralContainers=[
        {"name": "d", "image": "busybox", "securityContext": {"privileged": "${run_id}"}}]),
        f"{POD}.ephemeralContainers[0].securityContext.privileged"),
    "host-path": (pod(volumes=[{"name": "root", "hostPath": {"path": "/"}}]),
                  f"{POD}.volumes[0].hostPath"),
    "host-network": (pod(hostNetwork=True), f"{POD}.hostNetwork"),
    "host-pid": (pod(hostPID=True), f"{POD}.hostPID"),
    "host-ipc": (pod(hostIPC="true"), f"{POD}.hostIPC"),
    "host-port": (main(ports=[{"containerPort": 22, "hostPort": 22}]),
                  f"{C0}.ports[0].hostPort"),
    "sys-admin": (security(capabilities={"add": ["CAP_SYS_ADMIN"]}),
                  f"{C0}.securityContext.capabilities.add[0]"),
    "all-capabilities": (security(capabilities={"add": "ALL"}),
                         f"{C0}.securityContext.capabilities.add"),
    "seccomp": (security(seccompProfile={"type": "Unconfined"}),
                f"{C0}.securityContext.seccompProfile.type"),
    "apparmor-annotation": ({"spec": {"template": {"metadata": {"annotations": {
        "container.apparmor.security.beta.kubernetes.io/main": "unconfined"}}}}},
        'spec.template.metadata.annotations["container.apparmor.security.beta.kubernetes.io'
        '/main"]'),
    "mount-propagation": (main(volumeMounts=[{"name": "w", "mountPath": "/w",
                                              "mountPropagation": "Bidirectional"}]),
                          f"{C0}.volumeMounts[0].mountPropagation"),
    "proc-mount": (security(procMount="Unmasked"), f"{C0}.securityContext.procMount"),
    "sysctl": (pod(securityContext={"sysctls": [{"name": "kernel.core_pattern",
                                                 "value": "|/tmp/x"}]}),
               f"{POD}.securityContext.sysctls[0]"),
    "selinux": (security(seLinuxOptions={"type": "spc_t"}),
                f"{C0}.securityContext.seLinuxOptions"),
    "host-process": (security(windowsOptions={"hostProcess": True}),
                     f"{C0}.securityContext.windowsOptions.hostProcess"),
    "secret-volume": (pod(volumes=[{"name": "s", "secret": {"secretName": "relaunch-agent"}}]),
                      f"{POD}.volumes[0].secret"),
    "token-projection": (pod(volumes=[{"name": "t", "projected": {"sources": [
        {"serviceAccountToken": {"path": "t", "audience": "https://kubernetes.default"}}]}}]),
        f"{POD}.volumes[0].projected"),
    "secret-env": (main(env=[{"name": "DB", "valueFrom": {"secretKeyRef": {
        "name": "relaunch-agent", "key": "RELAUNCH_DATABASE_URL"}}}]),
        f"{C0}.env[0].valueFrom.secretKeyRef"),
    "env-from": (main(envFrom=[{"secretRef": {"name": "relaunch-agent"}}]), f"{C0}.envFrom"),
    "csi-secrets-store": (pod(volumes=[{"name": "c", "csi": {
        "driver": "secrets-store.csi.k8s.io",
        "volumeAttributes": {"secretProviderClass": "prod"}}}]), f"{POD}.volumes[0].csi"),
    "flex-secret": (pod(volumes=[{"name": "f", "flexVolume": {
        "driver": "x/y", "secretRef": {"name": "s"}}}]),
        f"{POD}.volumes[0].flexVolume.secretRef"),
    "pull-secrets": (pod(imagePullSecrets=[{"name": "registry"}]), f"{POD}.imagePullSecrets"),
    "service-account": (pod(serviceAccountName="relaunch-agent"),
                        f"{POD}.serviceAccountName"),
    "service-account-alias": (pod(serviceAccount="default"), f"{POD}.serviceAccount"),
    "token-on": (pod(automountServiceAccountToken=True),
                 f"{POD}.automountServiceAccountToken"),
    "node-name": (pod(nodeName="control-plane"), f"{POD}.nodeName"),
    "tolerate-everything": (pod(tolerations=[{"operator": "Exists"}]),
                            f"{POD}.tolerations[0]"),
    "system-priority": (pod(priorityClassName="system-cluster-critical"),
                        f"{POD}.priorityClassName"),
}


def create(relaunch: Any, config: dict[str, Any], *extra: str) -> None:
    done = relaunch("queue", "create", "k8s", "-r", "kubernetes", "--config",
                    json.dumps(config), *extra)
    assert done.code == 0, done.err


def one_error_line(result: Any) -> str:
    assert result.code == 2, (result.out, result.err)
    (line,) = result.err.strip().splitlines()
    return str(line)


def refused_everywhere(relaunch: Any, *args: str) -> str:
    """The error line of ``launch`` and of ``launch --dry-run`` (the same); no job."""
    line = one_error_line(relaunch("launch", "-q", "k8s", "-d", "python:3.11", *args))
    assert one_error_line(relaunch("launch", "-q", "k8s", "-d", "python:3.11", *args,
                                   "--dry-run")) == line
    assert relaunch("job", "list", "--json").json() == []
    return line


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_hostile_resource_args_are_refused_naming_the_path(relaunch: Any, name: str) -> None:
    args, path = PAYLOADS[name]
    allow = [flag for field in ALLOW_ALL for flag in ("--allow-field", field)]
    create(relaunch, ADMIN, *allow)  # every allowable field allowed: the admin's only
    line = refused_everywhere(relaunch, "-R", json.dumps({"kubernetes": args}))
    assert line.startswith(f"error: {path}: "), line


# (admin's config, its variables, allowed fields, the job's -v, the path; None: the
# queue is refused at create, naming the path)
VARIABLE = {"type": "string", "default": "x"}
TEMPLATES: dict[str, tuple[dict[str, Any], dict[str, Any], list[str], str | None, str]] = {
    "host-network-flag": (pod(containers=[{"name": "main"}], hostNetwork="{{ net }}"),
                          {"net": {"type": "boolean", "default": False}}, ["hostNetwork"],
                          "net=true", f"{POD}.hostNetwork"),
    "privileged-flag": (security(privileged="{{ p }}"),
                        {"p": {"type": "boolean", "default": False}}, ["privileged"],
                        "p=true", f"{C0}.securityContext.privileged"),
    "capability": (security(capabilities={"add": ["{{ cap }}"]}),
                   {"cap": {"type": "string", "default": "CHOWN"}}, ["capabilities"],
                   "cap=SYS_ADMIN", f"{C0}.securityContext.capabilities.add[0]"),
    "selinux-type": (security(seLinuxOptions={"type": "{{ t }}"}),
                     {"t": {"type": "string", "default": "container_t"}}, ["seLinuxOptions"],
                     "t=spc_t", f"{C0}.securityContext.seLinuxOptions"),
    "priority": (pod(containers=[{"name": "main"}], priorityClassName="{{ pc }}"),
                 {"pc": {"type": "string", "default": "high"}}, [],
                 "pc=system-node-critical", f"{POD}.priorityClassName"),
    "node": (pod(containers=[{"name": "main"}], nodeName="{{ node }}"),
             {"node": {"type": "string", "default": ""}}, [], "node=control-plane",
             f"{POD}.nodeName"),
    "toleration": (pod(containers=[{"name": "main"}], tolerations=[
        {"key": "{{ key }}", "operator": "Exists"}]),
        {"key": {"type": "string", "default": "gpu"}}, [], "key=", f"{POD}.tolerations[0]"),
    "host-path": (pod(containers=[{"name": "main"}], volumes=[
        {"name": "h", "hostPath": {"path": "{{ path }}"}}]), {"path": VARIABLE}, ["hostPath"],
        None, f"{POD}.volumes[0].hostPath"),
    "namespace": ({**ADMIN, "namespace": "{{ ns }}"}, {"ns": VARIABLE}, [], None, "namespace"),
    "kube-config": ({**ADMIN, "configFile": "{{ kc }}"}, {"kc": VARIABLE}, [], None,
                    "configFile"),
    "service-account": (pod(containers=[{"name": "main"}], serviceAccountName="{{ sa }}"),
                        {"sa": VARIABLE}, [], None, f"{POD}.serviceAccountName"),
    "secret-name": (pod(containers=[{"name": "main"}], volumes=[
        {"name": "s", "secret": {"secretName": "{{ s }}"}}]), {"s": VARIABLE}, [], None,
        f"{POD}.volumes[0].secret"),
}


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_hostile_template_values_are_refused_naming_the_path(relaunch: Any, name: str) -> None:
    config, variables, allow, value, path = TEMPLATES[name]
    args = ["queue", "create", "k8s", "-r", "kubernetes", "--config", json.dumps(config),
            "--template-variables", json.dumps(variables),
            *[flag for field in allow for flag in ("--allow-field", field)]]
    if value is None:
        line = one_error_line(relaunch(*args))
        assert line.startswith(f"error: queue create: config: {path}: "), line
        assert relaunch("queue", "list", "--json").json() == []
        return
    assert relaunch(*args).code == 0
    line = refused_everywhere(relaunch, "-v", value)
    assert line.startswith(f"error: {path}: "), line


BENIGN = {
    "env-and-args": main(env=[{"name": "LR", "value": "0.1"}], args=["--epochs", "3"]),
    "resources": main(resources={"limits": {"cpu": "4", "memory": "8Gi",
                                            "nvidia.com/gpu": 1}}),
    "labels": {"metadata": {"labels": {"team": "ml"}, "annotations": {"note": "hi"}},
               "spec": {"template": {"metadata": {"labels": {"exp": "7"}}}}},
    "queue-env": {"env": {"WANDB_PROJECT": "p"}},
    "scratch-volume": pod(containers=[{"name": "main", "volumeMounts": [
        {"name": "scratch", "mountPath": "/scratch"}]}],
        volumes=[{"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}}]),
    "restricted": security(runAsNonRoot=True, allowPrivilegeEscalation=False,
                           capabilities={"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]},
                           seccompProfile={"type": "RuntimeDefault"}),
    "token-off": pod(automountServiceAccountToken=False),
    "gpu-toleration": pod(tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists"}]),
}


def test_benign_resource_args_still_launch(relaunch: Any) -> None:
    create(relaunch, ADMIN)
    for name, args in BENIGN.items():
        done = relaunch("launch", "-q", "k8s", "-d", "python:3.11", "-R",
                        json.dumps({"kubernetes": args}), "--json")
        assert done.code == 0, (name, done.err)
    assert len(relaunch("job", "list", "--json").json()) == len(BENIGN)


# --- property tests: guarded fields anywhere in an admin's manifest --------------------

TEMPLATE = {"metadata": {"labels": {"app": "train"}},
            "spec": {"containers": [{"name": "main", "image": "python:3.11",
                                     "env": [{"name": "A", "value": "1"}]},
                                    {"name": "side", "image": "busybox"}],
                     "volumes": [{"name": "scratch", "emptyDir": {}}],
                     "restartPolicy": "Never"}}


def admin_manifests() -> dict[str, tuple[dict[str, Any], list[JsonPath]]]:
    """Admin manifests with nothing guarded, and the paths of their pod specs."""
    t = copy.deepcopy
    return {
        "Job": ({"spec": {"template": t(TEMPLATE)}}, [("spec", "template", "spec")]),
        "PyTorchJob": ({"apiVersion": "kubeflow.org/v1", "kind": "PyTorchJob", "spec": {
            "pytorchReplicaSpecs": {role: {"replicas": 1, "template": t(TEMPLATE)}
                                    for role in ("Master", "Worker")}}},
            [("spec", "pytorchReplicaSpecs", role, "template", "spec")
             for role in ("Master", "Worker")]),
        "JobSet": ({"apiVersion": "jobset.x-k8s.io/v1alpha2", "kind": "JobSet", "spec": {
            "replicatedJobs": [{"name": f"j{i}", "template": {"spec": {"template": t(TEMPLATE)}}}
                               for i in range(2)]}},
            [("spec", "replicatedJobs", i, "template", "spec", "template", "spec")
             for i in range(2)]),
        "VolcanoJob": ({"apiVersion": "batch.volcano.sh/v1alpha1", "kind": "Job", "spec": {
            "tasks": [{"name": f"t{i}", "replicas": 1, "template": t(TEMPLATE)}
                      for i in range(2)]}},
            [("spec", "tasks", i, "template", "spec") for i in range(2)]),
    }


# Guarded fields of a container: (key, value, the path under the container that is named)
CONTAINER_FIELDS: list[tuple[str, Any, JsonPath]] = [
    ("securityContext", {"privileged": True}, ("securityContext", "privileged")),
    ("securityContext", {"procMount": "Unmasked"}, ("securityContext", "procMount")),
    ("securityContext", {"seLinuxOptions": {"user": "system_u"}},
     ("securityContext", "seLinuxOptions")),
    ("securityContext", {"windowsOptions": {"hostProcess": True}},
     ("securityContext", "windowsOptions", "hostProcess")),
    ("securityContext", {"seccompProfile": {"type": "Unconfined"}},
     ("securityContext", "seccompProfile", "type")),
    ("securityContext", {"appArmorProfile": {"type": "Unconfined"}},
     ("securityContext", "appArmorProfile", "type")),
    ("envFrom", [{"configMapRef": {"name": "relaunch-agent-config"}}], ("envFrom",)),
    ("volumeMounts", [{"name": "scratch", "mountPath": "/s",
                       "mountPropagation": "Bidirectional"}],
     ("volumeMounts", 0, "mountPropagation")),
]
# Guarded fields of a pod spec: (key, value, the path under the pod spec that is named)
POD_FIELDS: list[tuple[str, Any, JsonPath]] = [
    ("hostNetwork", True, ("hostNetwork",)), ("hostPID", True, ("hostPID",)),
    ("hostIPC", True, ("hostIPC",)), ("nodeName", "n1", ("nodeName",)),
    ("serviceAccountName", "admin", ("serviceAccountName",)),
    ("serviceAccount", "admin", ("serviceAccount",)),
    ("automountServiceAccountToken", True, ("automountServiceAccountToken",)),
    ("priorityClassName", "system-node-critical", ("priorityClassName",)),
    ("imagePullSecrets", [{"name": "r"}], ("imagePullSecrets",)),
    ("securityContext", {"seLinuxOptions": {"type": "unconfined_t"}},
     ("securityContext", "seLinuxOptions")),
]
# Guarded entries of a pod's lists: (list, entry, the key under the entry that is named)
POD_LIST_ENTRIES: list[tuple[JsonPath, dict[str, Any], JsonPath]] = [
    (("volumes",), {"name": "h", "hostPath": {"path": "/var/run"}}, ("hostPath",)),
    (("volumes",), {"name": "s", "secret": {"secretName": "x"}}, ("secret",)),
    (("volumes",), {"name": "p", "projected": {"sources": []}}, ("projected",)),
    (("volumes",), {"name": "c", "csi": {"driver": "d"}}, ("csi",)),
    (("volumes",), {"name": "r", "rbd": {"image": "i", "monitors": ["m"],
                                         "secretRef": {"name": "ceph"}}}, ("rbd", "secretRef")),
    (("tolerations",), {"operator": "Exists", "effect": "NoExecute"}, ()),
    (("securityContext", "sysctls"), {"name": "kernel.sem", "value": "1"}, ()),
]
# Guarded entries of a container's lists.
CONTAINER_LIST_ENTRIES: list[tuple[JsonPath, Any, JsonPath]] = [
    (("securityContext", "capabilities", "add"), "SYS_PTRACE", ()),
    (("securityContext", "capabilities", "add"), "NET_RAW", ()),
    (("ports",), {"containerPort": 80, "hostPort": 80}, ("hostPort",)),
    (("env",), {"name": "T", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}},
     ("valueFrom", "secretKeyRef")),
]
SAFE_ENTRIES: dict[JsonPath, list[Any]] = {
    ("volumes",): [{"name": "e", "emptyDir": {}}, {"name": "cm", "configMap": {"name": "c"}}],
    ("tolerations",): [{"key": "gpu", "operator": "Exists"}],
    ("securityContext", "sysctls"): [{"name": "net.ipv4.tcp_syncookies", "value": "1"}],
    ("securityContext", "capabilities", "add"): ["CHOWN", "NET_BIND_SERVICE"],
    ("ports",): [{"containerPort": 8080}],
    ("env",): [{"name": "B", "value": "2"}],
}


def _node(root: dict[str, Any], path: JsonPath) -> Any:
    for part in path:
        root = root[part]
    return root


def _list_at(node: dict[str, Any], path: JsonPath) -> list[Any]:
    for part in path[:-1]:
        node = node.setdefault(part, {})
    return node.setdefault(path[-1], [])  # type: ignore[no-any-return]


@st.composite
def hostile_manifests(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], str]:
    """(the admin's manifest, the job's resource args, the path the error names): the
    admin's manifest with one guarded field put somewhere in one of its pod specs."""
    admin, pods = draw(st.sampled_from(sorted(admin_manifests().items())))[1]
    hostile = copy.deepcopy(admin)
    pod_path = draw(st.sampled_from(pods))
    spec = _node(hostile, pod_path)
    where = draw(st.sampled_from(["pod", "pod-list", "container", "container-list"]))
    if where in ("container", "container-list"):
        group = draw(st.sampled_from(["containers", "initContainers", "ephemeralContainers"]))
        containers = spec.setdefault(group, [])
        index = draw(st.integers(0, len(containers)))
        if index == len(containers):
            containers.append({"name": f"c{index}", "image": "busybox"})
        container = containers[index]
        base: JsonPath = (*pod_path, group, index)
        if where == "container":
            key, value, named = draw(st.sampled_from(CONTAINER_FIELDS))
            container[key] = copy.deepcopy(value)
        else:
            key_path, entry, under = draw(st.sampled_from(CONTAINER_LIST_ENTRIES))
            named = _insert(draw, container, key_path, entry, under)
    elif where == "pod":
        key, value, named = draw(st.sampled_from(POD_FIELDS))
        spec[key] = copy.deepcopy(value)
        base = pod_path
    else:
        key_path, entry, under = draw(st.sampled_from(POD_LIST_ENTRIES))
        named = _insert(draw, spec, key_path, entry, under)
        base = pod_path
    return admin, {"spec": hostile["spec"]}, format_path((*base, *named))


def _insert(draw: st.DrawFn, node: dict[str, Any], key_path: JsonPath, entry: Any,
            under: JsonPath) -> JsonPath:
    """Put ``entry`` in the list at ``key_path`` among safe entries, at any index."""
    items = _list_at(node, key_path)
    items.extend(draw(st.lists(st.sampled_from(SAFE_ENTRIES[key_path]), max_size=3,
                               unique_by=json.dumps)))
    index = draw(st.integers(0, len(items)))
    items.insert(index, copy.deepcopy(entry))
    return (*key_path, index, *under)


def queue(config: dict[str, Any], allow: list[str]) -> QueueDefinition:
    return QueueDefinition(entity="team", name="k8s", resource="kubernetes", config=config,
                           allow_fields=allow)


@FUZZ
@given(case=hostile_manifests(), allow=st.sampled_from([[], ALLOW_ALL]))
def test_a_guarded_field_anywhere_in_a_pod_spec_is_refused(
        case: tuple[dict[str, Any], dict[str, Any], str], allow: list[str]) -> None:
    admin, resource_args, path = case
    q = queue(admin, allow)
    check_launch(q, LaunchSpec(image="python:3.11"))  # the admin's manifest passes
    with pytest.raises(InvalidInput) as info:
        check_launch(q, LaunchSpec(image="python:3.11", resource_args=resource_args))
    assert str(info.value).startswith(f"{path}: "), (str(info.value), path)


@st.composite
def benign_manifests(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the admin's manifest, resource args changing what the admin left open)."""
    admin, pods = draw(st.sampled_from(sorted(admin_manifests().items())))[1]
    changed = copy.deepcopy(admin)
    for pod_path in draw(st.lists(st.sampled_from(pods), min_size=1, unique=True)):
        spec = _node(changed, pod_path)
        container = spec["containers"][draw(st.integers(0, len(spec["containers"]) - 1))]
        text = st.text("abcdefghij-_0123456789", min_size=1, max_size=8)
        container["env"] = [{"name": f"V{i}", "value": v}
                            for i, v in enumerate(draw(st.lists(text, max_size=3)))]
        container["args"] = draw(st.lists(text, max_size=3))
        container["resources"] = {"limits": {"cpu": str(draw(st.integers(1, 8))),
                                             "nvidia.com/gpu": draw(st.integers(0, 8))}}
        for key_path in draw(st.lists(st.sampled_from(sorted(SAFE_ENTRIES)), unique=True)):
            target = container if key_path in (("ports",), ("env",),
                                               ("securityContext", "capabilities", "add")) \
                else spec
            _list_at(target, key_path).extend(SAFE_ENTRIES[key_path])
        template = _node(changed, pod_path[:-1])
        template["metadata"] = {"labels": {"exp": draw(text)}}
    return admin, {"metadata": {"labels": {"team": "ml"}}, "spec": changed["spec"]}


@FUZZ
@given(case=benign_manifests())
def test_benign_changes_anywhere_still_pass(case: tuple[dict[str, Any], dict[str, Any]]
                                            ) -> None:
    admin, resource_args = case
    check_launch(queue(admin, []), LaunchSpec(image="python:3.11", resource_args=resource_args))
