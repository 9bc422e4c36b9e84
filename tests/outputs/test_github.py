from __future__ import annotations

import re
from pathlib import Path

from outputs.sample_reports import HOSTILE, WEIRD_FILE, render
from socle.core.finding import Finding, Report, Severity
from socle.outputs import github

# How the Actions runner reads a command: ::name key=value,key=value::data
COMMAND = re.compile(r"^::(error|warning|notice)(?: ([^:]*))?::(.*)$")


def lines_of(text: str) -> list[str]:
    """Lines as the Actions runner reads them: split at CR and LF only (not at NEL, LS, PS)."""
    return [line for line in re.split(r"\r\n|\r|\n", text) if line]


def unescape(text: str, prop: bool = False) -> str:
    if prop:
        text = text.replace("%3A", ":").replace("%2C", ",")
    return text.replace("%0D", "\r").replace("%0A", "\n").replace("%25", "%")


def parse(line: str) -> tuple[str, dict[str, str], str]:
    m = COMMAND.match(line)
    assert m, line
    props = {}
    for pair in (m.group(2) or "").split(","):
        if pair:
            key, _, value = pair.partition("=")
            props[key] = unescape(value, prop=True)
    return m.group(1), props, unescape(m.group(3))


def test_one_command_per_finding(report: Report) -> None:
    lines = lines_of(render("github", report))
    assert len(lines) == len(report.findings)
    commands = [parse(line) for line in lines]
    by_title = {props["title"]: (kind, props, data) for kind, props, data in commands}
    kind, props, data = by_title["A required property is missing (schema/required)"]
    assert kind == "error"
    assert props == {"file": "apps/web.yaml", "line": "5", "col": "3",
                     "title": "A required property is missing (schema/required)"}
    assert data == ('Deployment shop/web: /spec: "selector" is a required property\n'
                    "Fix: Add the property.")
    kind, props, data = by_title["Container runs as root (security/run-as-root)"]
    assert kind == "error" and "col" not in props and props["line"] == "20"
    assert data.endswith("\nFix: set runAsNonRoot: true\nSee https://example.invalid/root")


def test_levels_follow_severity(report: Report) -> None:
    kinds = {props["title"]: kind for kind, props, _ in
             map(parse, lines_of(render("github", report)))}
    assert kinds["policy/labels"] == "warning"
    assert kinds["policy/owner"] == "notice"
    assert kinds["policy/info-only"] == "notice"
    assert kinds["schema/type"] == "error"


def test_hostile_message_cannot_forge_a_command(report: Report) -> None:
    lines = lines_of(render("github", report))
    weird = [line for line in lines if "policy/labels" in line]
    assert len(weird) == 1  # the CR LF inside the message did not start a new line
    _, props, data = parse(weird[0])
    assert props["file"] == WEIRD_FILE
    assert "line" not in props  # the finding has no line
    # (line breaks are the command's own %0D%0A; other control characters are shown, not
    # passed to the log: NUL, ESC, C1)
    shown = HOSTILE.replace("\x00", "\\x00").replace("\x1b", "\\x1b").replace(
        "\x85", "\\x85").replace("\x9f", "\\x9f")
    assert data == f"ConfigMap cm-ü: {shown} (at /metadata/labels)"


def test_property_escaping() -> None:
    f = Finding("a:b,c", "50%\r\ndone", Severity.HIGH, file="dir,x/a:b.yaml", line=3,
                title="t: one, two")
    line = github.command(f, Report())
    assert line == ("::error file=dir%2Cx/a%3Ab.yaml,line=3,title=t%3A one%2C two (a%3Ab%2Cc)"
                    "::50%25%0D%0Adone")


def test_paths_relative_to_the_workspace(tmp_path: Path) -> None:
    f = Finding("r", "m", file=str(tmp_path / "k8s" / "a.yaml"), line=1)
    assert "file=k8s/a.yaml," in github.command(f, Report(), root=tmp_path)
    g = Finding("r", "m", file="./k8s/a.yaml")
    assert github.command(g, Report(), root=tmp_path) == "::error file=k8s/a.yaml,title=r::m"


def test_finding_without_file_and_undecodable_name() -> None:
    report = Report(findings=[Finding("r/x", "whole run", Severity.INFO),
                              Finding("r/y", "m", file="bad\udcff.yaml", line=1)])
    text = render("github", report)
    text.encode("utf-8")  # writable to any UTF-8 stream
    assert lines_of(text) == ["::notice title=r/x::whole run",
                                 "::error file=bad\ufffd.yaml,line=1,title=r/y::m"]


def test_summary_and_empty_report(report: Report) -> None:
    lines = lines_of(render("github", report, summary=True))
    assert lines[-1].startswith("Summary: 7 resources found in 6 files")
    assert render("github", Report()) == ""
