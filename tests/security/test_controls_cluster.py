"""Cross-resource and RBAC controls (SCL-030..079) through the real runner: which resource a
finding lands on, where it points, what evidence it carries, and the near misses that must not
fire."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from socle.formats.yaml import iter_documents
from socle.policy.engine import create_engine
from socle.security.runner import ScanOptions, scan_paths

CONTROLS = Path(__file__).resolve().parents[2] / "src" / "socle" / "security" / "controls"


def _scan(tmp_path: Path, text: str, ids: str, **inputs: Any) -> list[Any]:
    (tmp_path / "app.yaml").write_text(text)
    opts = ScanOptions(include=[ids], workers=1, inputs=dict(inputs))
    report = scan_paths([str(tmp_path / "app.yaml")], opts)
    return list(report.findings)  # type: ignore[attr-defined]


def _where(findings: list[Any]) -> list[tuple[str, str, str, str]]:
    return sorted((f.rule_id, f.resource.kind, f.resource.name, f.path) for f in findings)


def _deploy(name: str, ns: str, labels: str = "", sa: str = "", extra: str = "") -> str:
    labels = labels or f"app: {name}"
    account = f"      serviceAccountName: {sa}\n" if sa else ""
    return (f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: {ns}}}\n"
            f"spec:\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n"
            f"    metadata: {{labels: {{{labels}}}}}\n    spec:\n{account}{extra}"
            f"      containers:\n        - name: main\n          image: r.example.com/{name}:1\n")


def test_pods_without_network_policy_by_namespace_and_selector(tmp_path: Path) -> None:
    text = "---\n".join([
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: api, "
        "namespace: shop}\nspec:\n  podSelector:\n    matchExpressions:\n"
        "      - {key: app, operator: In, values: [api]}\n  policyTypes: [Ingress]\n",
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: web, "
        "namespace: other}\nspec:\n  podSelector: {matchLabels: {app: web}}\n",
        _deploy("api", "shop"), _deploy("web", "shop"),
    ])
    found = _scan(tmp_path, text, "SCL-043,SCL-044")
    assert _where(found) == [
        ("SCL-043", "Deployment", "web", "/spec/template/metadata/labels"),
        ("SCL-044", "Deployment", "api", "/spec/template/metadata/labels"),
    ]
    egress = next(f for f in found if f.rule_id == "SCL-044")
    assert "egress" in egress.message and egress.extra["evidence"] == ["api"]


def test_token_automount_honours_the_service_account_of_the_same_namespace(
        tmp_path: Path) -> None:
    text = "---\n".join([
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: web, namespace: shop}\n"
        "automountServiceAccountToken: false\n",
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: api, namespace: other}\n"
        "automountServiceAccountToken: false\n",
        _deploy("web", "shop", sa="web"), _deploy("api", "shop", sa="api"),
    ])
    found = _scan(tmp_path, text, "SCL-034")
    assert _where(found) == [
        ("SCL-034", "Deployment", "api", "/spec/template/spec/automountServiceAccountToken")]
    assert found[0].extra["fix"] == [{"op": "add", "value": False, "path": [
        "spec", "template", "spec", "automountServiceAccountToken"]}]


RBAC_CONTEXT = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: deployer-admin}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: ServiceAccount, name: deployer, namespace: ci}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: secrets, namespace: shop}
rules:
  - {apiGroups: [""], resources: [secrets], verbs: [list]}
  - {apiGroups: [""], resources: [pods/*], verbs: [create]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: all-sas, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: secrets}
subjects: [{kind: Group, name: "system:serviceaccounts:shop"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: one-secret, namespace: billing}
rules:
  - {apiGroups: [""], resources: [secrets], resourceNames: [tls], verbs: [get]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: billing, namespace: billing}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: one-secret}
subjects: [{kind: ServiceAccount, name: billing}]
"""


def test_workload_service_account_with_takeover_permissions(tmp_path: Path) -> None:
    text = "---\n".join([
        RBAC_CONTEXT,
        _deploy("deployer", "ci", sa="deployer"),
        _deploy("deployer", "other", sa="deployer"),  # same name, other namespace
        _deploy("web", "shop", sa="web"),  # bound through the namespace's SA group
        _deploy("quiet", "shop", sa="quiet",
                extra="      automountServiceAccountToken: false\n"),
        _deploy("billing", "billing", sa="billing"),  # resourceNames-limited rule
    ])
    found = _scan(tmp_path, text, "SCL-072")
    assert [(f.resource.namespace, f.resource.name, f.path) for f in found] == [
        ("ci", "deployer", "/spec/template/spec/serviceAccountName"),
        ("shop", "web", "/spec/template/spec/serviceAccountName"),
    ]
    assert found[0].extra["evidence"] == {
        "binding": "ClusterRoleBinding/deployer-admin", "role": "cluster-admin",
        "grants": ["the built-in cluster-admin role"]}
    # pods/* reaches pods/exec but not pods itself
    assert found[1].extra["evidence"]["grants"] == ["exec/attach into pods", "reading Secrets"]


def test_exposed_service_in_front_of_root_containers(tmp_path: Path) -> None:
    nonroot = "      securityContext: {runAsNonRoot: true, runAsUser: 1000}\n"
    text = "---\n".join([
        _deploy("web", "shop"), _deploy("safe", "shop", extra=nonroot),
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n"
        "  type: LoadBalancer\n  selector: {app: web}\n  ports: [{port: 80}]\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: safe, namespace: shop}\nspec:\n"
        "  type: NodePort\n  selector: {app: safe}\n  ports: [{port: 80}]\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: inside, namespace: shop}\nspec:\n"
        "  selector: {app: web}\n  ports: [{port: 80}]\n",
    ])
    found = _scan(tmp_path, text, "SCL-071")
    assert _where(found) == [("SCL-071", "Service", "web", "/spec/selector")]
    assert found[0].extra["evidence"] == {"workload": "Deployment/web", "containers": ["main"]}


def test_single_replica_dangling_backend_and_hpa(tmp_path: Path) -> None:
    text = "---\n".join([
        _deploy("web", "shop"), _deploy("api", "shop"), _deploy("db", "shop"),
        "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: api, namespace: "
        "shop}\nspec:\n  maxUnavailable: 1\n  selector: {matchLabels: {app: api}}\n",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: db, "
        "namespace: shop}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, "
        "name: db}\n  minReplicas: 2\n  maxReplicas: 3\n",
        "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: old, "
        "namespace: shop}\nspec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, "
        "name: web-v1}\n  maxReplicas: 3\n",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n"
        "  selector: {app: web}\n  ports: [{port: 80}]\n",
        "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: shop, namespace: "
        "shop}\nspec:\n  rules:\n    - http:\n        paths:\n"
        "          - {path: /, pathType: Prefix, backend: {service: {name: web, port: "
        "{number: 80}}}}\n"
        "          - {path: /api, pathType: Prefix, backend: {service: {name: api, port: "
        "{number: 80}}}}\n",
    ])
    found = _scan(tmp_path, text, "SCL-074,SCL-075,SCL-076")
    assert _where(found) == [
        ("SCL-074", "Deployment", "web", "/spec/replicas"),
        ("SCL-075", "Ingress", "shop", "/spec/rules/0/http/paths/1/backend/service/name"),
        ("SCL-076", "HorizontalPodAutoscaler", "old", "/spec/scaleTargetRef/name"),
    ]


ROLES = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: ops}
rules:
  - {apiGroups: [""], resources: [secrets], resourceNames: [tls], verbs: [get]}
  - {apiGroups: ["*"], resources: ["*"], verbs: ["*"]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: debug, namespace: shop}
rules:
  - {apiGroups: [""], resources: [pods/*, nodes/proxy], verbs: [get]}
  - {apiGroups: [rbac.authorization.k8s.io], resources: [clusterroles], verbs: [escalate]}
  - {apiGroups: [certificates.k8s.io], resources: [certificatesigningrequests/approval],
     verbs: [update]}
"""


@pytest.mark.parametrize(("cid", "expected"), [
    ("SCL-045", [("ops", "/rules/1/resources/0"), ("ops", "/rules/1/verbs/0")]),
    ("SCL-048", [("ops", "/rules/1")]),  # the resourceNames-limited rule 0 is fine
    ("SCL-049", [("ops", "/rules/1")]),
    ("SCL-050", [("debug", "/rules/0"), ("ops", "/rules/1")]),  # get on pods/* reaches exec
    ("SCL-051", [("debug", "/rules/0"), ("ops", "/rules/1")]),
    ("SCL-052", [("debug", "/rules/0"), ("ops", "/rules/1")]),
    ("SCL-053", [("debug", "/rules/1"), ("ops", "/rules/1")]),
    ("SCL-054", [("ops", "/rules/1")]),
    ("SCL-055", [("ops", "/rules/1")]),
    ("SCL-056", [("debug", "/rules/2"), ("ops", "/rules/1")]),
    ("SCL-057", [("ops", "/rules/1")]),
])
def test_rbac_rule_controls(tmp_path: Path, cid: str, expected: list[tuple[str, str]]) -> None:
    found = _scan(tmp_path, ROLES, cid)
    assert sorted((f.resource.name, f.path) for f in found) == expected
    assert all(f.rule_id == cid for f in found)


BINDINGS = """apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: masters}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: "system:masters"}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: owner, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}
subjects: [{kind: Group, name: "system:masters"}, {kind: ServiceAccount, name: default}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: public}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:public-info-viewer"}
subjects:
  - {kind: Group, name: "system:unauthenticated"}
  - {kind: Group, name: "system:authenticated"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: everyone-edits}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}
subjects: [{kind: Group, name: "system:authenticated"}, {kind: User, name: "system:anonymous"}]
"""


@pytest.mark.parametrize(("cid", "expected"), [
    ("SCL-036", [("owner", "/subjects/1/name")]),
    ("SCL-046", [("owner", "/roleRef/name")]),  # system:masters alone is break-glass
    ("SCL-047", [("everyone-edits", "/roleRef/name")]),
    ("SCL-058", [("everyone-edits", "/subjects/1/name")]),  # public-info-viewer is fine
    ("SCL-059", [("everyone-edits", "/subjects/0/name")]),
])
def test_binding_controls(tmp_path: Path, cid: str, expected: list[tuple[str, str]]) -> None:
    found = _scan(tmp_path, BINDINGS, cid)
    assert sorted((f.resource.name, f.path) for f in found) == expected


def test_allowed_registries_default_passes_and_input_enforces(tmp_path: Path) -> None:
    text = _deploy("web", "shop").replace("r.example.com/web:1", "bitnami/nginx:1.25")
    assert _scan(tmp_path, text, "SCL-033") == []
    found = _scan(tmp_path, text, "SCL-033", allowedRegistries=["r.example.com"])
    assert _where(found) == [
        ("SCL-033", "Deployment", "web", "/spec/template/spec/containers/0/image")]
    assert _scan(tmp_path, text, "SCL-033", allowedRegistries=["docker.io/bitnami"]) == []


def _cross_folders() -> list[Path]:
    import yaml

    return sorted(f for f in CONTROLS.iterdir() if (f / "control.yaml").exists()
                  and yaml.safe_load((f / "control.yaml").read_text()).get("crossResource"))


@pytest.mark.parametrize("folder", _cross_folders(), ids=lambda f: f.name)
def test_index_and_plain_inventory_agree(folder: Path) -> None:
    """The runner's data.socle.inventory_by_kind and the plain list give the same findings."""
    lib = CONTROLS / "lib"
    package = folder.name.replace("-", "_")
    for fixture in ("fail", "pass"):
        path = folder / "fixtures" / f"{fixture}.yaml"
        objs = [d.obj for d in iter_documents(path.read_bytes(), str(path))]
        by_kind: dict[str, list[Any]] = {}
        for o in objs:
            by_kind.setdefault(o.get("kind", ""), []).append(o)
        results = []
        for data in ({"inventory": objs}, {"inventory": objs, "inventory_by_kind": by_kind}):
            engine = create_engine("regorus", "v1")
            for p in sorted(lib.glob("*.rego")):
                engine.add_policy(str(p), p.read_text())
            engine.add_policy(str(folder / "policy.rego"), (folder / "policy.rego").read_text())
            engine.add_data({"socle": {"inputs": {}, **data}})
            results.append([json.dumps(engine.eval_query(
                f"data.socle.controls.{package}.deny", o), sort_keys=True) for o in objs])
        assert results[0] == results[1]
        if fixture == "fail":
            assert any(r != "[[]]" for r in results[0])
