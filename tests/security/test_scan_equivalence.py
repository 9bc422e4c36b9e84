"""``socle scan`` finds exactly what it found before its performance work.

A generated corpus (bench/scan/generate.py, fixed seed) plus every bundled control's fixtures
are scanned with the controls that existed when the golden file was written; the findings
(file, line, column, rule, JSON path, message, evidence, fix, status) must match the golden
file exactly (kept small: per file, the count and a digest of its findings), and so must the
scores. Regenerate the golden only for an intended change of
verdicts: ``SOCLE_WRITE_GOLDEN=1 pytest tests/security/test_scan_equivalence.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from socle.security.runner import ScanOptions, scan_paths

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = Path(__file__).parent / "data" / "scan_golden.json"
CONTROLS = ROOT / "src" / "socle" / "security" / "controls"
GENERATE = ROOT / "bench" / "scan" / "generate.py"


def _generator() -> Any:
    spec = importlib.util.spec_from_file_location("socle_bench_scan_generate_eq", GENERATE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _corpus(tmp: Path, controls: list[str]) -> Path:
    root = tmp / "in"
    gen = _generator()
    gen.generate(str(root / "corpus"), 40, 7, 0.5)
    for name in controls:
        for fx in sorted((CONTROLS / name / "fixtures").glob("*.yaml")):
            dest = root / "fixtures" / name / fx.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(fx, dest)
    return root


def _scan(root: Path, ids: list[str], workers: int) -> dict[str, Any]:
    opts = ScanOptions(include=ids, inputs={"allowedRegistries": ["registry.example.com"]},
                       workers=workers, progress=False)
    cwd = os.getcwd()
    os.chdir(root)
    try:
        report = scan_paths(["."], opts)
    finally:
        os.chdir(cwd)
    rows = []
    for f in [*report.findings, *report.extra.get("excepted", [])]:
        rows.append([f.file, f.document_index, f.line, f.column, f.rule_id, f.path, f.message,
                     json.dumps(f.extra.get("evidence"), sort_keys=True),
                     json.dumps(f.extra.get("fix"), sort_keys=True),
                     f.extra.get("status", "")])
    by_file: dict[str, list[str]] = {}
    for r in rows:
        by_file.setdefault(str(r[0]), []).append(json.dumps(r, sort_keys=True))
    digests = {name: f"{len(rs)} " + hashlib.sha256("\n".join(sorted(rs)).encode()).hexdigest()[:20]
               for name, rs in sorted(by_file.items())}
    scores = json.dumps(report.extra["scores"].to_dict() if hasattr(
        report.extra["scores"], "to_dict") else repr(report.extra["scores"]), sort_keys=True)
    return {"findings": digests, "total": len(rows), "errors": report.errors,
            "scores": hashlib.sha256(scores.encode()).hexdigest()}


def test_findings_match_the_golden_file(tmp_path: Path) -> None:
    if os.environ.get("SOCLE_WRITE_GOLDEN"):
        from socle.security.controls import load_controls

        loaded = load_controls([], True).controls
        golden: dict[str, Any] = {"controls": sorted(c.id for c in loaded),
                                  "names": sorted(c.name for c in loaded)}
    else:
        golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    root = _corpus(tmp_path, golden["names"])
    got = _scan(root, golden["controls"], workers=1)
    if os.environ.get("SOCLE_WRITE_GOLDEN"):
        golden.update(got)
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(golden, indent=0, sort_keys=True) + "\n", encoding="utf-8")
        pytest.skip("golden file written")
    assert got["errors"] == golden["errors"]
    assert got["total"] == golden["total"]
    # per file: the number of findings and a digest of them (every field above)
    differ = {name: (golden["findings"].get(name), value)
              for name, value in got["findings"].items() if golden["findings"].get(name) != value}
    differ.update({name: (value, None) for name, value in golden["findings"].items()
                   if name not in got["findings"]})
    assert differ == {}
    assert got["scores"] == golden["scores"]
    # the same verdicts with worker processes (forked pool, files in chunks)
    assert _scan(root, golden["controls"], workers=2)["findings"] == golden["findings"]
