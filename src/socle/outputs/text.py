"""Human text: one line per finding, ``file:line:col``, colour only on a terminal."""

from __future__ import annotations

from typing import TextIO

from socle.core.finding import Finding, Report, Severity, Status
from socle.outputs._cases import visible

_COLORS = {
    Severity.CRITICAL: "\x1b[1;31m",
    Severity.HIGH: "\x1b[31m",
    Severity.MEDIUM: "\x1b[33m",
    Severity.LOW: "\x1b[36m",
    Severity.INFO: "\x1b[2m",
}
_RESET = "\x1b[0m"
_BOLD = "\x1b[1m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


_SEVERITY = {s: str(s) for s in Severity}


def format_finding(f: Finding, color: bool = False, what: str | None = None,
                   shown: bool = True) -> str:
    """One finding's line; ``what`` is the resource as text when the caller has it. (The
    uncoloured line skips the colour helpers: a large check reports ~40,000 findings.)
    ``shown=False``: the uncoloured line as it is, the caller making it :func:`visible`."""
    if what is None:
        what = str(f.resource) if (f.resource.kind or f.resource.name) else ""
    message, path = f.message, f.path
    body = f"{what}: {message}" if what else message
    if path and path not in message:
        body = f"{body} (at {path})"
    loc = f.location() or "-"
    if color:
        loc = _paint(visible(loc), _BOLD, True)
        return f"{loc}: {_paint(_SEVERITY[f.severity], _COLORS[f.severity], True)} " \
            f"{visible(body)} [{visible(f.rule_id)}]"
    line = f"{loc}: {_SEVERITY[f.severity]} {body} [{f.rule_id}]"
    return visible(line) if shown else line


_PRINTABLE_ASCII = bytes(range(0x20, 0x7F)) + b"\n"


def _shown(lines: list[str]) -> str:
    """Lines as one block, each made :func:`visible`: one look over the whole block where it
    is printable ASCII, as nearly always (``isprintable`` line by line took a quarter of the
    time a large report takes)."""
    block = "\n".join(lines) + "\n"
    if block.isascii() and not block.encode().translate(None, _PRINTABLE_ASCII):
        return block
    return "".join(visible(line) + "\n" for line in lines)


def summary_line(report: Report) -> str:
    """kubeconform's summary, word for word: a plural only above one ("0 resource found"),
    and "parsing stdin" when standard input was the whole input."""
    c = report.counts()
    total = sum(c.values())
    files = report.files
    where = "parsing stdin" if report.stdin else \
        f"in {files} file{'s' if files > 1 else ''}"
    return (f"Summary: {total} resource{'s' if total > 1 else ''} found {where} - "
            f"Valid: {c['valid']}, Invalid: {c['invalid']}, Errors: {c['error']}, "
            f"Skipped: {c['skipped']}")


def write(report: Report, stream: TextIO, options: object) -> None:
    color = bool(getattr(options, "color", False))
    verbose = bool(getattr(options, "verbose", False))
    show_summary = bool(getattr(options, "summary", False))
    # written in blocks, not a write per finding (tens of thousands on a large repository)
    lines: list[str] = []
    names: dict[int, str] = {}  # a document's findings share its Resource: named once
    for f in report.sorted_findings():
        res = f.resource
        what = names.get(id(res))
        if what is None:
            what = names[id(res)] = str(res) if (res.kind or res.name) else ""
        # (coloured lines are made visible here, part by part; the others a block at a time)
        lines.append(format_finding(f, color, what, shown=color))
        if verbose and f.remediation:
            lines.append(f"    fix: {visible(f.remediation) if color else f.remediation}")
        if len(lines) >= 4096:
            stream.write("\n".join(lines) + "\n" if color else _shown(lines))
            lines.clear()
    if lines:
        stream.write("\n".join(lines) + "\n" if color else _shown(lines))
    if verbose:
        for d in report.documents:
            if d.status is Status.VALID:
                stream.write(visible(f"{d.file}:{d.line}: {d.resource} is valid") + "\n")
            elif d.status is Status.SKIPPED:
                why = f" ({d.reason})" if d.reason else ""
                stream.write(visible(f"{d.file}:{d.line}: {d.resource} skipped{why}") + "\n")
    if show_summary:
        stream.write(summary_line(report) + "\n")
