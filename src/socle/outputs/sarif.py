"""SARIF 2.1.0 for code-scanning services and editors: one run, every rule, every finding.

The mapping is documented in docs/output.md. In short: each rule of the report (and any rule a
finding names but the report does not describe) becomes a ``reportingDescriptor``; each finding
becomes a ``result`` whose level follows its severity (critical and high: ``error``, medium:
``warning``, low and info: ``note``), located by a path relative to ``%SRCROOT%`` (the current
folder) and a 1-based line and column, with a fingerprint that survives edits elsewhere in the
file (it hashes the rule, file, resource, JSON path and message, never the line).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from socle import __version__
from socle.core.finding import Finding, Report, Rule, Severity
from socle.outputs._cases import clean, describe, resource_label

SCHEMA_URI = ("https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/"
              "sarif-schema-2.1.0.json")
INFORMATION_URI = "https://github.com/socle-dev/socle"
SRCROOT = "%SRCROOT%"
FINGERPRINT_KEY = "socleFindingHash/v1"
PRETTY_LIMIT = 5000

_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub's scale for security alerts: >= 9 critical, >= 7 high, >= 4 medium, > 0 low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "3.0",
    Severity.INFO: "0.0",
}


def level(severity: Severity) -> str:
    return _LEVELS[severity]


def artifact_location(file: str, root: Path | None = None) -> dict[str, str]:
    """A relative URI under ``%SRCROOT%`` when the file is in or below ``root``, else file://."""
    root = root or Path.cwd()
    path = Path(file)
    if path.is_absolute():
        try:
            rel = path.resolve().relative_to(root.resolve())
        except ValueError:
            return {"uri": path.as_uri() if not _has_surrogates(file) else
                    "file://" + quote(os.fsencode(file))}
        text = rel.as_posix()
    else:
        text = path.as_posix()
    if text.startswith("./"):
        text = text[2:]
    return {"uri": quote(os.fsencode(text), safe="/"), "uriBaseId": SRCROOT}


def _has_surrogates(text: str) -> bool:
    return any("\ud800" <= ch <= "\udfff" for ch in text)


def fingerprint(f: Finding, uri: str = "") -> str:
    """Stable across runs and line moves: what the finding is about, not where it sits.

    ``uri`` is the file as the SARIF location names it (``./a.yaml`` and ``a.yaml`` agree).
    """
    r = f.resource
    parts = [f.rule_id, uri or f.file, r.api_version, r.kind, r.namespace, r.name, f.path,
             f.message]
    data = "\x00".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.sha256(data).hexdigest()[:32]


def _message(f: Finding) -> str:
    what = resource_label(f.resource)
    return f"{what}: {describe(f)}" if what else describe(f)


def _rule_descriptor(rule: Rule, sources: set[str]) -> dict[str, Any]:
    title = rule.title or rule.id
    help_text = rule.help or rule.title or rule.id
    markdown = help_text
    if rule.help_uri:
        markdown += f"\n\n[More information]({rule.help_uri})"
    out: dict[str, Any] = {
        "id": rule.id,
        "shortDescription": {"text": title},
        "fullDescription": {"text": help_text},
        "help": {"text": help_text, "markdown": markdown},
        "defaultConfiguration": {"level": level(rule.severity)},
    }
    if rule.help_uri:
        out["helpUri"] = rule.help_uri
    props: dict[str, Any] = {"severity": str(rule.severity)}
    if sources:
        props["tags"] = sorted(sources)
    if "security" in sources:
        props["security-severity"] = _SECURITY_SEVERITY[rule.severity]
    out["properties"] = props
    return out


def _generated_rule(rule_id: str, findings: list[Finding]) -> Rule:
    """Describe a rule from its findings when the report carries no metadata for it."""
    first = findings[0]
    title = next((f.title for f in findings if f.title), "") or rule_id
    help_text = next((f.remediation for f in findings if f.remediation), "") or title
    help_uri = next((f.help_uri for f in findings if f.help_uri), "")
    return Rule(rule_id, title, help_text, help_uri, first.severity)


def to_dict(report: Report, root: Path | None = None) -> dict[str, Any]:
    root = (root or Path.cwd()).resolve()
    locations: dict[str, dict[str, str]] = {}  # one path computation per file
    findings = report.sorted_findings()
    by_rule: dict[str, list[Finding]] = {}
    for f in findings:
        by_rule.setdefault(f.rule_id, []).append(f)
    rules = dict(report.rules)
    for rule_id, found in by_rule.items():
        if rule_id not in rules:
            rules[rule_id] = _generated_rule(rule_id, found)
    order = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(order)}
    descriptors = [
        _rule_descriptor(rules[rid], {f.source for f in by_rule.get(rid, []) if f.source})
        for rid in order
    ]

    seen: Counter[str] = Counter()
    results = []
    for f in findings:
        result: dict[str, Any] = {
            "ruleId": f.rule_id,
            "ruleIndex": index[f.rule_id],
            "level": level(f.severity),
            "message": {"text": _message(f) or f.rule_id},
        }
        uri = ""
        if f.file:
            where = locations.get(f.file) or locations.setdefault(
                f.file, artifact_location(f.file, root))
            uri = where["uri"]
            region: dict[str, int] = {"startLine": max(f.line, 1)}
            if f.column > 0:
                region["startColumn"] = f.column
            result["locations"] = [{"physicalLocation": {
                "artifactLocation": where,
                "region": region,
            }}]
        hashed = fingerprint(f, uri)
        seen[hashed] += 1
        if seen[hashed] > 1:  # the same problem twice in one file: keep both alerts apart
            hashed = f"{hashed}:{seen[hashed]}"
        result["partialFingerprints"] = {FINGERPRINT_KEY: hashed}
        props: dict[str, Any] = {
            "severity": str(f.severity),
            "source": f.source,
            "resource": f.resource.to_dict(),
            "path": f.path,
            "documentIndex": f.document_index,
        }
        if f.remediation:
            props["remediation"] = f.remediation
        if f.references:
            props["references"] = f.references
        for key, value in f.extra.items():  # evidence, fix, status, exception (scan)
            props.setdefault(key, value)
        if f.extra.get("status") == "excepted":
            result["suppressions"] = [{"kind": "inSource", "justification": str(
                (f.extra.get("exception") or {}).get("reason", "")
                if isinstance(f.extra.get("exception"), dict) else "")}]
        result["properties"] = props
        results.append(result)

    root_uri = root.as_uri()
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": report.tool,
            "version": __version__,
            "semanticVersion": __version__,
            "informationUri": INFORMATION_URI,
            "rules": descriptors,
        }},
        "originalUriBaseIds": {SRCROOT: {"uri": root_uri.rstrip("/") + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "properties": {"command": report.command, "summary": {
            "files": report.files, "findings": len(findings), "errors": report.errors,
            **report.counts()}},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def write(report: Report, stream: TextIO, options: object) -> None:
    log = to_dict(report)
    # indented for people; past PRETTY_LIMIT results compact, as indenting is 7x slower
    indent = 2 if len(log["runs"][0]["results"]) <= PRETTY_LIMIT else None
    text = json.dumps(log, indent=indent, ensure_ascii=False)
    # one pass over the text: lone surrogates (undecodable file names) cannot be encoded
    stream.write(clean(text) + "\n")
