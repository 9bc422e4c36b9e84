"""--fix: patches applied with comments kept, other documents untouched, re-scan passes."""

from __future__ import annotations

import codecs
import os
from pathlib import Path
from typing import Any

import pytest

from scan_testing import write_controls
from socle.core.finding import Finding
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


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  template:
    spec:
      containers:
        - name: web
          image: registry.example.com/web:1.0
"""
ADD_CONTEXT = {"op": "add", "path": ["spec", "template", "spec", "containers", 0,
                                     "securityContext", "runAsNonRoot"], "value": True}


def _finding(path: Path | str, *ops: dict[str, Any], index: int = 0) -> Finding:
    return Finding("test-fix", "fix me", file=str(path), document_index=index,
                   extra={"fix": list(ops)})


def _read(path: Path) -> list[Any]:
    from socle.formats.yaml import iter_documents

    return [d.obj for d in iter_documents(path.read_bytes(), str(path))]


def test_a_symbolic_link_is_followed_and_kept_and_its_target_fixed_once(tmp_path: Path) -> None:
    target = tmp_path / "base" / "web.yaml"
    target.parent.mkdir()
    target.write_text(DEPLOYMENT)
    link = tmp_path / "web.yaml"
    link.symlink_to(target)
    append = {"op": "add", "path": ["metadata", "finalizers", "-"], "value": "socle.dev/x"}
    # the same file under two names (as a folder walk finds a link and its target): once
    result = apply_fixes([_finding(link, ADD_CONTEXT, append), _finding(target, append)])
    assert not result.failed and result.written == [str(target)]
    assert link.is_symlink() and os.readlink(link) == str(target)
    obj = _read(target)[0]
    assert obj["metadata"]["finalizers"] == ["socle.dev/x"]  # appended once, not twice
    assert obj["spec"]["template"]["spec"]["containers"][0]["securityContext"] == {
        "runAsNonRoot": True}


def test_line_breaks_and_encoding_of_the_file_are_kept(tmp_path: Path) -> None:
    crlf = tmp_path / "crlf.yaml"
    text = ("# windows\n---\n" + DEPLOYMENT + "---\n" + DEPLOYMENT).replace("\n", "\r\n")
    crlf.write_bytes(text.encode())
    u16 = tmp_path / "u16.yaml"
    u16.write_bytes(codecs.BOM_UTF16_BE + DEPLOYMENT.encode("utf-16-be"))
    result = apply_fixes([_finding(crlf, ADD_CONTEXT), _finding(u16, ADD_CONTEXT)])
    assert not result.failed and sorted(result.written) == [str(crlf), str(u16)]
    data = crlf.read_bytes()
    assert data.count(b"\n") == data.count(b"\r\n") > text.count("\n")  # only CRLF, more lines
    assert data.endswith(("---\r\n" + DEPLOYMENT.replace("\n", "\r\n")).encode())  # untouched
    raw = u16.read_bytes()
    assert raw.startswith(codecs.BOM_UTF16_BE)
    assert "runAsNonRoot: true" in raw[2:].decode("utf-16-be")
    for path in (crlf, u16):
        assert _read(path)[0]["spec"]["template"]["spec"]["containers"][0][
            "securityContext"] == {"runAsNonRoot": True}


def test_new_strings_keep_their_type_for_kubernetes(tmp_path: Path) -> None:
    # a user's control may set any string: written plain, ruamel.yaml (YAML 1.2) would leave
    # "no", "on", "0644" and "~" bare, which Kubernetes (YAML 1.1) reads as false, true, 420, null
    path = tmp_path / "web.yaml"
    path.write_text(DEPLOYMENT)
    words = ["no", "on", "0644", "~", "1_000", "0x1F", "", "plain"]
    ops = [{"op": "add", "path": ["metadata", "annotations", f"a{i}"], "value": w}
           for i, w in enumerate(words)]
    ops.append({"op": "add", "path": ["metadata", "annotations", "nested"],
                "value": {"yes": ["off", "y"]}})
    result = apply_fixes([_finding(path, *ops)])
    assert not result.failed and result.written == [str(path)]
    annotations = _read(path)[0]["metadata"]["annotations"]
    assert annotations == {**{f"a{i}": w for i, w in enumerate(words)},
                           "nested": {"yes": ["off", "y"]}}


def test_a_fix_that_an_anchor_would_carry_elsewhere_is_not_written(tmp_path: Path) -> None:
    # the labels are the selector's anchor: adding a label would change the selector too
    shared = DEPLOYMENT.replace("labels: {app: web}", "labels: &l {app: web}").replace(
        "spec:\n  template:", "spec:\n  selector:\n    matchLabels: *l\n  template:")
    path = tmp_path / "web.yaml"
    path.write_text(shared)
    add_label = {"op": "add", "path": ["metadata", "labels", "team"], "value": "shop"}
    result = apply_fixes([_finding(path, add_label)])
    assert result.written == [] and result.fixed == []
    assert "/spec/selector/matchLabels/team" in result.failed[0][1]
    assert path.read_text() == shared


def test_a_document_ruamel_cannot_read_is_left_alone_with_why(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    text = DEPLOYMENT.replace("web:1.0", "web:1.0\t# pinned")  # (valid YAML; ruamel refuses)
    path.write_text(text)
    result = apply_fixes([_finding(path, ADD_CONTEXT)])
    assert result.written == [] and path.read_text() == text
    assert result.failed[0][1].startswith("ruamel.yaml cannot rewrite the document (")


@pytest.mark.skipif(os.geteuid() != 0, reason="changing a file's owner needs root")
def test_mode_and_owner_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "web.yaml"
    path.write_text(DEPLOYMENT)
    os.chmod(path, 0o640)
    os.chown(path, 4321, 4322)
    assert apply_fixes([_finding(path, ADD_CONTEXT)]).written == [str(path)]
    st = path.stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o640, 4321, 4322)


def test_a_pipe_is_not_rewritten_nor_waited_on(tmp_path: Path) -> None:
    pipe = tmp_path / "manifests.yaml"
    os.mkfifo(pipe)  # (nobody writes to it: opening it to read would wait for ever)
    result = apply_fixes([_finding(pipe, ADD_CONTEXT)])
    assert result.written == [] and result.failed[0][1] == "not a regular file, nothing to rewrite"
