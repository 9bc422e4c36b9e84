"""``socle webhook serve --audit-interval``: the periodic audit of a real kube-apiserver
(tests/cluster/kube.py; skipped when the binaries are not built, see docs/cluster-tests.md)."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.kube import KubeCluster
from cluster.test_webhook_cluster import POLICY
from socle.cluster import ApiError, KubeClient
from socle.policy import webhook as wh

pytestmark = pytest.mark.xdist_group("kube")

# the warn-mode policy of the admission tests, here with the action and a namespace to fill in
TEMPLATE = POLICY.replace("enforcementAction: warn", "enforcementAction: ACTION").replace(
    '    kinds: [{apiGroups: [""], kinds: ["Pod"]}]\n',
    '    kinds: [{apiGroups: [""], kinds: ["Pod"]}]\n    namespaces: ["NS"]\n')

CONFTEST = """\
package main

deny contains msg if {
  input.kind == "Pod"
  input.metadata.labels.team == "nobody"
  msg := sprintf("pod %s belongs to team nobody", [input.metadata.name])
}
"""


def pod(name: str, privileged: bool = False, image: str = "nginx:1.25",
        labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": labels or {"app": name}},
            "spec": {"containers": [{"name": "app", "image": image,
                                     "securityContext": {"privileged": privileged}}]}}


def metric(text: str, name: str, /, **labels: str) -> float | None:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = "^" + re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)$"
    m = re.search(pattern, text, re.M)
    return float(m.group(1)) if m else None


def get_metrics(port: int) -> str:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=10) as resp:
        return str(resp.read().decode())


def test_audit_finds_resources_created_before_the_webhook(
        kube: KubeCluster, kube_client: KubeClient, kube_namespace: str,
        tmp_path: Path) -> None:
    ns = kube_namespace
    kube_client.create(f"/api/v1/namespaces/{ns}/pods", pod("root-shell", privileged=True))
    kube_client.create(f"/api/v1/namespaces/{ns}/pods", pod("floating", image="nginx:latest"))
    kube_client.create(f"/api/v1/namespaces/{ns}/pods", pod("orphan", labels={"team": "nobody"}))
    kube_client.create(f"/api/v1/namespaces/{ns}/pods", pod("fine"))
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "tags.yaml").write_text(TEMPLATE.replace("ACTION", "deny").replace("NS", ns))
    (folder / "main.rego").write_text(CONFTEST)
    report_path = tmp_path / "out" / "audit.json"
    report_path.parent.mkdir()
    settings = wh.Settings(policy=str(folder), framework=["pss-baseline"], workers=1,
                           reload_interval=0, audit_interval=3600,
                           audit_output=str(report_path), kubeconfig=str(kube.kubeconfig))
    server = wh.WebhookServer(settings, "127.0.0.1", 0)
    server.start()  # the first audit starts at once, in its own process
    try:
        deadline = time.monotonic() + 90
        while True:
            text = get_metrics(server.port)
            if metric(text, "socle_webhook_audit_runs_total", result="success"):
                break
            assert not metric(text, "socle_webhook_audit_runs_total", result="failure"), text
            assert time.monotonic() < deadline, "no audit finished"
            time.sleep(0.3)
    finally:
        server.close()

    # the report: `socle scan -o json`'s schema plus Gatekeeper's constraint status
    report = json.loads(report_path.read_text())
    assert report["schemaVersion"] == 1 and report["command"] == "webhook audit"
    mine = [f for f in report["findings"] if f["resource"]["namespace"] == ns]
    context = yaml.safe_load(kube.kubeconfig.read_text())["current-context"]
    by_rule: dict[str, set[str]] = {}
    for f in mine:
        by_rule.setdefault(f["ruleId"], set()).add(f["resource"]["name"])
        assert f["file"] == f"cluster:{context}"
    assert by_rule["SCL-001"] == {"root-shell"}
    assert by_rule["K8sDisallowedTags/no-latest"] == {"floating"}
    assert by_rule["main.deny"] == {"orphan"}
    assert "fine" not in by_rule["SCL-001"] | by_rule["K8sDisallowedTags/no-latest"]
    gk = next(f for f in mine if f["ruleId"] == "K8sDisallowedTags/no-latest")
    assert gk["message"] == "container <app> uses a disallowed tag <nginx:latest>"
    assert gk["source"] == "policy"
    constraints = report["audit"]["constraints"]
    assert constraints == [{
        "kind": "K8sDisallowedTags", "name": "no-latest", "enforcementAction": "deny",
        "totalViolations": 1,
        "violations": [{"enforcementAction": "deny", "group": "", "version": "v1",
                        "kind": "Pod", "namespace": ns, "name": "floating",
                        "message": "container <app> uses a disallowed tag <nginx:latest>"}]}]
    assert report["audit"]["objects"] >= 5 and report["audit"]["errors"] == []
    assert "scores" in report  # the controls' scores, as `socle scan --cluster` gives them

    # the metrics of the last audit
    assert metric(text, "socle_webhook_audit_constraint_violations", kind="K8sDisallowedTags",
                  name="no-latest", enforcement_action="deny") == 1
    assert metric(text, "socle_webhook_audit_violations", enforcement_action="deny") == 1
    assert (metric(text, "socle_webhook_audit_control_findings", control="SCL-001",
                   severity="high") or 0) >= 1
    assert (metric(text, "socle_webhook_audit_conftest_violations", rule="main.deny",
                   action="deny") or 0) >= 1
    success = metric(text, "socle_webhook_audit_last_success_timestamp_seconds")
    assert success is not None and abs(success - time.time()) < 120
    duration = metric(text, "socle_webhook_audit_duration_seconds")
    assert duration is not None and 0 < duration < 90
    assert not list(report_path.parent.glob(".socle-audit-*"))  # no temporary file left


def _token_kubeconfig(kube: KubeCluster, token: str, path: Path) -> Path:
    doc = yaml.safe_load(kube.kubeconfig.read_text())
    doc["users"][0]["user"] = {"token": token}
    path.write_text(yaml.safe_dump(doc))
    return path


def test_the_generated_rbac_lets_the_audit_read_the_cluster(
        kube: KubeCluster, kube_client: KubeClient, kube_namespace: str,
        tmp_path: Path) -> None:
    ns = kube_namespace
    kube_client.create(f"/api/v1/namespaces/{ns}/pods", pod("floating", image="nginx:latest"))
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "tags.yaml").write_text(TEMPLATE.replace("ACTION", "warn").replace("NS", ns))
    service = f"audit-{ns}"
    objs = wh.manifests(wh.ManifestOptions(namespace=ns, service=service, audit_interval=60))
    rbac = [o for o in objs if o["kind"] in ("ServiceAccount", "ClusterRole",
                                             "ClusterRoleBinding")]
    assert len(rbac) == 3
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    assert "--audit-interval" in deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    paths = {"ServiceAccount": f"/api/v1/namespaces/{ns}/serviceaccounts",
             "ClusterRole": "/apis/rbac.authorization.k8s.io/v1/clusterroles",
             "ClusterRoleBinding": "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"}
    settings = wh.Settings(policy=str(folder), reload_interval=0, audit_interval=60)
    try:
        for o in rbac:
            kube_client.create(paths[o["kind"]], o)
        token = kube_client.create(
            f"/api/v1/namespaces/{ns}/serviceaccounts/{service}/token",
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": 600}})["status"]["token"]
        settings.kubeconfig = str(_token_kubeconfig(kube, token, tmp_path / "sa-kubeconfig"))
        deadline = time.monotonic() + 20
        while True:  # RBAC caches take a moment to see the new binding
            result = wh.audit(str(folder), settings)
            if "v1 Pod" not in result["audit"]["skippedKinds"]:
                break
            assert time.monotonic() < deadline, result["audit"]["skippedKinds"]
            time.sleep(0.5)
        [constraint] = result["audit"]["constraints"]
        assert constraint["totalViolations"] == 1
        assert constraint["violations"][0]["name"] == "floating"
    finally:
        for o in reversed(rbac):
            if o["kind"] != "ServiceAccount":
                try:
                    kube_client.delete(f"{paths[o['kind']]}/{o['metadata']['name']}")
                except ApiError as err:
                    if err.status != 404:
                        raise

    # without those grants nothing can be listed: the audit says which kinds it skipped
    settings.kubeconfig = str(_token_kubeconfig(kube, kube.viewer_token,
                                                tmp_path / "viewer-kubeconfig"))
    result = wh.audit(str(folder), settings)
    assert "v1 Pod" in result["audit"]["skippedKinds"]
    assert result["audit"]["constraints"][0]["totalViolations"] == 0
