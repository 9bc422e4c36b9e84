"""Small controls of known behaviour for the scan tests (independent of the bundled ones)."""

from __future__ import annotations

from pathlib import Path

WORKLOADS = ("[Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, "
             "ReplicationController]")

CONTROLS = {
    "test-privileged": ("T-001", "high", 8, WORKLOADS, """
references:
  nsa: ["privileged"]
  cis: ["5.2.2"]
  mitre: ["T1611"]
  pss: baseline
  kubescape: ["C-0057"]
  checkov: ["CKV_K8S_16"]
  kube-score: ["container-security-context-privileged"]
  kube-linter: ["privileged-container"]
""", """
deny contains {
	"msg": sprintf("container %q runs privileged", [c.container.name]),
	"path": path,
	"evidence": true,
	"fix": [{"op": "replace", "path": path, "value": false}],
} if {
	some c in k8s.containers
	c.container.securityContext.privileged == true
	path := array.concat(c.path, ["securityContext", "privileged"])
}
"""),
    "test-non-root": ("T-002", "medium", 4, WORKLOADS, """
references:
  pss: restricted
  cis: ["5.2.7"]
""", """
deny contains {
	"msg": sprintf("container %q may run as root", [c.container.name]),
	"path": path,
	"fix": [{"op": "add", "path": path, "value": true}],
} if {
	some c in k8s.containers
	not c.container.securityContext.runAsNonRoot == true
	path := array.concat(c.path, ["securityContext", "runAsNonRoot"])
}
"""),
    "test-service-selects-nothing": ("T-003", "low", 3, "[Service]", """
crossResource: true
references:
  kube-linter: ["dangling-service"]
""", """
selected(sel) if {
	some r in data.socle.inventory
	tpl := object.get(object.get(object.get(r, "spec", {}), "template", {}), "metadata", {})
	labels := object.get(tpl, "labels", {})
	every k, v in sel { labels[k] == v }
}

deny contains {
	"msg": sprintf("service %q selects no workload of the input", [input.metadata.name]),
	"path": ["spec", "selector"],
} if {
	sel := input.spec.selector
	count(sel) > 0
	not selected(sel)
}
"""),
    "test-registry": ("T-004", "low", 2, WORKLOADS, """
inputs:
  allowedRegistries: []
references:
  kubescape: ["C-0078"]
""", """
deny contains {
	"msg": sprintf("image %q is not from an allowed registry", [c.container.image]),
	"path": array.concat(c.path, ["image"]),
} if {
	count(data.socle.inputs.allowedRegistries) > 0
	some c in k8s.containers
	not allowed(c.container.image)
}

allowed(image) if {
	some r in data.socle.inputs.allowedRegistries
	startswith(image, r)
}
"""),
}


def write_controls(root: Path, names: list[str] | None = None) -> Path:
    """Write the test controls as control folders under ``root``; returns ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    for name, (cid, severity, base, kinds, meta, rego) in CONTROLS.items():
        if names is not None and name not in names:
            continue
        folder = root / name
        (folder / "fixtures").mkdir(parents=True, exist_ok=True)
        (folder / "control.yaml").write_text(
            f"id: {cid}\nname: {name}\ntitle: Test {name}\nseverity: {severity}\n"
            f"baseScore: {base}\ncategory: workload\ndescription: test control\n"
            f"remediation: fix {name}\nmatch:\n  kinds: {kinds}\n{meta.lstrip()}")
        package = name.replace("-", "_")
        (folder / "policy.rego").write_text(
            f"package socle.controls.{package}\n\nimport data.socle.lib.k8s\nimport rego.v1\n"
            + rego)
    return root


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
  labels: {app: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
          securityContext:
            privileged: true
            runAsNonRoot: true
"""
