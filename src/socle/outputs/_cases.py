"""What the test-report writers (junit, tap) share: one case per document, with its findings.

A report holds document verdicts and findings side by side; these writers need them joined.
A finding belongs to the document with the same file, document index and resource (items of a
``List`` share their parent's index, so the resource tells them apart). Findings that match no
document (a checker that reports without verdicts) still get a case of their own, so nothing a
user must fix is ever dropped from a report.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from socle.core.finding import Finding, Report, Resource, Status

_SURROGATES = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    """Text any UTF-8 stream can take: lone surrogates (undecodable file names) become U+FFFD."""
    return _SURROGATES.sub("\ufffd", text)


# what a terminal, a CI log or a rendered comment would act on rather than show: control
# characters (escape sequences, line breaks, NUL), line and paragraph separators, and the
# bidirectional overrides that make text read otherwise than it is ("Trojan Source")
_INVISIBLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                        "\ud800-\udfff]")
_INVISIBLE_INLINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029"
                               "\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _shown(m: re.Match[str]) -> str:
    code = ord(m.group())
    if 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, breaks: bool = False) -> str:
    """``text`` as human output shows it: characters a terminal or a renderer would act on
    (a manifest's or a policy's text may hold any) written as escapes, ``\\x1b``, ``\\u202e``;
    ``breaks``: line breaks stay (the writer encodes them its own way)."""
    if text.isprintable():
        return text
    return (_INVISIBLE_INLINE if breaks else _INVISIBLE).sub(_shown, text)


@dataclass
class Case:
    """One document (or one orphan group of findings) and what was found in it."""

    file: str
    index: int
    line: int
    resource: Resource
    status: Status
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)

    @property
    def outcome(self) -> str:
        """``passed``, ``failed``, ``error`` or ``skipped``; any finding fails a case."""
        if self.status is Status.ERROR:
            return "error"
        if self.status is Status.INVALID or self.findings:
            return "failed"
        if self.status is Status.SKIPPED:
            return "skipped"
        return "passed"

    def label(self) -> str:
        """``Kind namespace/name``, or ``document N`` when the document has no identity."""
        r = self.resource
        if r.kind or r.name:
            return str(r)
        return f"document {self.index + 1}"


def resource_label(resource: Resource) -> str:
    """``Kind ns/name`` when the finding has an identity, else the empty string."""
    return str(resource) if (resource.kind or resource.name) else ""


def describe(f: Finding) -> str:
    """A finding's message, with its JSON path when the message does not already name it."""
    if f.path and f.path not in f.message:
        return f"{f.message} (at {f.path})"
    return f.message


def cases(report: Report) -> list[Case]:
    """Every document of the report as a case, findings attached, ordered by file and position."""
    out: list[Case] = []
    exact: dict[tuple[str, int, Resource], Case] = {}
    by_index: dict[tuple[str, int], list[Case]] = defaultdict(list)
    for d in report.documents:
        doc = Case(d.file, d.index, d.line, d.resource, d.status, d.reason)
        out.append(doc)
        exact.setdefault((d.file, d.index, d.resource), doc)
        by_index[(d.file, d.index)].append(doc)
    orphans: dict[tuple[str, int, Resource], Case] = {}
    for f in report.sorted_findings():
        case: Case | None = exact.get((f.file, f.document_index, f.resource))
        if case is None:
            same = by_index.get((f.file, f.document_index), [])
            if len(same) == 1:
                case = same[0]
        if case is None:
            key = (f.file, f.document_index, f.resource)
            case = orphans.get(key)
            if case is None:
                status = Status.ERROR if f.source == "input" else Status.INVALID
                case = Case(f.file, f.document_index, f.line, f.resource, status)
                orphans[key] = case
                out.append(case)
            elif f.source == "input":
                case.status = Status.ERROR
        case.findings.append(f)
    # stable: items of one List keep their order
    out.sort(key=lambda c: (c.file, c.index, c.line))
    return out

