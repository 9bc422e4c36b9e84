"""Gatekeeper templates, constraints, match, envelope and inventory, through the real engine."""

from __future__ import annotations

import os
from typing import Any

import pytest

from socle.core.document import Document
from socle.core.errors import InputError
from socle.core.finding import Severity
from socle.policy import gatekeeper as gk

HERE = os.path.dirname(__file__)
FIXTURES = os.path.join(HERE, "..", "compat", "gatekeeper")



def doc(obj: dict[str, Any], file: str = "x.yaml", line: int = 1) -> Document:
    return Document(obj=obj, file=file, line=line)


def pod(name: str = "p", ns: str | None = "default", labels: dict[str, str] | None = None,
        images: tuple[str, ...] = ("nginx:1",)) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if ns:
        meta["namespace"] = ns
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "spec": {"containers": [{"name": f"c{i}", "image": im}
                                    for i, im in enumerate(images)]}}


def namespace(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, **({"labels": labels} if labels else {})}}


# --- match ------------------------------------------------------------------------------------


def test_kinds_match_groups_and_wildcards() -> None:
    deploy = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}}
    assert gk.matches({"kinds": [{"apiGroups": ["apps"], "kinds": ["Deployment"]}]}, deploy, {})
    assert not gk.matches({"kinds": [{"apiGroups": [""], "kinds": ["Deployment"]}]}, deploy, {})
    assert gk.matches({"kinds": [{"apiGroups": ["*"], "kinds": ["*"]}]}, deploy, {})
    assert gk.matches({"kinds": [{"apiGroups": ["apps"], "kinds": []}]}, deploy, {})
    assert not gk.matches({"kinds": [{"apiGroups": ["apps"], "kinds": ["StatefulSet"]},
                                     {"apiGroups": ["batch"], "kinds": ["*"]}]}, deploy, {})
    assert gk.matches({}, deploy, {})


def test_namespace_globs_and_exclusions() -> None:
    m = {"namespaces": ["team-*", "*-prod", "default"]}
    assert gk.matches(m, pod(ns="team-a"), {})
    assert gk.matches(m, pod(ns="shop-prod"), {})
    assert gk.matches(m, pod(ns="default"), {})
    assert not gk.matches(m, pod(ns="kube-system"), {})
    # cluster-scoped objects are not filtered by namespaces; a Namespace is by its own name
    assert gk.matches(m, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}, {})
    assert gk.matches(m, namespace("team-x"), {})
    assert not gk.matches(m, namespace("other"), {})
    ex = {"excludedNamespaces": ["kube-*"]}
    assert not gk.matches(ex, pod(ns="kube-system"), {})
    assert gk.matches(ex, pod(ns="shop"), {})
    assert not gk.matches(ex, namespace("kube-public"), {})


def test_label_selector_expressions() -> None:
    m = {"labelSelector": {"matchLabels": {"tier": "web"},
                           "matchExpressions": [
                               {"key": "env", "operator": "In", "values": ["prod", "stage"]},
                               {"key": "skip", "operator": "DoesNotExist"}]}}
    assert gk.matches(m, pod(labels={"tier": "web", "env": "prod"}), {})
    assert not gk.matches(m, pod(labels={"tier": "web", "env": "dev"}), {})
    assert not gk.matches(m, pod(labels={"tier": "web", "env": "prod", "skip": "1"}), {})
    assert not gk.matches(m, pod(labels={"env": "prod"}), {})
    notin = {"labelSelector": {"matchExpressions": [
        {"key": "env", "operator": "NotIn", "values": ["dev"]},
        {"key": "team", "operator": "Exists"}]}}
    assert gk.matches(notin, pod(labels={"team": "a"}), {})
    assert not gk.matches(notin, pod(labels={"team": "a", "env": "dev"}), {})


def test_namespace_selector_needs_the_namespace() -> None:
    m = {"namespaceSelector": {"matchLabels": {"enforce": "true"}}}
    nss = {"shop": namespace("shop", {"enforce": "true"}), "lab": namespace("lab")}
    assert gk.matches(m, pod(ns="shop"), nss)
    assert not gk.matches(m, pod(ns="lab"), nss)
    assert gk.matches(m, namespace("x", {"enforce": "true"}), {})
    assert gk.matches(m, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n"}}, {})
    with pytest.raises(gk.MatchError, match="Namespace 'gone'"):
        gk.matches(m, pod(ns="gone"), nss)


def test_scope_and_name() -> None:
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "worker-1"}}
    assert gk.matches({"scope": "Cluster"}, node, {})
    assert not gk.matches({"scope": "Namespaced"}, node, {})
    assert gk.matches({"scope": "Cluster"}, namespace("a"), {})
    assert gk.matches({"scope": "Namespaced"}, pod(), {})
    assert not gk.matches({"scope": "Cluster"}, pod(), {})
    assert gk.matches({"scope": "*"}, pod(), {})
    assert gk.matches({"name": "worker-*"}, node, {})
    assert gk.matches({"name": "*-1"}, node, {})
    assert not gk.matches({"name": "master"}, node, {})


# --- envelope and inventory -------------------------------------------------------------------


def test_review_envelope() -> None:
    obj = {"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": "api", "namespace": "orders"}}
    r = gk.make_review(obj)
    assert r["kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert (r["name"], r["namespace"], r["operation"]) == ("api", "orders", "CREATE")
    assert r["object"] is obj and r["oldObject"] is None and r["userInfo"] == {}
    core = gk.make_review(pod())
    assert core["kind"] == {"group": "", "version": "v1", "kind": "Pod"}


def test_admission_review_request_is_the_review() -> None:
    ar = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
          "request": {"operation": "DELETE", "oldObject": pod("old"), "object": None}}
    r = gk.review_from_admission(ar)
    assert r["object"]["metadata"]["name"] == "old"  # DELETE reviews the old object
    with pytest.raises(InputError, match="no \"object\" or \"oldObject\""):
        gk.review_from_admission({"request": {"operation": "CREATE"}}, "ar.yaml", 3)


def test_inventory_layout() -> None:
    inv = gk.build_inventory([pod("a", "shop"), namespace("shop"),
                              {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
                               "metadata": {"name": "i", "namespace": "shop"}}])
    assert inv["cluster"]["v1"]["Namespace"]["shop"]["metadata"]["name"] == "shop"
    assert inv["namespace"]["shop"]["v1"]["Pod"]["a"]["kind"] == "Pod"
    assert "i" in inv["namespace"]["shop"]["networking.k8s.io/v1"]["Ingress"]


# --- templates and constraints ----------------------------------------------------------------


REGO_T = {
    "apiVersion": "templates.gatekeeper.sh/v1",
    "kind": "ConstraintTemplate",
    "metadata": {"name": "k8sbannedimage"},
    "spec": {
        "crd": {"spec": {"names": {"kind": "K8sBannedImage"}, "validation": {
            "openAPIV3Schema": {"type": "object", "properties": {
                "image": {"type": "string"},
                "mode": {"type": "string", "default": "exact"}}}}}},
        "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego": (
            "package k8sbannedimage\n"
            "violation[{\"msg\": msg}] {\n"
            "  c := input.review.object.spec.containers[_]\n"
            "  c.image == input.parameters.image\n"
            "  msg := sprintf(\"%v uses %v (%v)\", [c.name, c.image, input.parameters.mode])\n"
            "}\n")}],
    },
}


def constraint(params: Any = None, action: str | None = None,
               match: dict[str, Any] | None = None, name: str = "no-bad") -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if params is not None:
        spec["parameters"] = params
    if action:
        spec["enforcementAction"] = action
    if match is not None:
        spec["match"] = match
    return {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sBannedImage",
            "metadata": {"name": name}, "spec": spec}


def test_template_versions() -> None:
    t = gk.parse_template(doc(REGO_T))
    assert (t.kind, t.package, t.rego_version, t.engine()) == (
        "K8sBannedImage", "k8sbannedimage", "v0", "Rego")
    v1 = gk.parse_template(doc({**REGO_T, "spec": {**REGO_T["spec"], "targets": [{
        "target": "admission.k8s.gatekeeper.sh",
        "code": [{"engine": "Rego", "source": {"version": "v1", "rego":
                  "package p\nviolation contains {\"msg\": \"x\"} if { true }\n"}}]}]}}))
    assert v1.rego_version == "v1"


@pytest.mark.parametrize(("change", "message"), [
    ({"metadata": {"name": "other"}}, "lowercase of the kind"),
    ({"spec": {**REGO_T["spec"], "targets": [{"target": "admission.k8s.gatekeeper.sh",
                                              "rego": "package x\nallow { true }\n"}]}},
     "missing required rule violation"),
    ({"spec": {**REGO_T["spec"], "targets": [{"target": "admission.k8s.gatekeeper.sh",
                                              "rego": "package x\nviolation[{\"msg\": \"m\"}]"
                                                      " { true }\n",
                                              "libs": ["package helpers\nf := 1\n"]}]}},
     "must start with 'lib.'"),
    ({"spec": {**REGO_T["spec"], "targets": [{"target": "other.target", "rego": "x"}]}},
     "unknown target"),
])
def test_bad_templates_say_where(change: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as err:
        gk.parse_template(doc({**REGO_T, **change}, "t.yaml", 7))
    assert str(err.value).startswith("t.yaml:7: ")


def test_parameters_are_validated_and_defaulted() -> None:
    t = gk.parse_template(doc(REGO_T))
    c = gk.parse_constraint(doc(constraint({"image": "bad:1"})), t)
    assert c.parameters == {"image": "bad:1", "mode": "exact"}
    assert (c.action, c.severity, c.rule_id) == ("deny", Severity.HIGH, "K8sBannedImage/no-bad")
    with pytest.raises(gk.ConstraintSchemaError, match=r"spec.parameters.image: .*string"):
        gk.parse_constraint(doc(constraint({"image": 3})), t)
    with pytest.raises(InputError, match="unknown enforcementAction 'block'"):
        gk.parse_constraint(doc(constraint({"image": "x"}, "block")), t)
    with pytest.raises(InputError, match="no ConstraintTemplate defines the kind"):
        gk.parse_constraint(doc(constraint({"image": "x"})), None)
    scoped = constraint({"image": "x"}, "scoped")
    scoped["spec"]["scopedEnforcementActions"] = [
        {"action": "warn", "enforcementPoints": [{"name": "validation.gatekeeper.sh"}]},
        {"action": "deny", "enforcementPoints": [{"name": "audit.gatekeeper.sh"}]}]
    assert gk.parse_constraint(doc(scoped), t).action == "deny"


def test_client_reviews_with_parameters_actions_and_match() -> None:
    client = gk.Client()
    client.add_template(gk.parse_template(doc(REGO_T)))
    client.add_constraint_doc(doc(constraint({"image": "bad:1"}, name="deny-bad")))
    client.add_constraint_doc(doc(constraint({"image": "bad:1", "mode": "loose"}, "warn",
                                             {"namespaces": ["shop"]}, name="warn-bad")))
    found = client.review(pod(ns="shop", images=("bad:1", "ok:2", "bad:1")))
    assert sorted((v.constraint.name, v.action, v.message) for v in found) == [
        ("deny-bad", "deny", "c0 uses bad:1 (exact)"),
        ("deny-bad", "deny", "c2 uses bad:1 (exact)"),
        ("warn-bad", "warn", "c0 uses bad:1 (loose)"),
        ("warn-bad", "warn", "c2 uses bad:1 (loose)"),
    ]
    assert [v.constraint.name for v in client.review(pod(ns="lab", images=("bad:1",)))] == [
        "deny-bad"]
    assert client.review(pod(images=("fine:1",))) == []


def test_each_template_compiles_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from socle.policy import engine

    made = []
    real = engine.create_engine

    def counting(*a: Any, **k: Any) -> Any:
        made.append(k.get("rego_version"))
        return real(*a, **k)

    monkeypatch.setattr(engine, "create_engine", counting)
    client = gk.Client()
    client.add_template(gk.parse_template(doc(REGO_T)))
    client.add_constraint_doc(doc(constraint({"image": "bad:1"})))
    hits = sum(len(client.review(pod(f"p{i}", images=("bad:1",)))) for i in range(200))
    assert hits == 200
    assert made == ["v0"]


def test_inventory_reaches_the_rego() -> None:
    t = {**REGO_T, "spec": {**REGO_T["spec"], "targets": [{
        "target": "admission.k8s.gatekeeper.sh",
        "rego": "package k8sbannedimage\n"
                "violation[{\"msg\": msg}] {\n"
                "  other := data.inventory.namespace[ns][\"v1\"][\"Pod\"][name]\n"
                "  name != input.review.object.metadata.name\n"
                "  msg := sprintf(\"sibling %v/%v\", [ns, name])\n"
                "}\n"}]}}
    client = gk.Client()
    client.add_template(gk.parse_template(doc(t)))
    client.add_constraint_doc(doc(constraint()))
    client.add_data([pod("a", "shop"), pod("b", "lab"), namespace("shop")])
    assert sorted(v.message for v in client.review(pod("a", "shop"))) == ["sibling lab/b"]


def test_run_test_over_library_fixtures() -> None:
    base = os.path.join(FIXTURES, "requiredlabels")
    run = gk.run_test([os.path.join(base, "template.yaml"),
                       os.path.join(base, "samples", "all-must-have-owner")])
    by_name = {f.resource.name: f for f in run.report.findings}
    assert set(by_name) == {"scratch", "billing"}
    assert by_name["scratch"].rule_id == "K8sRequiredLabels/all-must-have-owner"
    assert by_name["scratch"].severity is Severity.HIGH and by_name["scratch"].line == 1
    assert by_name["scratch"].file.endswith("example_disallowed.yaml")
    assert run.report.exit_code(Severity.HIGH) == 1
    # three objects, and the template and the constraint, as gator reviews them too (the
    # constraint matches Namespaces only: they pass)
    assert run.reviewed == 5


def test_run_test_missing_namespace_is_an_input_error() -> None:
    base = os.path.join(FIXTURES, "requiredlabels")
    s = os.path.join(base, "samples", "pods-in-enforced-namespaces")
    run = gk.run_test([os.path.join(base, "template.yaml"), os.path.join(s, "constraint.yaml"),
                       os.path.join(s, "example_disallowed.yaml")])
    assert run.report.errors == 1 and run.report.exit_code() == 2
    assert "namespaceSelector needs the Namespace 'shop'" in run.report.findings[0].message
    # with the Namespace objects given too, the pod is reviewed
    run = gk.run_test([os.path.join(base, "template.yaml"), s])
    assert [f.resource.name for f in run.report.findings] == ["checkout"]


class _Cycle:
    """Cyclic garbage an engine might leave behind (weak-referenceable)."""

    def __init__(self) -> None:
        self.me = self


def test_run_test_pauses_the_collector_and_still_frees_cycles(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """gatekeeper test runs with the cycle collector paused (its full passes over what was
    read took ~20% of a large run), frees the cycles made while reviewing an object a few
    hundred objects later, and gives the collector back on."""
    import gc
    import shutil
    import weakref

    base = os.path.join(FIXTURES, "requiredlabels")
    shutil.copy(os.path.join(base, "template.yaml"), tmp_path / "template.yaml")
    shutil.copy(os.path.join(base, "samples", "all-must-have-owner", "constraint.yaml"),
                tmp_path / "constraint.yaml")
    (tmp_path / "ns.yaml").write_text("".join(
        f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: n{i}\n" for i in range(600)))
    enabled: list[bool] = []
    cycles: list[weakref.ref[_Cycle]] = []
    alive: list[int] = []
    real = gk.Client.review

    def review(self: gk.Client, *args: Any, **kw: Any) -> Any:
        enabled.append(gc.isenabled())
        cycles.append(weakref.ref(_Cycle()))
        if len(cycles) == 500:
            alive.append(sum(ref() is not None for ref in cycles[:200]))
        return real(self, *args, **kw)

    monkeypatch.setattr(gk.Client, "review", review)
    assert gc.isenabled()
    run = gk.run_test([str(tmp_path)])
    assert len(run.report.findings) == 600  # (no Namespace has an owner label)
    assert enabled and not any(enabled)
    assert alive == [0]
    assert gc.isenabled()


def test_cel_failure_policy_decides_what_an_evaluation_error_gives() -> None:
    from socle.policy.cel import CelProgram

    source = {"validations": [{"expression": "object.spec.replicas > 1"}]}
    review = {"object": {"kind": "ConfigMap"}, "operation": "CREATE"}
    plain = CelProgram(source)
    (violation,) = plain.evaluate(review, {})
    assert violation.message == ("expression 'object.spec.replicas > 1' resulted in error: "
                                 "no such key: spec")
    assert plain.evaluate(review, {}, default_failure_policy="Ignore") == []
    ignoring = CelProgram({**source, "failurePolicy": "Ignore"})
    assert ignoring.evaluate(review, {}) == []
    failing = CelProgram({**source, "failurePolicy": "Fail"})
    assert len(failing.evaluate(review, {}, default_failure_policy="Ignore")) == 1
    # a false expression is a violation whatever the policy
    assert len(ignoring.evaluate({"object": {"spec": {"replicas": 1}}}, {})) == 1
    with pytest.raises(InputError, match="failurePolicy must be Fail or Ignore"):
        CelProgram({**source, "failurePolicy": "Sometimes"})
