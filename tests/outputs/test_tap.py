from __future__ import annotations

import re

import yaml

from outputs.sample_reports import HOSTILE, WEIRD_FILE, render
from socle.core.finding import Report

TEST_LINE = re.compile(r"^(ok|not ok) (\d+) - (.*)$")


def _test_lines(lines: list[str]) -> list[re.Match[str]]:
    return [m for m in map(TEST_LINE.match, lines) if m]


def yaml_blocks(lines: list[str]) -> list[object]:
    blocks, current = [], None
    for line in lines:
        if line == "  ---":
            current = []
        elif line == "  ..." and current is not None:
            blocks.append(yaml.safe_load("\n".join(x[2:] for x in current)))
            current = None
        elif current is not None:
            current.append(line)
    return blocks


def test_version_plan_and_numbering(report: Report) -> None:
    lines = render("tap", report).splitlines()
    assert lines[0] == "TAP version 13"
    assert lines[-1] == "1..8"
    tests = _test_lines(lines)
    assert [int(m.group(2)) for m in tests] == list(range(1, 9))
    # nothing but TAP: test lines, YAML blocks, the header and the plan
    for line in lines:
        assert TEST_LINE.match(line) or line.startswith("  ") or line in (lines[0], lines[-1])


def test_one_line_per_document_with_verdicts(report: Report) -> None:
    lines = render("tap", report).splitlines()
    got = [(m.group(1), m.group(3)) for m in _test_lines(lines)]
    assert got[0] == ("not ok", 'apps/web.yaml - Deployment shop/web: /spec: "selector" is a '
                      "required property; container runs as root "
                      "(at /spec/template/spec/containers/0/securityContext)")
    assert got[1] == ("ok", "apps/web.yaml - Service shop/web")
    assert got[2][0] == "not ok" and got[2][1].startswith(
        "apps/wéird <&> file.yaml - ConfigMap cm-ü: bad <tag")
    assert got[3] == ("not ok", "broken.yaml - document 1: malformed YAML: did not find "
                      "expected node content")
    assert got[4] == ("ok", "list.yaml - ConfigMap item-a")
    assert got[5][0] == "not ok" and got[5][1].startswith("list.yaml - ConfigMap item-b: ")
    assert got[6][0] == "not ok" and got[6][1].startswith("policy-only.yaml - Deployment api")
    assert got[7] == ("ok", "secrets.yaml - Secret shop/token # SKIP skipped by -skip")


def test_hash_in_a_message_is_not_a_directive(report: Report) -> None:
    lines = render("tap", report).splitlines()
    weird = next(line for line in lines if WEIRD_FILE in line)
    # a TAP reader treats an unescaped "#" as the start of a directive (SKIP, TODO)
    assert re.search(r"(?<!\\)#", weird) is None
    assert "\\# SKIP not really" in weird
    assert "::error::forged" in weird and "\r" not in weird


def test_yaml_diagnostics_round_trip(report: Report) -> None:
    blocks = yaml_blocks(render("tap", report).splitlines())
    assert len(blocks) == 5  # one per "not ok"
    first = blocks[0]
    assert isinstance(first, dict) and first["status"] == "invalid"
    assert first["findings"][0] == {"rule": "schema/required", "severity": "high",
                                    "message": '/spec: "selector" is a required property',
                                    "line": 5, "column": 3, "path": "/spec"}
    assert first["findings"][1]["remediation"] == "set runAsNonRoot: true"
    weird = blocks[1]
    assert isinstance(weird, dict)
    assert weird["findings"][0]["message"] == HOSTILE  # every character survives
    assert "line" not in weird["findings"][0]
    broken = blocks[2]
    assert isinstance(broken, dict) and broken["status"] == "error"


def test_summary_is_a_comment(report: Report) -> None:
    lines = render("tap", report, summary=True).splitlines()
    assert lines[-2] == "1..8"
    assert lines[-1].startswith("# Summary: 7 resources found in 6 files")


def test_empty_report() -> None:
    assert render("tap", Report()) == "TAP version 13\n1..0\n"
