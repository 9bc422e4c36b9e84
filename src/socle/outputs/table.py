"""conftest's ``table`` output: RESULT | FILE | NAMESPACE | MESSAGE, in a box.

RESULT is ``failure``, ``warning`` or ``exception`` for policy findings (conftest's words),
the severity for others. With ``--verbose`` passing documents are listed as ``success``.
"""

from __future__ import annotations

from typing import TextIO

from socle.core.finding import Finding, Report, Severity, Status
from socle.outputs._cases import visible

HEADERS = ("RESULT", "FILE", "NAMESPACE", "MESSAGE")


def _result(f: Finding) -> str:
    if f.title in ("failure", "warning", "exception"):
        return f.title
    if f.source == "policy":
        return "failure" if f.severity >= Severity.HIGH else "warning"
    return str(f.severity)


def _namespace(f: Finding) -> str:
    if f.source == "policy" and "." in f.rule_id:
        return f.rule_id.rsplit(".", 1)[0]
    return f.rule_id


def rows(report: Report, verbose: bool = False) -> list[tuple[str, str, str, str]]:
    out = [(_result(f), visible(f.file), visible(_namespace(f)),
            visible(" ".join(f.message.split()))) for f in report.sorted_findings()]
    if verbose:
        out.extend(("success", visible(d.file), "", "") for d in report.documents
                   if d.status is Status.VALID)
    return out


def _center(text: str, width: int) -> str:
    left = (width - len(text)) // 2
    return " " * left + text + " " * (width - len(text) - left)


def write(report: Report, stream: TextIO, options: object) -> None:
    body = rows(report, bool(getattr(options, "verbose", False)))
    if not body:
        return
    widths = [max(len(h), *(len(r[i]) for r in body)) for i, h in enumerate(HEADERS)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+\n"
    stream.write(line)
    stream.write("|" + "|".join(f" {_center(h, w)} " for h, w in zip(HEADERS, widths, strict=True))
                 + "|\n")
    stream.write(line)
    for r in body:
        stream.write("|" + "|".join(f" {c.ljust(w)} " for c, w in zip(r, widths, strict=True))
                     + "|\n")
    stream.write(line)
