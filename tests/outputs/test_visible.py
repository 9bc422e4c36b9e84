"""Human output shows what a manifest or a policy wrote; it never lets a terminal, a CI log or
a rendered comment act on it (escape sequences, forged lines, reversed text)."""

from __future__ import annotations

import io
import re

import pytest

from socle.core.finding import Finding, Report, Resource, Severity
from socle.outputs import WriterOptions, get
from socle.outputs._cases import visible

HOSTILE = ("clear\x1b[2J screen, NUL\x00, new\nline, back\rspace, "
           "rev\u202eerse, sep\u2028arator, tab\tkept, caf\u00e9 and \u2603 kept")


def test_visible_escapes_what_would_act_and_keeps_what_is_text() -> None:
    assert visible(HOSTILE) == ("clear\\x1b[2J screen, NUL\\x00, new\\x0aline, back\\x0dspace, "
                                "rev\\u202eerse, sep\\u2028arator, tab\tkept, café and ☃ kept")
    assert visible("a\nb\r\nc", breaks=True) == "a\nb\r\nc"
    assert visible("plain text") == "plain text"


@pytest.mark.parametrize("output", ["text", "tap", "github", "table", "markdown", "html"])
def test_no_writer_passes_control_characters_through(output: str) -> None:
    report = Report(command="test")
    report.add(Finding(rule_id="main.deny", message=HOSTILE, severity=Severity.HIGH,
                       source="policy", resource=Resource("v1", "ConfigMap", "ns", "n\x1bm"),
                       file="dir/a\x07.yaml", line=3))
    out = io.StringIO()
    get(output).write(report, out, WriterOptions(False, True, True))
    text = out.getvalue()
    if output == "html":  # (HTML shows a CR as a space; its code excerpts keep line breaks)
        text = text.replace("\r", "")
    assert re.search("[\x00-\x08\x0b-\x1f\x7f\u2028\u202e]", text) is None
    assert "\\x1b[2J" in text or "\\x1b" in text
