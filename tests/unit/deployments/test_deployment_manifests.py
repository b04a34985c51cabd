"""The agent's cluster deployment (deployments/kubernetes): every manifest of the
kustomization parses and passes the Kubernetes OpenAPI schema (kubernetes-validate,
offline), the names tie together, the Deployment's command is a real ``relaunch``
command line, its launch-config.yaml loads, the Role grants every Kubernetes API
call relaunch's kubernetes code makes, and the runs go to a namespace apart from the
agent's (and its Secret's), where the Role is granted."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import typer
import yaml

from launch_core.backends.kubernetes.guardrails import check_manifest, validate_schema
from launch_core.spec.agent_config import load_agent_config
from relaunch_cli.main import app
from tests.support import require_service

ROOT = Path(__file__).resolve().parents[3]
HERE = ROOT / "deployments" / "kubernetes"
# Where relaunch calls the Kubernetes API (the resource, its modules, the kaniko builder).
KUBE_CODE = [*sorted((ROOT / "launch_core" / "backends" / "kubernetes").glob("*.py")),
             *sorted((ROOT / "launch_core" / "backends" / "kaniko").glob("*.py"))]
VERBS = {"create": "create", "get": "get", "read": "get", "list": "list",
         "delete": "delete", "patch": "patch", "replace": "update"}
RESOURCES = {"pod": "pods", "pod_log": "pods/log", "secret": "secrets", "event": "events",
             "job": "jobs", "config_map": "configmaps"}


def kustomization() -> dict[str, Any]:
    return dict(yaml.safe_load((HERE / "kustomization.yaml").read_text()))


def manifests() -> list[dict[str, Any]]:
    docs = []
    for name in kustomization()["resources"]:
        docs += [doc for doc in yaml.safe_load_all((HERE / name).read_text()) if doc]
    return docs


def one(kind: str) -> dict[str, Any]:
    found = [doc for doc in manifests() if doc["kind"] == kind]
    assert len(found) == 1, kind
    return found[0]


def agent_namespace() -> str:
    return str(one("Deployment")["metadata"]["namespace"])


def jobs_namespace() -> str:
    """The namespace runs go to: the agent's RELAUNCH_KUBE_NAMESPACE."""
    (container,) = one("Deployment")["spec"]["template"]["spec"]["containers"]
    (value,) = [e["value"] for e in container.get("env") or []
                if e["name"] == "RELAUNCH_KUBE_NAMESPACE"]
    return str(value)


def test_every_manifest_passes_the_kubernetes_schema() -> None:
    docs = manifests()
    assert {doc["kind"] for doc in docs} == {"Namespace", "ServiceAccount", "Role",
                                             "RoleBinding", "ConfigMap", "Secret",
                                             "Deployment"}
    for doc in docs:
        validate_schema(doc)
    listed = set(kustomization()["resources"])
    assert {p.name for p in HERE.glob("*.yaml")} - listed == {"kustomization.yaml"}


def test_the_names_tie_together() -> None:
    namespace = agent_namespace()
    assert {d["metadata"]["name"] for d in manifests() if d["kind"] == "Namespace"} == {
        namespace, jobs_namespace()}
    account = one("ServiceAccount")["metadata"]["name"]
    binding = one("RoleBinding")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role",
                                  "name": one("Role")["metadata"]["name"]}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account,
                                    "namespace": namespace}]
    pod = one("Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account
    (container,) = pod["containers"]
    assert container["image"] in [image["name"] for image in kustomization()["images"]]
    assert container["envFrom"] == [{"secretRef": {"name": one("Secret")["metadata"]["name"]}}]
    assert "RELAUNCH_DATABASE_URL" in one("Secret")["stringData"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: volumes[m["name"]] for m in container["volumeMounts"]}
    config_path = Path(container["command"][container["command"].index("--config") + 1])
    config_volume = mounts[str(config_path.parent)]["configMap"]
    assert config_volume["name"] == one("ConfigMap")["metadata"]["name"]
    assert config_path.name in one("ConfigMap")["data"]


def test_the_deployment_runs_a_real_relaunch_command() -> None:
    command = one("Deployment")["spec"]["template"]["spec"]["containers"][0]["command"]
    assert command[0] == "relaunch"
    group: Any = typer.main.get_command(app)
    context = group.context_class(group, info_name="relaunch")
    name, *rest = command[1:]
    assert name == "launch-agent"
    sub = group.get_command(context, name)
    sub_context = sub.make_context(name, rest, parent=context)  # unknown flags raise here
    assert sub_context.params["config"] == "/etc/relaunch/launch-config.yaml"


def test_the_configmaps_launch_config_loads_without_warnings() -> None:
    data = yaml.safe_load(one("ConfigMap")["data"]["launch-config.yaml"])
    config, warnings = load_agent_config(data=data, environ={})
    assert warnings == []
    assert config.queues and config.entity


def test_runs_go_apart_from_the_agents_namespace_and_secret() -> None:
    """A run's pod never shares a namespace with the agent's Secret (the queue store's
    URL), and the agent is granted nothing in its own namespace."""
    agent, jobs = agent_namespace(), jobs_namespace()
    assert jobs != agent
    assert "namespace" not in kustomization()  # each manifest names its own
    for kind in ("ServiceAccount", "ConfigMap", "Secret", "Deployment"):
        assert one(kind)["metadata"]["namespace"] == agent, kind
    for kind in ("Role", "RoleBinding"):
        assert one(kind)["metadata"]["namespace"] == jobs, kind
    assert one("RoleBinding")["subjects"][0]["namespace"] == agent
    (namespace,) = [d for d in manifests()
                    if d["kind"] == "Namespace" and d["metadata"]["name"] == jobs]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"


def test_the_agents_own_pod_passes_relaunchs_guardrails() -> None:
    deployment = one("Deployment")
    check_manifest(deployment)
    security = deployment["spec"]["template"]["spec"]["securityContext"]
    assert security["runAsNonRoot"] is True and security["runAsUser"] != 0


def api_calls() -> set[tuple[str, str]]:
    """(verb, resource) of each ``<verb>_namespaced_<resource>`` call in the code;
    resource ``custom`` for the custom-objects API."""
    calls = set()
    for path in KUBE_CODE:
        for verb, what in re.findall(r"\b(create|get|read|list|delete|patch|replace)"
                                     r"_namespaced_(\w+?)(?:_with_http_info)?\(",
                                     path.read_text()):
            resource = "custom" if what == "custom_object" else RESOURCES[what]
            calls.add((VERBS[verb], resource))
    return calls


def test_the_role_grants_every_call_the_agent_makes() -> None:
    calls = api_calls()
    assert ("create", "custom") in calls  # the scan does find the resource's calls
    rules = one("Role")["rules"]
    granted = {(verb, resource) for rule in rules for resource in rule["resources"]
               for verb in rule["verbs"]}
    # The custom-objects API serves batch Jobs and the custom kinds the Role lists.
    kinds = ["jobs", *[r for rule in rules if rule["apiGroups"] not in ([""], ["batch"])
                       for r in rule["resources"]]]
    for verb, resource in calls:
        for needed in (kinds if resource == "custom" else [resource]):
            assert (verb, needed) in granted, f"role.yaml does not grant {verb} {needed}"
    assert not any(v in rule["verbs"] for rule in rules for v in ("*", "update", "patch")
                   if "secrets" in rule["resources"])
    assert ("get", "secrets") not in granted and ("list", "secrets") not in granted


def test_kubectl_kustomize_renders_the_agent_and_its_role_into_their_namespaces() -> None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        require_service("kubectl", "not on PATH (renders the kustomization offline)")
    out = subprocess.run([str(kubectl), "kustomize", str(HERE)], capture_output=True,
                         text=True, check=True, timeout=60).stdout
    rendered = [doc for doc in yaml.safe_load_all(out) if doc]
    assert sorted(d["kind"] for d in rendered) == sorted(d["kind"] for d in manifests())
    expected = {"Role": jobs_namespace(), "RoleBinding": jobs_namespace()}
    for doc in rendered:
        validate_schema(doc)
        if doc["kind"] != "Namespace":
            assert doc["metadata"]["namespace"] == expected.get(doc["kind"],
                                                                agent_namespace()), doc["kind"]
    (deployment,) = [d for d in rendered if d["kind"] == "Deployment"]
    image = kustomization()["images"][0]
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == \
        f"{image['newName']}:{image['newTag']}"


def test_the_image_runs_the_agent_as_non_root() -> None:
    text = (HERE / "Dockerfile").read_text()
    assert re.search(r"^USER 10001", text, re.M)
    assert re.search(r'^CMD \["launch-agent"\]', text, re.M)
    assert '"/src[postgres,kubernetes]"' in text
