"""``socle scan --cluster``: live resources read through a real kube-apiserver, scanned as files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.kube import KubeCluster
from socle.cluster import KubeClient
from socle_testing import run_socle

pytestmark = pytest.mark.xdist_group("kube")

HARDENED_CONTAINER: dict[str, Any] = {
    "name": "app", "image": "registry.example.com/app@sha256:" + "a" * 64,
    "resources": {"limits": {"cpu": "100m", "memory": "64Mi"},
                  "requests": {"cpu": "50m", "memory": "32Mi"}},
    "securityContext": {"privileged": False, "allowPrivilegeEscalation": False,
                        "readOnlyRootFilesystem": True, "runAsNonRoot": True,
                        "runAsUser": 10001, "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"}},
}


def _privileged_pod(name: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "shell", "image": "busybox:1.36",
                                     "securityContext": {"privileged": True}}]}}


def _deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "labels": labels},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"automountServiceAccountToken": False,
                                           "containers": [HARDENED_CONTAINER]}}}}


def _findings(out: str, rule: str) -> list[dict[str, Any]]:
    report = json.loads(out)
    return [f for f in report["findings"] if f["ruleId"] == rule]


def test_scan_cluster_reports_a_privileged_pod_with_its_identity(
        kube: KubeCluster, kube_client: KubeClient, kube_namespace: str) -> None:
    ns = kube_namespace
    kube_client.create(f"/api/v1/namespaces/{ns}/pods", _privileged_pod("root-shell"))
    kube_client.create(f"/apis/apps/v1/namespaces/{ns}/deployments", _deployment("web"))

    result = run_socle("scan", "--cluster", "--kubeconfig", str(kube.kubeconfig),
                       "--namespace", ns, "-o", "json")

    assert result.code == 1, result.err
    privileged = _findings(result.out, "SCL-001")
    assert [(f["resource"]["kind"], f["resource"]["name"], f["resource"]["namespace"])
            for f in privileged] == [("Pod", "root-shell", ns)]
    context = yaml.safe_load(kube.kubeconfig.read_text())["current-context"]
    assert privileged[0]["file"] == f"cluster:{context}"
    assert privileged[0]["line"] == 0
    assert privileged[0]["path"].endswith("/securityContext/privileged")
    # the Deployment was read (it has findings of its own or none), but is not privileged
    report = json.loads(result.out)
    assert not [f for f in report["findings"]
                if f["resource"]["name"] == "web" and f["ruleId"] == "SCL-001"]


def test_scan_cluster_finds_what_the_file_scan_finds(
        kube: KubeCluster, kube_client: KubeClient, kube_namespace: str,
        tmp_path: Path) -> None:
    """The same resources, from a file and from the cluster: the same controls fail for the same
    resources (server-side defaults aside, which these manifests set or do not touch)."""
    ns = kube_namespace
    pod, deployment = _privileged_pod("root-shell"), _deployment("web")
    for obj in (pod, deployment):
        obj["metadata"]["namespace"] = ns
    kube_client.create(f"/api/v1/namespaces/{ns}/pods", pod)
    kube_client.create(f"/apis/apps/v1/namespaces/{ns}/deployments", deployment)
    manifest = tmp_path / "all.yaml"
    manifest.write_text(yaml.safe_dump_all([pod, deployment]))

    live = run_socle("scan", "--cluster", "--kubeconfig", str(kube.kubeconfig),
                     "--namespace", ns, "--controls", "SCL-001", "-o", "json")
    files = run_socle("scan", str(manifest), "--controls", "SCL-001", "-o", "json")

    assert (live.code, files.code) == (1, 1), live.err + files.err

    def keyed(out: str) -> set[tuple[str, str, str, str]]:
        return {(f["ruleId"], f["resource"]["kind"], f["resource"]["name"], f["path"])
                for f in json.loads(out)["findings"]}

    assert keyed(live.out) == keyed(files.out)
    assert json.loads(live.out)["scores"] == json.loads(files.out)["scores"]


def test_scan_cluster_in_an_empty_namespace_is_clean(kube: KubeCluster,
                                                     kube_namespace: str) -> None:
    result = run_socle("scan", "--cluster", "--kubeconfig", str(kube.kubeconfig),
                       "--namespace", kube_namespace, "--controls", "SCL-001", "-o", "json")
    assert result.code == 0, result.err
    assert _findings(result.out, "SCL-001") == []


def test_scan_cluster_with_a_missing_kubeconfig_is_a_one_line_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "config"
    result = run_socle("scan", "--cluster", "--kubeconfig", str(missing))
    assert result.code == 2
    assert result.out == ""
    lines = result.err.strip().splitlines()
    assert len(lines) == 1, result.err
    assert str(missing) in lines[0] and "kubeconfig" in lines[0]


def test_scan_cluster_and_paths_are_exclusive(tmp_path: Path) -> None:
    manifest = tmp_path / "pod.yaml"
    manifest.write_text(yaml.safe_dump(_privileged_pod("x")))
    result = run_socle("scan", "--cluster", str(manifest))
    assert result.code == 2
    assert "--cluster" in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_scan_cluster_without_permissions_reports_skipped_kinds(
        kube: KubeCluster, kube_namespace: str, tmp_path: Path) -> None:
    config = yaml.safe_load(kube.kubeconfig.read_text())
    config["users"][0]["user"] = {"token": kube.viewer_token}
    viewer = tmp_path / "viewer.yaml"
    viewer.write_text(yaml.safe_dump(config))

    result = run_socle("scan", "--cluster", "--kubeconfig", str(viewer),
                       "--namespace", kube_namespace, "-o", "json")

    assert result.code == 0, result.err
    assert json.loads(result.out)["findings"] == []
    assert "skipped" in result.err and "v1 Pod (403 Forbidden)" in result.err
    assert "Traceback" not in result.err


def test_scan_cluster_wide_in_text_finds_the_pod_in_its_namespace(
        kube: KubeCluster, kube_client: KubeClient, kube_namespace: str) -> None:
    kube_client.create(f"/api/v1/namespaces/{kube_namespace}/pods", _privileged_pod("wide"))

    result = run_socle("scan", "--cluster", "--kubeconfig", str(kube.kubeconfig),
                       "--controls", "SCL-001")

    assert result.code == 1, result.err
    mine = [ln for ln in result.out.splitlines()
            if "SCL-001" in ln and f"Pod {kube_namespace}/wide:" in ln]
    assert len(mine) == 1, result.out
    assert mine[0].startswith("cluster:")
    assert "Controls: 1 failed" in result.out


def test_scan_cluster_gives_cross_resource_controls_the_live_inventory(
        kube: KubeCluster, kube_client: KubeClient, kube_namespace: str) -> None:
    """SCL-043 (pods no NetworkPolicy selects) sees the NetworkPolicies read from the cluster."""
    ns = kube_namespace
    kube_client.create(f"/apis/apps/v1/namespaces/{ns}/deployments", _deployment("web"))
    args = ("scan", "--cluster", "--kubeconfig", str(kube.kubeconfig), "--namespace", ns,
            "--controls", "SCL-043", "-o", "json")

    before = run_socle(*args)
    assert before.code == 1, before.err
    assert [f["resource"]["name"] for f in _findings(before.out, "SCL-043")] == ["web"]

    policy = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
              "metadata": {"name": "web"},
              "spec": {"podSelector": {"matchLabels": {"app": "web"}},
                       "policyTypes": ["Ingress", "Egress"]}}
    kube_client.create(f"/apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies", policy)
    after = run_socle(*args)
    assert after.code == 0, after.out + after.err
    assert _findings(after.out, "SCL-043") == []
