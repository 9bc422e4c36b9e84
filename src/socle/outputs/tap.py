"""TAP version 13: one test line per document, as kubeconform's ``-output tap`` prints.

``ok N - file - Kind name`` for a valid document, ``not ok N - file - Kind name: message`` for
an invalid one or one that could not be read (all its messages, joined by ``; ``), and
``ok N - file - Kind name # SKIP reason`` for a skipped one; the plan line ``1..N`` closes the
stream. Each ``not ok`` line is followed by a TAP 13 YAML block listing the findings one by
one (rule, severity, message, line, column, path). ``#`` and ``\\`` in descriptions are
escaped as TAP asks, and line breaks become spaces, so a message cannot forge a test line.
"""

from __future__ import annotations

import json
import re
from typing import TextIO

from socle.core.finding import Report
from socle.outputs._cases import Case, cases, clean, describe, visible
from socle.outputs.text import summary_line

# Characters YAML cannot hold unescaped in a double-quoted scalar: non-printables, the line
# breaks of YAML 1.1 (NEL, LS, PS) that a reader would fold into a space, and the
# bidirectional overrides that make text read otherwise than it is
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
                          "\ufffe\uffff]")


def tap_text(text: str) -> str:
    """A description or directive reason on one TAP line."""
    text = clean(text).replace("\\", "\\\\").replace("#", "\\#")
    return visible(" ".join(text.split()))


def yaml_str(text: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax, plus escapes for C1 controls)."""
    quoted = json.dumps(clean(text), ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _description(case: Case) -> str:
    return f"{case.file or '-'} - {case.label()}"


def _diagnostics(case: Case) -> list[str]:
    out = ["  ---", f"  status: {'error' if case.outcome == 'error' else 'invalid'}"]
    if not case.findings:
        out.append(f"  message: {yaml_str(case.reason or 'invalid')}")
    else:
        out.append("  findings:")
        for f in case.findings:
            out.append(f"    - rule: {yaml_str(f.rule_id)}")
            out.append(f"      severity: {f.severity}")
            out.append(f"      message: {yaml_str(f.message)}")
            if f.line:
                out.append(f"      line: {f.line}")
            if f.column:
                out.append(f"      column: {f.column}")
            if f.path:
                out.append(f"      path: {yaml_str(f.path)}")
            if f.remediation:
                out.append(f"      remediation: {yaml_str(f.remediation)}")
    out.append("  ...")
    return out


def lines(report: Report, summary: bool = False) -> list[str]:
    out = ["TAP version 13"]
    items = cases(report)
    for number, case in enumerate(items, start=1):
        desc = tap_text(_description(case))
        outcome = case.outcome
        if outcome == "passed":
            out.append(f"ok {number} - {desc}")
        elif outcome == "skipped":
            reason = f" {tap_text(case.reason)}" if case.reason else ""
            out.append(f"ok {number} - {desc} # SKIP{reason}")
        else:
            messages = [describe(f) for f in case.findings] or [case.reason or "invalid"]
            out.append(f"not ok {number} - {desc}: {tap_text('; '.join(messages))}")
            out.extend(_diagnostics(case))
    out.append(f"1..{len(items)}")
    if summary:
        out.append(f"# {summary_line(report)}")
    return out


def write(report: Report, stream: TextIO, options: object) -> None:
    text = "\n".join(lines(report, bool(getattr(options, "summary", False)))) + "\n"
    stream.write(text)
