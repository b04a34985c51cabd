"""The pre-extracted Kubernetes schema subset and its validator
(launch_core/backends/kubernetes/schema_lite.py) against what they stand in for: the shipped
subset is what the installed kubernetes-validate's newest strict schemas give, its
version is kubernetes-validate's ``latest_version()``, and on manifests with random
changes (unknown keys, wrong types, nulls, macros, int-or-string values) the subset's
validator reports exactly the errors ``jsonschema`` reports with the full schema."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from launch_core.backends.kubernetes import schema as kube_schema
from launch_core.backends.kubernetes import schema_lite as kube_schema_lite
from launch_core.errors import InvalidInput
from tests.support.json_changes import change

kubernetes_validate = pytest.importorskip("kubernetes_validate")  # the [kubernetes] extra

CONTAINER = {"name": "main", "image": "img", "args": ["--lr", "${run_id}"],
             "env": [{"name": "A", "value": "1"}], "ports": [{"containerPort": 8080}],
             "resources": {"limits": {"cpu": "1", "memory": "1Gi"}, "requests": {"cpu": 0.5}},
             "securityContext": {"runAsNonRoot": True}}
JOB = {"apiVersion": "batch/v1", "kind": "Job",
       "metadata": {"name": "j", "labels": {"team": "ml"}, "annotations": {"a": "b"}},
       "spec": {"backoffLimit": 0, "template": {"spec": {
           "containers": [CONTAINER], "restartPolicy": "Never",
           "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1Gi"}}]}}}}
POD_TEMPLATE = {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "t"},
                "template": JOB["spec"]["template"]}
KEYS = ["name", "image", "containers", "resources", "limits", "cpu", "containerPort", "env",
        "value", "valueFrom", "restartPolicy", "backoffLimit", "template", "spec", "labels",
        "securityContext", "privileged", "volumes", "emptyDir", "sizeLimit", "imagee",
        "typo", "port", "medium", "ttlSecondsAfterFinished"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**40, 2**40),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["", "x", "1", "Never", "OnFailure", "${run_id}", "1Gi",
                                     "Memory", "80"]))
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(KEYS), inner, max_size=3)),
    max_leaves=6)


def _errors(validator: Any, document: dict[str, Any]) -> list[tuple[Any, ...]]:
    return sorted(((e.validator, tuple(e.absolute_path), json.dumps(e.instance, sort_keys=True),
                    json.dumps(e.validator_value, sort_keys=True))
                   for e in validator.iter_errors(document)), key=repr)


def test_the_shipped_subset_is_the_installed_schemas() -> None:
    assert kube_schema_lite.installed() is not None
    assert kube_schema_lite.installed()[0] == kubernetes_validate.latest_version()
    assert json.loads(kube_schema_lite.SUBSET.read_text()) == json.loads(
        json.dumps(kube_schema_lite.extract()))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_subset_reports_what_the_full_schema_reports(data: st.DataObject) -> None:
    document = copy.deepcopy(data.draw(st.sampled_from([JOB, POD_TEMPLATE])))
    api_version, kind = document["apiVersion"], document["kind"]  # (a change may drop them)
    change(data, document, VALUES, KEYS)
    lite = kube_schema_lite.validator(api_version, kind)
    assert lite is not None
    full = kube_schema._validator(api_version, kind)
    assert _errors(lite, document) == _errors(full, document)


@pytest.mark.parametrize(("change", "named"), [
    (lambda c: c.update(env={"A": "1"}), "containers[0].env: must be of type"),
    (lambda c: c.update(imagee="x"), "containers[0].imagee: unknown field"),
    (lambda c: c["resources"]["limits"].update(cpu=None), "resources.limits.cpu"),
    (lambda c: c["ports"][0].update(containerPort="http"), "containerPort: must be of type"),
])
def test_a_partial_check_names_what_the_full_check_names(change: Any, named: str) -> None:
    document = copy.deepcopy(JOB)
    change(document["spec"]["template"]["spec"]["containers"][0])
    messages = []
    for partial in (True, False):
        with pytest.raises(InvalidInput) as refused:
            kube_schema.validate_schema(document, partial=partial)
        messages.append(str(refused.value))
    assert named in messages[0] and messages[0] == messages[1]
