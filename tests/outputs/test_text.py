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
