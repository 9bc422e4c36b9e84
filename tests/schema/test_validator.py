"""Validation findings point at the key they are about, found without composing the YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.schema.registry import RegistryOptions
from socle.schema.validator import ValidateOptions, validate_paths

MANIFESTS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: "two"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: app
          image: nginx
          bogus: 1
        - name: app
          image: nginx
---
apiVersion: v1
kind: Service
metadata:
  name: ghost
spec:
  selector:
    app: nobody
  ports:
    - port: 80
"""
WANT = [(6, 3, "schema/type"), (17, 11, "schema/additional-properties"),
        (18, 11, "k8s/duplicate-container-name"), (26, 3, "k8s/service-selector-no-match")]


def _lines(path: Path) -> list[tuple[int, int, str]]:
    report = validate_paths([str(path)], ValidateOptions(
        registry=RegistryOptions(kubernetes_version="1.30.0", strict=True), workers=1))
    return sorted((f.line, f.column, f.rule_id) for f in report.findings)


@pytest.mark.parametrize("flow", [False, True], ids=["block", "flow"])
def test_findings_lines_with_and_without_the_composer(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flow: bool) -> None:
    import socle.formats.yaml as fy

    text = MANIFESTS
    if flow:  # a flow mapping on the way: the fast lookup gives up, the composer answers
        text = text.replace("spec:\n  selector:\n    app: nobody\n  ports:\n    - port: 80\n",
                            "spec: {selector: {app: nobody}, ports: [{port: 80}]}\n")
    path = tmp_path / "m.yaml"
    path.write_text(text)
    calls: list[str] = []
    real = fy.positions
    monkeypatch.setattr(fy, "positions", lambda t: calls.append(t) or real(t))
    got = _lines(path)
    if not flow:
        assert got == WANT
        assert calls == []  # block YAML: every line found by the fast lookup
    else:
        assert got == [*WANT[:3], (25, 8, "k8s/service-selector-no-match")]
        assert len(calls) == 1  # the Service alone

