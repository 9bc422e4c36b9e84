"""JUnit XML, the shape kubeconform and conftest write and GitLab, Jenkins and others ingest.

One ``<testsuite>`` per file, one ``<testcase>`` per document (named after the resource,
``classname`` ``Kind@apiVersion``). An invalid document (or any document with findings) holds
one ``<failure>`` whose ``message`` is the first finding and whose text lists them all; a
document that could not be read holds an ``<error>``; a skipped one a ``<skipped>``. Counts on
every suite and on the root add up. Everything is escaped, undecodable bytes of file names show
as U+FFFD, and the characters XML 1.0 cannot carry at all (most C0 control characters) are
removed, so any parser accepts the file.
"""

from __future__ import annotations

import re
from itertools import groupby
from typing import TextIO

from socle.core.finding import Finding, Report
from socle.outputs._cases import Case, cases, clean, describe, resource_label

# Everything outside XML 1.0's Char production.
_FORBIDDEN = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# Anything xml_text or xml_attr would change; most names and messages have none of it.
_SPECIAL = re.compile('[&<>"\x00-\x1f\ud800-\udfff\ufffe\uffff]')


def xml_text(value: object) -> str:
    """Character data: lone surrogates as U+FFFD, other forbidden characters removed, markup
    escaped."""
    text = str(value)
    if not _SPECIAL.search(text):
        return text
    text = _FORBIDDEN.sub("", clean(text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_attr(value: object) -> str:
    """An attribute value in double quotes; line breaks and tabs survive normalisation."""
    text = str(value)
    if not _SPECIAL.search(text):
        return text
    return (xml_text(text).replace('"', "&quot;").replace("\n", "&#10;")
            .replace("\r", "&#13;").replace("\t", "&#9;"))


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _finding_line(f: Finding) -> str:
    where = f.location() or "-"
    what = resource_label(f.resource)
    body = f"{what}: {describe(f)}" if what else describe(f)
    out = f"{where}: {f.severity} {body} [{f.rule_id}]"
    if f.remediation:
        out += f"\n    fix: {f.remediation}"
    return out


def _case_name(case: Case) -> str:
    r = case.resource
    if r.name:
        return f"{r.namespace}/{r.name}" if r.namespace else r.name
    return case.label()


def _classname(case: Case) -> str:
    r = case.resource
    if not r.kind:
        return "document"
    return f"{r.kind}@{r.api_version}" if r.api_version else r.kind


def _outcome_element(case: Case) -> str:
    outcome = case.outcome
    if outcome == "passed":
        return ""
    if outcome == "skipped":
        reason = case.reason or "skipped"
        return f'<skipped message="{xml_attr(reason)}"/>'
    tag = "error" if outcome == "error" else "failure"
    if case.findings:
        first = case.findings[0]
        message = describe(first)
        more = len(case.findings) - 1
        if more:
            message += f" (and {more} more)"
        kind = first.rule_id
        body = "\n".join(_finding_line(f) for f in case.findings)
    else:
        message = case.reason or ("cannot be read" if tag == "error" else "invalid")
        kind = tag
        body = message
    return (f'<{tag} message="{xml_attr(_one_line(message))}" type="{xml_attr(kind)}">'
            f"{xml_text(body)}</{tag}>")


def _counts(items: list[Case]) -> dict[str, int]:
    out = {"tests": len(items), "failures": 0, "errors": 0, "skipped": 0}
    for c in items:
        outcome = c.outcome
        if outcome == "failed":
            out["failures"] += 1
        elif outcome == "error":
            out["errors"] += 1
        elif outcome == "skipped":
            out["skipped"] += 1
    return out


def to_xml(report: Report) -> str:
    items = cases(report)
    total = _counts(items)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuites name="{xml_attr(report.tool)}" tests="{total["tests"]}" '
             f'failures="{total["failures"]}" errors="{total["errors"]}" '
             f'disabled="{total["skipped"]}" time="0">']
    # cases come sorted by file: one pass groups them
    for number, (file, group) in enumerate(groupby(items, key=lambda c: c.file), start=1):
        suite = list(group)
        n = _counts(suite)
        lines.append(f'  <testsuite name="{xml_attr(file or "-")}" id="{number}" '
                     f'tests="{n["tests"]}" failures="{n["failures"]}" errors="{n["errors"]}" '
                     f'skipped="{n["skipped"]}" disabled="0" time="0">')
        used: dict[tuple[str, str], int] = {}
        for case in suite:
            name, classname = _case_name(case), _classname(case)
            seen = used.get((classname, name), 0)
            used[(classname, name)] = seen + 1
            if seen:  # CI systems merge test cases with one name: keep each document apart
                name = f"{name} (document {case.index + 1}, line {case.line})"
            attrs = (f'name="{xml_attr(name)}" classname="{xml_attr(classname)}" '
                     f'file="{xml_attr(file)}" line="{case.line}" time="0"')
            inner = _outcome_element(case)
            if inner:
                lines.append(f"    <testcase {attrs}>\n      {inner}\n    </testcase>")
            else:
                lines.append(f"    <testcase {attrs}></testcase>")
        lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"


def write(report: Report, stream: TextIO, options: object) -> None:
    stream.write(to_xml(report))
