#!/usr/bin/env python3
"""The Rego engines side by side on the bundled controls: CPU per document, by kind.

    .venv/bin/python bench/engines/run.py                 # 300 files of the validate corpus
    .venv/bin/python bench/engines/run.py --files 50 --runs 3

What ``socle scan`` asks an engine for each document: the one query gathering every control that
applies to its kind (``Scanner.group_for``), on the same engine instance for all documents. The
documents are the validate benchmark's corpus (generated with ``bench/validate/run.py``, or
here when missing). Each engine is timed over every document of a kind, the engines
interleaved, ``--runs`` times; the median CPU time per document (``time.process_time``) is
reported, with the ratio of regorus' time to the compiled engine's last. Both engines must give
the same findings for every document: a mismatch is printed and the exit code is 1.
"""

from __future__ import annotations

import argparse
import glob
import os
import statistics
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
CORPUS = os.path.join(BENCH, "out", "validate", "corpus-full")
KINDS = ("Deployment", "Service", "ConfigMap", "Ingress")


def documents(limit: int) -> dict[str, list[Any]]:
    from socle.formats.yaml import iter_documents

    if not os.path.isdir(CORPUS):
        subprocess.run([sys.executable, os.path.join(BENCH, "validate", "generate.py"),
                        "--out", CORPUS], check=True)
    by_kind: dict[str, list[Any]] = {k: [] for k in KINDS}
    for path in sorted(glob.glob(os.path.join(CORPUS, "**", "*.yaml"), recursive=True))[:limit]:
        with open(path, "rb") as f:
            for doc in iter_documents(f.read(), path):
                if isinstance(doc.obj, dict) and doc.obj.get("kind") in by_kind:
                    by_kind[doc.obj["kind"]].append(doc.obj)
    return by_kind


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--files", type=int, default=300, help="corpus files to read (default 300)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--engines", default="compiled,regorus")
    args = p.parse_args()

    from socle.security.exceptions import Exceptions
    from socle.security.runner import Scanner, ScanOptions, select_controls

    controls = select_controls(ScanOptions()).selected
    local = [c for c in controls.controls if not c.cross_resource]
    exceptions = Exceptions(controls.controls, [], None)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    scanners = {e: Scanner(local, controls.libraries, {}, exceptions, e) for e in engines}
    docs = documents(args.files)
    times: dict[tuple[str, str], list[float]] = {}
    mismatches = 0
    for kind, objs in docs.items():
        if not objs:
            continue
        results: dict[str, list[Any]] = {}
        for run in range(args.runs):
            order = engines if run % 2 == 0 else list(reversed(engines))
            for name in order:
                scanner = scanners[name]
                rule, _ = scanner.group_for(kind) or ("", [])
                engine = scanner._engine_for(rule)
                t = time.process_time()
                out = [engine.eval_rule(rule, obj) for obj in objs]
                times.setdefault((kind, name), []).append((time.process_time() - t) / len(objs))
                results[name] = out
        first = results[engines[0]]
        for name in engines[1:]:
            for i, (a, b) in enumerate(zip(first, results[name], strict=True)):
                if a != b:
                    mismatches += 1
                    print(f"mismatch: {kind} #{i}: {engines[0]} {a!r} != {name} {b!r}")
    print(f"\n### engines: the bundled controls' query per document, {args.files} files of the "
          f"validate corpus, median of {args.runs} runs (CPU µs per document)\n")
    print("| kind | documents | controls | " + " | ".join(engines) + " | regorus / compiled |")
    print("|---|---:|---:|" + "---:|" * len(engines) + "---:|")
    for kind, objs in docs.items():
        if not objs:
            continue
        group = scanners[engines[0]].group_for(kind)
        n = len(group[1]) if group else 0
        cells = [statistics.median(times[(kind, e)]) * 1e6 for e in engines]
        ratio = ""
        if "compiled" in engines and "regorus" in engines:
            slow = statistics.median(times[(kind, "regorus")])
            ratio = f"**{slow / statistics.median(times[(kind, 'compiled')]):.1f}x**"
        print(f"| {kind} | {len(objs):,} | {n} | " + " | ".join(f"{c:,.0f}" for c in cells)
              + f" | {ratio} |")
    print(f"\nfindings: {mismatches} mismatches between the engines")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
