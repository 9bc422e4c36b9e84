"""JSON: the stable, documented schema of docs/output.md (``schemaVersion`` 1)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from socle import __version__
from socle.core.finding import Report

SCHEMA_VERSION = 1


def to_dict(report: Report, verbose: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "tool": {"name": report.tool, "version": __version__},
        "command": report.command,
        "summary": {"files": report.files, "findings": len(report.findings),
                    "errors": report.errors, **report.counts()},
        "findings": [f.to_dict() for f in report.sorted_findings()],
    }
    excepted = report.extra.get("excepted")
    if excepted:  # socle scan: accepted findings, shown with status "excepted", not failing
        out["summary"]["excepted"] = len(excepted)
        out["excepted"] = [f.to_dict() for f in excepted]
    scores = report.extra.get("scores")
    if scores is not None:  # socle scan: Kubescape-style risk and compliance scores
        out["scores"] = scores.to_dict() if hasattr(scores, "to_dict") else scores
    if verbose:
        out["documents"] = [d.to_dict() for d in report.documents]
    return out


def write(report: Report, stream: TextIO, options: object) -> None:
    # one write: json.dump to a stream writes thousands of small pieces
    stream.write(json.dumps(to_dict(report, bool(getattr(options, "verbose", False))), indent=2,
                            ensure_ascii=False) + "\n")
