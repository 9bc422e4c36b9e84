"""GitHub Actions workflow commands: each finding becomes an annotation on the pull request.

``::error file=F,line=L,col=C,title=T::message`` for critical and high findings, ``::warning``
for medium, ``::notice`` for low and info. Values are escaped as GitHub's toolkit does (``%``,
CR and LF in the message; also ``:`` and ``,`` in properties), so no message can end its
command early or start a new one. Paths under the current folder are written relative to it,
which is what GitHub resolves against the checked-out repository.
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from socle.core.finding import Finding, Report, Severity
from socle.outputs._cases import clean, describe, resource_label, visible
from socle.outputs.text import summary_line

_COMMANDS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "notice",
    Severity.INFO: "notice",
}


def escape_data(text: str) -> str:
    return visible(clean(text), breaks=True).replace("%", "%25").replace("\r", "%0D").replace(
        "\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def relative(file: str, root: Path | None = None) -> str:
    path = Path(file)
    if not path.is_absolute():
        return path.as_posix().removeprefix("./")
    try:
        return path.resolve().relative_to((root or Path.cwd()).resolve()).as_posix()
    except ValueError:
        return file


def command(f: Finding, report: Report, root: Path | None = None) -> str:
    props: list[tuple[str, str]] = []
    if f.file:
        props.append(("file", relative(f.file, root)))
        if f.line > 0:
            props.append(("line", str(f.line)))
            if f.column > 0:
                props.append(("col", str(f.column)))
    rule = report.rules.get(f.rule_id)
    title = f.title or (rule.title if rule else "")
    props.append(("title", f"{title} ({f.rule_id})" if title else f.rule_id))
    what = resource_label(f.resource)
    message = f"{what}: {describe(f)}" if what else describe(f)
    fix = f.remediation or (rule.help if rule else "")
    if fix:
        message += f"\nFix: {fix}"
    if f.help_uri:
        message += f"\nSee {f.help_uri}"
    head = ",".join(f"{k}={escape_property(v)}" for k, v in props)
    return f"::{_COMMANDS[f.severity]} {head}::{escape_data(message)}"


def write(report: Report, stream: TextIO, options: object) -> None:
    for f in report.sorted_findings():
        stream.write(command(f, report) + "\n")
    if getattr(options, "summary", False):
        stream.write(summary_line(report) + "\n")
