"""Exceptions of every kind: inline socle, Kubescape, Checkov, kube-score, kube-linter, file."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from scan_testing import DEPLOYMENT, write_controls
from socle.core.errors import UsageError
from socle.security.exceptions import EXPIRED_RULE, INVALID_RULE
from socle.security.runner import ScanOptions, scan_paths

TODAY = dt.date(2026, 6, 1)


def _with_annotations(annotations: str, labels: str = "{app: web}") -> str:
    return DEPLOYMENT.replace("  labels: {app: web}\n",
                              f"  labels: {labels}\n  annotations:\n{annotations}", 1)


def _scan(tmp_path: Path, text: str, exceptions: str | None = None) -> Any:
    ctl = write_controls(tmp_path / "controls")
    (tmp_path / "d.yaml").write_text(text)
    opts = ScanOptions(controls_dirs=[str(ctl)], bundled=False, workers=1, today=TODAY)
    if exceptions is not None:
        (tmp_path / "exceptions.yaml").write_text(exceptions)
        opts.exceptions_file = str(tmp_path / "exceptions.yaml")
    return scan_paths([str(tmp_path / "d.yaml")], opts)


def _excepted(report: Any) -> dict[str, dict[str, str]]:
    return {f.rule_id: f.extra["exception"] for f in report.extra.get("excepted", [])}


def _failing(report: Any) -> set[str]:
    return {f.rule_id for f in report.findings}


def test_without_exceptions_the_control_fails(tmp_path: Path) -> None:
    assert _failing(_scan(tmp_path, DEPLOYMENT)) == {"T-001"}


def test_inline_socle_skip_with_reason_and_date(tmp_path: Path) -> None:
    text = _with_annotations('    socle.dev/skip: "T-001, test-non-root"\n'
                             "    socle.dev/skip-reason: needs raw devices\n"
                             "    socle.dev/skip-until: 2026-12-31\n")
    report = _scan(tmp_path, text)
    assert _failing(report) == set()
    exc = _excepted(report)["T-001"]
    assert exc == {"source": "socle", "reason": "needs raw devices", "until": "2026-12-31"}
    f = report.extra["excepted"][0]
    assert f.extra["status"] == "excepted" and f.to_dict()["status"] == "excepted"
    scores = report.extra["scores"].to_dict()["controls"]["T-001"]
    assert scores["status"] == "passed" and scores["resources"]["excepted"] == 1


def test_expired_inline_exception_fails_and_no_longer_applies(tmp_path: Path) -> None:
    text = _with_annotations("    socle.dev/skip: T-001\n    socle.dev/skip-until: 2026-01-31\n")
    report = _scan(tmp_path, text)
    assert _failing(report) == {"T-001", EXPIRED_RULE}
    [expired] = [f for f in report.findings if f.rule_id == EXPIRED_RULE]
    assert expired.line == 9 and "2026-01-31" in expired.message  # the skip-until line


def test_unreadable_date_is_reported(tmp_path: Path) -> None:
    text = _with_annotations("    socle.dev/skip: T-001\n    socle.dev/skip-until: someday\n")
    assert _failing(_scan(tmp_path, text)) == {"T-001", INVALID_RULE}


@pytest.mark.parametrize(("annotations", "labels", "source"), [
    ('    kubescape.io/skip-controls: "C-0057"\n    kubescape.io/skip-reason: ok\n',
     "{app: web}", "kubescape"),
    ('    kubescape.io/ignore: "true"\n', "{app: web}", "kubescape"),
    ("    x: y\n", '{app: web, kubescape.io/ignore: "true"}', "kubescape"),
    ("    checkov.io/skip1: CKV_K8S_20=other\n    checkov.io/skip2: CKV_K8S_16=by design\n",
     "{app: web}", "checkov"),
    ("    kube-score/ignore: pod-probes,container-security-context-privileged\n",
     "{app: web}", "kube-score"),
    ("    ignore-check.kube-linter.io/privileged-container: host agent\n", "{app: web}",
     "kube-linter"),
])
def test_other_tools_annotations_map_through_references(tmp_path: Path, annotations: str,
                                                        labels: str, source: str) -> None:
    report = _scan(tmp_path, _with_annotations(annotations, labels))
    assert "T-001" not in _failing(report)
    assert _excepted(report)["T-001"]["source"] == source


def test_kubescape_ignore_label_without_any_annotation(tmp_path: Path) -> None:
    text = DEPLOYMENT.replace("  labels: {app: web}\n",
                              '  labels: {app: web, kubescape.io/ignore: "true"}\n', 1)
    assert "annotations" not in text
    report = _scan(tmp_path, text)
    assert "T-001" not in _failing(report)
    assert _excepted(report)["T-001"]["source"] == "kubescape"
    assert _failing(_scan(tmp_path, DEPLOYMENT)) == {"T-001"}


def test_unrelated_tool_id_does_not_except(tmp_path: Path) -> None:
    report = _scan(tmp_path, _with_annotations('    kubescape.io/skip-controls: "C-0016"\n'))
    assert _failing(report) == {"T-001"}


def test_kubescape_expiry_in_the_past(tmp_path: Path) -> None:
    text = _with_annotations('    kubescape.io/skip-controls: "C-0057"\n'
                             '    kubescape.io/skip-expiry: "2025-03-01T00:00:00Z"\n')
    assert _failing(_scan(tmp_path, text)) == {"T-001", EXPIRED_RULE}


FILE = """\
exceptions:
  - controls: [T-001]
    kinds: [Deployment]
    namespaces: [shop]
    names: ["we.*"]
    labels: {app: web}
    reason: reviewed in SEC-12
    until: 2026-12-31
"""


def test_exceptions_file_matches_on_every_selector(tmp_path: Path) -> None:
    report = _scan(tmp_path, DEPLOYMENT, FILE)
    exc = _excepted(report)["T-001"]
    assert exc["source"] == "file" and exc["reason"] == "reviewed in SEC-12"
    assert exc["where"].endswith("exceptions.yaml:2")


@pytest.mark.parametrize("change", ["namespaces: [shop]|namespaces: [prod]",
                                    'names: ["we.*"]|names: ["w"]',
                                    "labels: {app: web}|labels: {app: api}",
                                    "kinds: [Deployment]|kinds: [StatefulSet]",
                                    "controls: [T-001]|controls: [T-002]"])
def test_exceptions_file_needs_every_selector(tmp_path: Path, change: str) -> None:
    old, new = change.split("|")
    assert _failing(_scan(tmp_path, DEPLOYMENT, FILE.replace(old, new))) == {"T-001"}


def test_expired_file_entry_fails_at_its_line(tmp_path: Path) -> None:
    report = _scan(tmp_path, DEPLOYMENT, FILE.replace("2026-12-31", "2026-05-31"))
    assert _failing(report) == {"T-001", EXPIRED_RULE}
    [expired] = [f for f in report.findings if f.rule_id == EXPIRED_RULE]
    assert expired.file.endswith("exceptions.yaml") and expired.line == 2


@pytest.mark.parametrize(("text", "line"), [
    ("- controls: [T-001]\n  colour: red\n", 1),
    ("- controls: [T-001]\n  until: next week\n", 2),
    ("- names: ['(']\n", 1),
    ("- reason: nothing selected\n", 1),
])
def test_bad_exceptions_file_is_a_usage_error_with_a_line(tmp_path: Path, text: str,
                                                          line: int) -> None:
    with pytest.raises(UsageError) as err:
        _scan(tmp_path, DEPLOYMENT, text)
    assert err.value.line == line


# --- Kubescape's exceptions file (its README's format) ---------------------------------------

def _kubescape(attributes: str, policies: str) -> str:
    return f"""[
  {{
    "name": "accepted-privileged",
    "policyType": "postureExceptionPolicy",
    "actions": ["alertOnly"],
    "resources": [{{"designatorType": "Attributes", "attributes": {attributes}}}],
    "posturePolicies": {policies}
  }}
]
"""


@pytest.mark.parametrize(("attributes", "policies"), [
    ('{"kind": ".*"}', '[{"controlID": "C-0057"}]'),
    ('{"namespace": "sho.", "kind": "Deployment"}', '[{"controlID": "C-00(57|16)"}]'),
    ('{"name": "web", "app": "web"}', '[{"frameworkName": "NSA"}]'),
    ('{"kind": "Deployment"}', '[{"frameworkName": "AllControls"}]'),
    ('{"kind": "Deployment"}', '[{"controlID": "C-0001"}, {"frameworkName": "N.A"}]'),
    ('{"kind": "Deployment"}', '[{"controlID": "C-0057", "frameworkName": "MITRE"}]'),
])
def test_kubescape_exceptions_file_excepts_as_kubescape(tmp_path: Path, attributes: str,
                                                        policies: str) -> None:
    # a Kubescape user's exceptions.json, unchanged: attribute values and policy fields are
    # regular expressions matched in full, other attributes are labels, policies are any-of
    report = _scan(tmp_path, DEPLOYMENT, _kubescape(attributes, policies))
    assert _failing(report) == set()
    exc = _excepted(report)["T-001"]
    assert exc["source"] == "file" and exc["reason"] == "Kubescape exception accepted-privileged"


@pytest.mark.parametrize(("attributes", "policies"), [
    ('{"kind": ".*"}', '[{"controlID": "C-005"}]'),  # (in full: not a prefix)
    ('{"namespace": "sh"}', '[{"controlID": "C-0057"}]'),
    ('{"app": "we.*"}', '[{"controlID": "C-0057"}]'),  # (labels exactly)
    ('{"kind": "Deployment"}', '[{"frameworkName": "ArmoBest"}]'),  # (no such framework here)
    ('{"kind": "Deployment", "cluster": "minikube"}', '[{"controlID": "C-0057"}]'),
    ('{"kind": "Deployment"}', '[{"controlID": "C-0057", "frameworkName": "ArmoBest"}]'),
])
def test_kubescape_exceptions_that_do_not_cover_the_finding(tmp_path: Path, attributes: str,
                                                            policies: str) -> None:
    # (a designator naming a cluster does not apply to files; one policy's fields all apply)
    assert _failing(_scan(tmp_path, DEPLOYMENT, _kubescape(attributes, policies))) == {"T-001"}


@pytest.mark.parametrize(("policies", "message"), [
    ('[{"controlName": "Privileged container"}]', "controlName is not supported"),
    ("[]", "posturePolicies must be a non-empty list"),
])
def test_kubescape_exceptions_socle_cannot_follow_are_refused(tmp_path: Path, policies: str,
                                                              message: str) -> None:
    with pytest.raises(UsageError, match=message) as err:
        _scan(tmp_path, DEPLOYMENT, _kubescape('{"kind": ".*"}', policies))
    assert err.value.line >= 2
