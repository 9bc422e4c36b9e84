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


def test_writers_said_to_leave_fixes_or_scores_out_show_none() -> None:
    """``shows`` is what a run asks before leaving out findings' fix operations or the scan's
    scores: each writer it names as leaving one out shows nothing of it (every option on), and
    the others show it; a writer registered in place of a bundled one is taken to show all."""
    from pathlib import Path

    from socle.outputs import _WRITERS, register, shows
    from socle.security.runner import ScanOptions, scan_paths

    root = Path(__file__).resolve().parents[2]
    report = scan_paths([str(root / "src/socle/security/controls/privileged-container/fixtures"
                              / "fail.yaml")], ScanOptions(include=["SCL-001"], workers=1))
    finding = report.findings[0]
    finding.extra["fix"] = [{"op": "replace", "path": ["spec", "fixmarker"], "value": "v"}]
    real = report.extra["scores"]

    class Marked:  # the scores, their frameworks renamed to a word no writer prints else
        def to_dict(self) -> dict[str, object]:
            data = real.to_dict()
            data["frameworks"] = {f"scoremarker{i}": fw
                                  for i, fw in enumerate(data["frameworks"].values())}
            return data

    report.extra["scores"] = Marked()
    for name in names():
        out = io.StringIO()
        get(name).write(report, out, WriterOptions(True, True, True))
        text = out.getvalue()
        assert ("fixmarker" in text) is shows(name, "fixes"), name
        assert ("scoremarker" in text) is shows(name, "scores"), name
    assert not shows("pretty", "fixes") and shows("json", "scores") and shows("nope", "fixes")
    saved = _WRITERS["text"]
    try:
        register("text", "socle.outputs.json")
        assert shows("text", "fixes") and shows("text", "scores")
    finally:
        _WRITERS["text"] = saved
