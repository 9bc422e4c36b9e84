"""Markdown for merge-request comments: a summary table, the top findings, details folded."""

from __future__ import annotations

from typing import Any, TextIO

from socle.core.finding import Finding, Report, Severity
from socle.outputs._cases import visible

TOP = 10
_ICON = {Severity.CRITICAL: "🟥", Severity.HIGH: "🔴", Severity.MEDIUM: "🟠",
         Severity.LOW: "🔵", Severity.INFO: "⚪"}


def _cell(text: Any) -> str:
    return visible(str(text).replace("|", "\\|").replace("\n", " ").replace("`", "'"))


def _where(f: Finding) -> str:
    return f"`{_cell(f.location() or '-')}`"


def render(report: Report) -> str:
    findings = report.sorted_findings()
    excepted: list[Finding] = list(report.extra.get("excepted") or [])
    counts = {s: 0 for s in Severity}
    for f in findings:
        counts[f.severity] += 1
    out = [f"### socle {report.command or 'report'}: "
           + ("no findings ✅" if not findings else f"{len(findings)} finding"
              + ("s" if len(findings) != 1 else "")), ""]
    out.append("| Critical | High | Medium | Low | Excepted | Files |")
    out.append("|---:|---:|---:|---:|---:|---:|")
    out.append(f"| {counts[Severity.CRITICAL]} | {counts[Severity.HIGH]} | "
               f"{counts[Severity.MEDIUM]} | {counts[Severity.LOW]} | {len(excepted)} | "
               f"{report.files} |")
    out.append("")
    scores = report.extra.get("scores")
    if scores is not None:
        data = scores.to_dict() if hasattr(scores, "to_dict") else scores
        out.append("| Framework | Compliance | Risk | Failed controls |")
        out.append("|---|---:|---:|---:|")
        rows = [("**overall**", data["overall"]), *list(data["frameworks"].items())]
        for name, s in rows:
            out.append(f"| {name} | {float(s['complianceScore']):g}% | "
                       f"{float(s['riskScore']):g}% | {s['controls']['failed']} / "
                       f"{s['controls']['failed'] + s['controls']['passed']} |")
        out.append("")
    if findings:
        top = sorted(findings, key=lambda f: (-f.severity, f.file, f.line))[:TOP]
        out.append(f"**Top findings** ({len(top)} of {len(findings)})")
        out.append("")
        out.append("| | Control | Resource | Where | Message |")
        out.append("|---|---|---|---|---|")
        for f in top:
            rule = f"[{f.rule_id}]({f.help_uri})" if f.help_uri else f.rule_id
            out.append(f"| {_ICON[f.severity]} {f.severity} | {rule} | {_cell(f.resource)} | "
                       f"{_where(f)} | {_cell(f.message)} |")
        out.append("")
        groups: dict[tuple[str, int, str], list[Finding]] = {}
        for f in findings:
            groups.setdefault((f.file, f.document_index, str(f.resource)), []).append(f)
        out.append("<details><summary>All findings by resource</summary>")
        out.append("")
        for (file, _, resource), items in sorted(groups.items()):
            out.append(f"#### {_cell(resource)} (`{_cell(file)}`)")
            out.append("")
            for f in items:
                out.append(f"- {_ICON[f.severity]} **{f.rule_id}** {_cell(f.message)} "
                           f"at {_where(f)}")
                if f.remediation:
                    out.append(f"  - fix: {_cell(f.remediation)}")
            out.append("")
        out.append("</details>")
        out.append("")
    if excepted:
        out.append(f"<details><summary>{len(excepted)} excepted finding"
                   f"{'s' if len(excepted) != 1 else ''}</summary>")
        out.append("")
        for f in excepted:
            exc = f.extra.get("exception") or {}
            reason = exc.get("reason") or "no reason given"
            until = f" (until {exc['until']})" if exc.get("until") else ""
            out.append(f"- **{f.rule_id}** {_cell(f.resource)} at {_where(f)}: "
                       f"{_cell(exc.get('source', ''))}: {_cell(reason)}{until}")
        out.append("")
        out.append("</details>")
        out.append("")
    return "\n".join(out)


def write(report: Report, stream: TextIO, options: object) -> None:
    stream.write(render(report))
