"""HTML: one self-contained page (no scripts, no network) a person would rather read.

Scores per framework, controls by severity, then findings grouped by resource with the lines
around the offending key and the fix. Works for any report; the score and control sections
appear when the report carries them (``socle scan``).
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from typing import Any, TextIO

from socle import __version__
from socle.core.finding import Finding, Report, Severity
from socle.outputs._cases import visible

_SEV_ORDER = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.INFO]
CONTEXT = 3

_CSS = """
:root{--c:#7f1d1d;--h:#dc2626;--m:#d97706;--l:#2563eb;--i:#6b7280;--ok:#16a34a;--bg:#f8fafc;
--fg:#0f172a;--mut:#64748b;--card:#fff;--line:#e2e8f0}
*{box-sizing:border-box}body{margin:0;font:14px/1.5 system-ui,-apple-system,Segoe UI,Roboto,
sans-serif;background:var(--bg);color:var(--fg)}header{background:#0f172a;color:#fff;
padding:20px 32px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#cbd5e1}
main{padding:24px 32px;max-width:1200px;margin:auto}h2{font-size:18px;margin:28px 0 12px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(210px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:14px}
.card h3{margin:0 0 6px;font-size:14px}.card .sub{color:var(--mut);font-size:12px}
.big{font-size:26px;font-weight:700}.bar{height:8px;background:#fee2e2;border-radius:4px;
overflow:hidden;margin:6px 0}.bar span{display:block;height:100%;background:var(--ok)}
table{border-collapse:collapse;width:100%;background:var(--card);border:1px solid var(--line);
border-radius:10px;overflow:hidden}th,td{text-align:left;padding:7px 10px;border-bottom:1px
solid var(--line);vertical-align:top}th{background:#f1f5f9;font-size:12px;text-transform:
uppercase;color:var(--mut)}.sev{display:inline-block;padding:1px 8px;border-radius:10px;
color:#fff;font-size:12px;font-weight:600}.sev-critical{background:var(--c)}.sev-high{
background:var(--h)}.sev-medium{background:var(--m)}.sev-low{background:var(--l)}
.sev-info{background:var(--i)}.st-failed{color:var(--h);font-weight:600}.st-passed{
color:var(--ok)}.st-irrelevant{color:var(--mut)}details.res{background:var(--card);border:
1px solid var(--line);border-radius:10px;margin:10px 0;padding:0 14px}details.res>summary{
cursor:pointer;padding:10px 0;font-weight:600}.finding{border-top:1px solid var(--line);
padding:10px 0}.finding .msg{font-weight:600}.loc{color:var(--mut);font-family:ui-monospace,
monospace;font-size:12px}pre.code{background:#0f172a;color:#e2e8f0;border-radius:8px;
padding:8px 0;overflow:auto;font-size:12px;margin:6px 0}pre.code span{display:block;
padding:0 12px}pre.code .hit{background:#7f1d1d}pre.code .n{color:#64748b;display:inline-block;
width:42px;padding:0}pre.fix{background:#f0fdf4;border:1px solid #bbf7d0;border-radius:8px;
padding:8px 12px;font-size:12px;overflow:auto}.refs{font-size:12px;color:var(--mut)}
.tag{display:inline-block;background:#eef2ff;color:#3730a3;border-radius:6px;padding:0 6px;
margin:1px 2px;font-size:11px}.exc{color:var(--mut)}a{color:#2563eb}
"""


def _e(value: Any) -> str:
    return html.escape(visible(str(value), breaks=True), quote=True)


def _sev(severity: Severity | str) -> str:
    s = str(severity)
    return f'<span class="sev sev-{_e(s)}">{_e(s)}</span>'


class _Lines:
    def __init__(self) -> None:
        self._cache: dict[str, list[str] | None] = {}

    def get(self, path: str) -> list[str] | None:
        if path not in self._cache:
            try:
                with open(path, encoding="utf-8-sig", errors="replace") as fh:
                    self._cache[path] = fh.read().splitlines()
            except OSError:
                self._cache[path] = None
        return self._cache[path]


def excerpt(lines: list[str] | None, line: int, context: int = CONTEXT) -> str:
    if not lines or line < 1 or line > len(lines):
        return ""
    lo, hi = max(1, line - context), min(len(lines), line + context)
    rows = []
    for n in range(lo, hi + 1):
        cls = ' class="hit"' if n == line else ""
        rows.append(f'<span{cls}><span class="n">{n}</span>{_e(lines[n - 1])}</span>')
    return '<pre class="code">' + "".join(rows) + "</pre>"


def _fix_text(ops: list[Any]) -> str:
    out = []
    for op in ops:
        if not isinstance(op, dict):
            continue
        path = "/".join(str(p) for p in op.get("path", []))
        if op.get("op") == "remove":
            out.append(f"remove  {path}")
        else:
            out.append(f"{op.get('op', 'set'):<8}{path} = "
                       f"{json.dumps(op.get('value'), ensure_ascii=False)}")
    return "\n".join(out)


def _refs(f: Finding) -> str:
    tags = []
    for key, values in f.references.items():
        for v in values:
            tags.append(f'<span class="tag">{_e(key)}: {_e(v)}</span>')
    link = f' <a href="{_e(f.help_uri)}">docs</a>' if f.help_uri else ""
    return f'<div class="refs">{"".join(tags)}{link}</div>' if tags or link else ""


def _finding_html(f: Finding, lines: _Lines) -> str:
    parts = [f'<div class="finding">{_sev(f.severity)} <b>{_e(f.rule_id)}</b> '
             f'{_e(f.title)}<div class="msg">{_e(f.message)}</div>'
             f'<div class="loc">{_e(f.location())} {_e(f.path)}</div>']
    exc = f.extra.get("exception")
    if isinstance(exc, dict):
        why = exc.get("reason") or "no reason given"
        until = f", until {exc['until']}" if exc.get("until") else ""
        parts.append(f'<div class="exc">Excepted by {_e(exc.get("source", ""))}: '
                     f'{_e(why)}{_e(until)}</div>')
    if "evidence" in f.extra:
        parts.append(f'<div class="loc">evidence: '
                     f'{_e(json.dumps(f.extra["evidence"], ensure_ascii=False))}</div>')
    parts.append(excerpt(lines.get(f.file) if f.file and f.file != "stdin" else None, f.line))
    if f.remediation:
        parts.append(f"<div><b>Fix:</b> {_e(f.remediation)}</div>")
    ops = f.extra.get("fix")
    if isinstance(ops, list) and ops:
        parts.append(f'<pre class="fix">{_e(_fix_text(ops))}</pre>')
    parts.append(_refs(f))
    parts.append("</div>")
    return "".join(parts)


def _group(findings: Iterable[Finding]) -> list[tuple[tuple[str, int, str], list[Finding]]]:
    groups: dict[tuple[str, int, str], list[Finding]] = {}
    for f in findings:
        groups.setdefault((f.file, f.document_index, str(f.resource)), []).append(f)
    return sorted(groups.items(), key=lambda kv: (-max(x.severity for x in kv[1]), kv[0]))


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' if n != 1 else ''}"


def _score_cards(scores: dict[str, Any]) -> str:
    cards = []
    items = [("Overall", "all selected controls", scores["overall"])]
    items += [(name, _plural(len(fw.get("members", [])), "control"), fw)
              for name, fw in scores["frameworks"].items()]
    for name, sub, s in items:
        comp = float(s["complianceScore"])
        cards.append(
            f'<div class="card"><h3>{_e(name)}</h3><div class="big">{comp:g}%</div>'
            f'<div class="bar"><span style="width:{comp:.1f}%"></span></div>'
            f'<div class="sub">compliance &middot; risk {float(s["riskScore"]):g}% &middot; '
            f'{s["controls"]["failed"]} failed / {s["controls"]["passed"]} passed '
            f'&middot; {_e(sub)}</div></div>')
    return '<section><h2>Scores</h2><div class="cards">' + "".join(cards) + "</div></section>"


def _controls_table(report: Report, scores: dict[str, Any]) -> str:
    meta = {getattr(c, "id", ""): c for c in report.extra.get("controls") or []}
    rows = []
    entries = sorted(scores["controls"].items(),
                     key=lambda kv: ({"failed": 0, "passed": 1}.get(kv[1]["status"], 2),
                                     -Severity.parse(kv[1]["severity"]), kv[0]))
    for cid, s in entries:
        c = meta.get(cid)
        title = getattr(c, "title", s.get("name", ""))
        uri = getattr(c, "help_uri", "")
        name = f'<a href="{_e(uri)}">{_e(cid)}</a>' if uri else _e(cid)
        res = s["resources"]
        rows.append(f"<tr><td>{name}</td><td>{_e(title)}</td><td>{_sev(s['severity'])}</td>"
                    f'<td class="st-{_e(s["status"])}">{_e(s["status"])}</td>'
                    f"<td>{res['failed']} / {res['all']}"
                    f"{' (' + str(res['excepted']) + ' excepted)' if res['excepted'] else ''}"
                    f"</td><td>{float(s['complianceScore']):g}%</td></tr>")
    return ('<section><h2>Controls by severity</h2><table><tr><th>Control</th><th>Title</th>'
            "<th>Severity</th><th>Status</th><th>Failed resources</th><th>Compliance</th>"
            "</tr>" + "".join(rows) + "</table></section>")


def render(report: Report) -> str:
    lines = _Lines()
    findings = report.sorted_findings()
    counts = {s: 0 for s in _SEV_ORDER}
    for f in findings:
        counts[f.severity] += 1
    excepted: list[Finding] = list(report.extra.get("excepted") or [])
    head = (f"{report.files} file{'s' if report.files != 1 else ''}, "
            f"{len(report.documents)} resources, {len(findings)} findings ("
            + ", ".join(f"{counts[s]} {s}" for s in _SEV_ORDER[:4])
            + f"), {len(excepted)} excepted")
    body = [f"<header><h1>socle {_e(report.command or 'report')}</h1><p>{_e(head)}</p>"
            f"</header><main>"]
    scores = report.extra.get("scores")
    if scores is not None:
        data = scores.to_dict() if hasattr(scores, "to_dict") else scores
        body.append(_score_cards(data))
        body.append(_controls_table(report, data))
    body.append("<section><h2>Findings by resource</h2>")
    if not findings:
        body.append("<p>No findings.</p>")
    for (file, _, resource), items in _group(findings):
        worst = max(x.severity for x in items)
        body.append(f'<details class="res" open><summary>{_sev(worst)} {_e(resource)} '
                    f'<span class="loc">{_e(file)}</span> &mdash; {len(items)} finding'
                    f'{"s" if len(items) != 1 else ""}</summary>')
        body.extend(_finding_html(f, lines) for f in items)
        body.append("</details>")
    body.append("</section>")
    if excepted:
        body.append("<section><h2>Excepted findings</h2>")
        for (file, _, resource), items in _group(excepted):
            body.append(f'<details class="res"><summary>{_e(resource)} <span class="loc">'
                        f'{_e(file)}</span> &mdash; {len(items)} excepted</summary>')
            body.extend(_finding_html(f, lines) for f in items)
            body.append("</details>")
        body.append("</section>")
    body.append(f'<p class="refs">socle {_e(__version__)}</p></main>')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>socle {_e(report.command or 'report')} report</title>"
            f"<style>{_CSS}</style></head><body>" + "".join(body) + "</body></html>\n")


def write(report: Report, stream: TextIO, options: object) -> None:
    stream.write(render(report))
