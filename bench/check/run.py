#!/usr/bin/env python3
"""The gate benchmark: ``socle check`` (validate + test + scan, one pass) against kubeconform
alone (schemas only), on the validate corpus.

    .venv/bin/python bench/check/run.py            # 10,000 documents in 1,000 files
    .venv/bin/python bench/check/run.py --small --runs 1

kubeconform does a fraction of the work (JSON schema only); the question is whether the whole
merge-request gate costs no more than the schema check people already run. The corpus, the
schema export and the CRD catalog for kubeconform are those of bench/validate (see its
README). socle check reads a config written to ``bench/out/check/socle.yaml`` (strict,
Kubernetes 1.37.0, every bundled control) and, when present, the conftest policies of the
policy benchmark (``bench/policy/policy``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)


if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
from benchload import load  # noqa: E402  (bench/ is no package)

validate = load("socle_bench_validate_run", os.path.join(BENCH, "validate", "run.py"))
scan = load("socle_bench_scan_run", os.path.join(BENCH, "scan", "run.py"))
_common = load("socle_bench_common", os.path.join(BENCH, "common.py"))
fmt_bytes, interleaved, markdown_table = (_common.fmt_bytes, _common.interleaved,
                                          _common.markdown_table)
summarize = _common.summarize

CONFIG = """\
# written by bench/check/run.py
validate:
  strict: true
  kubernetes-version: "{version}"
"""


def quote(cmd: list[str]) -> str:
    return " ".join(shlex.quote(c) for c in cmd).replace(ROOT + os.sep, "")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="socle check vs kubeconform")
    p.add_argument("--small", action="store_true", help="300 documents in 30 files")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--out", default=os.path.join(BENCH, "out", "check"))
    p.add_argument("--kubeconform", default=None)
    p.add_argument("--policy", default=os.path.join(BENCH, "policy", "policy"),
                   help="conftest policies for the test step ('' for none)")
    p.add_argument("--exclude-controls", default="",
                   help="controls to leave out of the scan step (scan.exclude-controls)")
    args = p.parse_args(argv)
    kc = validate.find_kubeconform(args.kubeconform)
    if kc is None:
        print("kubeconform not found (see bench/validate/README.md)", file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    vout = os.path.join(BENCH, "out", "validate")
    os.makedirs(vout, exist_ok=True)
    corpus, manifest = validate.prepare_corpus(vout, args.small, False)
    schemas = validate.export_schemas(validate.socle_command(), os.path.join(vout, "schemas"))
    catalog = os.path.join(vout, "catalog-small" if args.small else "catalog-full")
    validate.build_catalog(corpus, catalog)
    files = validate.corpus_files(corpus)
    docs = int(manifest["documents"])
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    config = os.path.join(args.out, "socle.yaml")
    with open(config, "w", encoding="utf-8") as fh:
        fh.write(CONFIG.format(version=validate.K8S_VERSION))
        if args.exclude_controls:
            fh.write(f"scan:\n  exclude-controls: [{args.exclude_controls}]\n")

    check = [*scan.socle_command("check"), "--config", config]
    policy = ["--policy", args.policy] if args.policy and os.path.isdir(args.policy) else []
    # kubeconform with one worker per core, at its own default (-n 4) and at -n 8 (its workers
    # wait on file reads: more than the cores can pay): socle is compared with the fastest
    kc_names = {n: f"kubeconform -n {n}" for n in (2, 4, 8)}
    commands = {
        **{name: validate.kubeconform_validate(kc, corpus, schemas, catalog, n)
           for n, name in kc_names.items()},
        "socle check": [*check, *policy, corpus],
        "socle check --no-test": [*check, "--no-test", corpus],
    }
    if not policy:
        del commands["socle check"]
    # one untimed run each: warms the page cache and socle's schema cache; counts findings
    counts: dict[str, dict[str, int]] = {}
    for name, cmd in commands.items():
        if name.startswith("socle"):
            proc = subprocess.run([*cmd[:-1], "-o", "json", cmd[-1]], capture_output=True,
                                  text=True)
            found: dict[str, int] = {}
            for f in json.loads(proc.stdout or '{"findings": []}')["findings"]:
                found[f["source"]] = found.get(f["source"], 0) + 1
            found["exit"] = proc.returncode
            counts[name] = found
        else:
            subprocess.run(cmd, capture_output=True)
    print(f"timing {args.runs} interleaved runs ...", flush=True)
    runs = interleaved(commands, args.runs, ok_codes=(0, 1, 2), interval=0.1)
    best = min(kc_names.values(), key=lambda name: summarize(runs[name]).wall)
    k = summarize(runs[best])
    rows = []
    for name in commands:
        s = summarize(runs[name])
        what = {"socle check": "schemas + extra checks + policies + security controls",
                "socle check --no-test": "schemas + extra checks + security controls"}.get(
                    name, "schemas, the reference: fastest" if name == best else "schemas")
        found = counts.get(name, {})
        rows.append([f"{name} ({what})", f"{s.wall:.2f}", f"{s.cpu:.2f}",
                     f"{docs / s.wall:,.0f}", fmt_bytes(s.max_rss), fmt_bytes(s.tree_peak),
                     ", ".join(f"{v} {k2}" for k2, v in sorted(found.items()) if k2 != "exit")
                     or "-", f"**{k.wall / s.wall:.2f}x**" if name.startswith("socle")
                     else f"{k.wall / s.wall:.2f}x"])
    table = markdown_table(["command", f"wall s (median of {args.runs})", "CPU s", "docs/s",
                            "peak RSS, largest process", "peak memory, whole tree (PSS)",
                            "findings by source", "speed vs kubeconform"], rows, "lrrrrrlr")
    lines = [f"### check: {docs:,} documents in {len(files):,} files ({mb:.1f} MB), one pass, "
             "against kubeconform alone", "",
             f"Machine: {os.cpu_count()} cores ({scan.cpu_model()}), Linux "
             f"{platform.release()}, Python {platform.python_version()}; "
             f"{time.strftime('%Y-%m-%d')}.", "", table, "",
             "Commands (timed, output to /dev/null):", "", "```",
             *(quote(c) for c in commands.values()), "```", "",
             "Reproduce: `.venv/bin/python bench/check/run.py`"]
    text = "\n".join(lines)
    print()
    print(text)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as fh:
        json.dump({n: summarize(r).__dict__ for n, r in runs.items()} | {"counts": counts},
                  fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
