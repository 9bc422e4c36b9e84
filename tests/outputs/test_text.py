"""The text writer: one line per finding, in file, document, line order."""

from __future__ import annotations

import io
from types import SimpleNamespace

from socle.core.finding import Finding, Report, Resource, Severity
from socle.outputs import text


def test_many_findings_one_line_each_sorted_with_remediation_when_verbose() -> None:
    report = Report()
    res = Resource("v1", "Pod", "ns", "p")
    for i in reversed(range(5000)):  # more than one block of lines
        report.add(Finding("R1", f"problem {i}", Severity.LOW, "security", res,
                           f"f{i // 1000}.yaml", i % 1000 + 1, 3, 0, "/spec",
                           remediation="do it"))
    out = io.StringIO()
    text.write(report, out, SimpleNamespace(color=False, verbose=False, summary=False))
    lines = out.getvalue().split("\n")
    assert lines[-1] == "" and len(lines) == 5001
    assert lines[0] == "f0.yaml:1:3: low Pod ns/p: problem 0 (at /spec) [R1]"
    assert lines[4999].startswith("f4.yaml:1000:3: low Pod ns/p: problem 4999")
    out = io.StringIO()
    text.write(report, out, SimpleNamespace(color=False, verbose=True, summary=True))
    lines = out.getvalue().split("\n")
    assert lines[1] == "    fix: do it" and len(lines) == 10002
    assert lines[-2].startswith("Summary:")


def test_a_control_character_in_one_line_of_a_block_is_shown_there_only() -> None:
    """Lines are checked a block at a time: one with a control character (or a tab, or text
    beyond ASCII) among thousands of plain ones is escaped, the others are left as they are,
    and colour codes stay colour codes."""
    report = Report()
    res = Resource("v1", "Pod", "ns", "p")
    for i in range(5000):
        message = f"problem {i}"
        if i == 4500:
            message = "bad\x1b[2J \u202e\tcafé"
        report.add(Finding("R1", message, Severity.LOW, "security", res, "f.yaml", i + 1, 3,
                           remediation="fix\x07it" if i == 4500 else "do it"))
    for color in (False, True):
        out = io.StringIO()
        text.write(report, out, SimpleNamespace(color=color, verbose=True, summary=False))
        lines = out.getvalue().split("\n")
        assert len(lines) == 10001
        bad = lines[9000]
        assert "bad\\x1b[2J \\u202e\tcafé" in bad and "\x1b[2J" not in bad
        assert lines[9001] == "    fix: fix\\x07it"
        plain = [line for i, line in enumerate(lines) if i not in (9000, 9001)]
        assert all("\\x" not in line and "\\u" not in line for line in plain)
        assert ("\x1b[36m" in lines[0]) is color  # (low: cyan)
