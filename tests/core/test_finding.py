"""Findings, resources and document verdicts travel between processes unchanged."""

from __future__ import annotations

import copy
import pickle

from socle.core.finding import DocumentResult, Finding, Resource, Severity, Status


def test_finding_survives_pickling_and_copying_with_every_field() -> None:
    f = Finding("SCL-001", "privileged", Severity.CRITICAL, "security",
                Resource("apps/v1", "Deployment", "ns", "web"), "d.yaml", 12, 7, 2,
                "/spec/template", "drop it", {"frameworks": ["nsa"]}, "https://x", "Title",
                {"status": "failed", "evidence": {"privileged": True}})
    for other in (pickle.loads(pickle.dumps(f)), copy.deepcopy(f), copy.copy(f)):
        assert other == f
        assert other.to_dict() == f.to_dict()
    assert pickle.loads(pickle.dumps(Finding("r", "m"))) == Finding("r", "m")


def test_shared_resource_is_pickled_once_per_message() -> None:
    res = Resource("v1", "Pod", "", "p")
    a, b = pickle.loads(pickle.dumps([Finding("a", "m", resource=res),
                                      Finding("b", "m", resource=res)]))
    assert a.resource == res and a.resource is b.resource


def test_document_result_survives_pickling() -> None:
    r = DocumentResult("f.yaml", 3, 40, Resource("v1", "Service", "a", "b"), Status.SKIPPED,
                       "not a Kubernetes resource")
    assert pickle.loads(pickle.dumps(r)) == r


def test_a_resource_named_by_a_yaml_boolean_or_number_is_named_as_kubeconform_names_it(
) -> None:
    # `name: y` is the boolean true for Kubernetes (YAML 1.1): kubeconform's report says
    # "ConfigMap true", not Python's "True"
    assert Resource.of({"kind": "ConfigMap", "metadata": {"name": True}}).name == "true"
    assert Resource.of({"kind": "ConfigMap", "metadata": {"name": False,
                                                          "namespace": 7}}).namespace == "7"
    assert Resource.of({"kind": "ConfigMap", "metadata": {"name": None}}).name == ""
