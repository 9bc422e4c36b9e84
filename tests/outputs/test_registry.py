from __future__ import annotations

import io

import pytest

from outputs.sample_reports import sample_report
from socle.outputs import WriterOptions, get, names


@pytest.mark.parametrize("name", ["junit", "tap", "sarif", "github"])
def test_writer_found_by_name_and_writes_with_every_option(name: str) -> None:
    assert name in names()
    writer = get(name)
    outputs = set()
    for options in (WriterOptions(), WriterOptions(True, True, True)):
        out = io.StringIO()
        writer.write(sample_report(), out, options)
        text = out.getvalue()
        assert text.endswith("\n")
        text.encode("utf-8")
        outputs.add(text)
    # colour and verbosity never change a machine-readable report; --summary may add a line
    assert len(outputs) <= 2


def test_writers_said_to_show_no_fix_operations_show_none() -> None:
    """``shows_fixes`` is what a run asks before leaving findings' fix operations out: each
    writer it names as showing none shows nothing of a fix (every option on), and the others
    show it; a writer registered in place of a bundled one is taken to show them."""
    from socle.core.finding import Finding, Report, Resource, Severity
    from socle.outputs import _WRITERS, register, shows_fixes

    report = Report(command="scan")
    report.add(Finding("SCL-001", "privileged", Severity.HIGH, "security",
                       Resource("apps/v1", "Deployment", "ns", "web"), "app.yaml", 3, 5, 0,
                       "/spec", extra={"status": "failed", "fix": [
                           {"op": "replace", "path": ["spec", "fixmarker"],
                            "value": "fixvalue"}]}))
    for name in names():
        out = io.StringIO()
        get(name).write(report, out, WriterOptions(True, True, True))
        shown = "fixmarker" in out.getvalue() or "fixvalue" in out.getvalue()
        assert shown is shows_fixes(name), name
    assert not shows_fixes("pretty") and shows_fixes("json") and shows_fixes("nope")
    saved = _WRITERS["text"]
    try:
        register("text", "socle.outputs.json")
        assert shows_fixes("text")
    finally:
        _WRITERS["text"] = saved
