"""--fix: patches applied with comments kept, other documents untouched, re-scan passes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scan_testing import write_controls
from socle.security.fix import apply_fixes, apply_op
from socle.security.runner import ScanOptions, scan_paths

SOURCE = """\
# the shop's workloads
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}   # untouched
data:
  mode: "fast"
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web  # the storefront
spec:
  template:
    spec:
      containers:
        # main container
        - name: web
          image: "registry.example.com/web:1.0"   # pinned
          securityContext:
            privileged: true # needed? no
        - name: sidecar
          image: registry.example.com/proxy:2
          securityContext: {privileged: true, runAsNonRoot: true}
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers:
  - name: shell
    image: busybox:1.36
"""


def _scan(tmp_path: Path) -> Any:
    ctl = write_controls(tmp_path / "controls", ["test-privileged", "test-non-root"])
    return scan_paths([str(tmp_path / "app.yaml")],
                      ScanOptions(controls_dirs=[str(ctl)], bundled=False, workers=1))


def test_fix_then_rescan_passes_and_keeps_comments(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(SOURCE)
    report = _scan(tmp_path)
    assert len(report.findings) == 4
    result = apply_fixes(report.findings)
    assert len(result.fixed) == 4 and not result.failed and result.written == [str(path)]
    text = path.read_text()
    for comment in ("# the shop's workloads", "# the storefront", "# main container",
                    "# pinned", "# needed? no", "# untouched"):
        assert comment in text
    assert text.startswith(SOURCE.split("---\n")[0])  # the first document, byte for byte
    assert '"registry.example.com/web:1.0"' in text  # quotes kept
    assert "securityContext: {privileged: false, runAsNonRoot: true}" in text  # flow kept
    assert "  - name: shell\n    image: busybox:1.36\n    securityContext:\n" \
           "      runAsNonRoot: true\n" in text  # the file's own indentation
    assert _scan(tmp_path).findings == []


def test_dry_run_diff_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(SOURCE)
    result = apply_fixes(_scan(tmp_path).findings, dry_run=True)
    assert path.read_text() == SOURCE and result.written == []
    diff = result.diffs[str(path)]
    assert "-            privileged: true # needed? no\n" in diff
    assert "+            privileged: false # needed? no\n" in diff
    assert diff.startswith(f"--- {path}\n+++ {path}\n")


def test_file_changed_since_the_scan_is_not_corrupted(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(SOURCE)
    findings = _scan(tmp_path).findings
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: only}\n")
    result = apply_fixes(findings)
    assert result.fixed == [] and len(result.failed) == 4
    assert path.read_text() == "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: only}\n"


def test_patch_operations() -> None:
    from ruamel.yaml import YAML

    root = YAML().load("a:\n  list: [1, 2]\n  s: x\n")
    root = apply_op(root, {"op": "add", "path": ["b", "c", 0], "value": {"d": 1}})
    assert root["b"]["c"] == [{"d": 1}]
    apply_op(root, {"op": "add", "path": ["a", "list", 1], "value": 9})
    apply_op(root, {"op": "add", "path": ["a", "list", "-"], "value": 3})
    assert list(root["a"]["list"]) == [1, 9, 2, 3]
    apply_op(root, {"op": "remove", "path": ["a", "s"]})
    apply_op(root, {"op": "remove", "path": ["a", "missing", "deeper"]})
    apply_op(root, {"op": "replace", "path": ["a", "list", 0], "value": 0})
    assert dict(root["a"]) == {"list": [0, 9, 2, 3]}
