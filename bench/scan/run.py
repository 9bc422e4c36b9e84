#!/usr/bin/env python3
"""The scan benchmark: ``socle scan`` against Checkov on the same 2,000 manifest files.

    .venv/bin/python bench/scan/run.py             # 2,000 files (bench/scan/generate.py)
    .venv/bin/python bench/scan/run.py --files 100 --runs 1   # a smoke test

Checkov is not a socle dependency: it lives in its own virtual environment,

    python3 -m venv bench/out/checkov-venv
    bench/out/checkov-venv/bin/pip install checkov==3.3.30

(``--checkov PATH`` or ``$CHECKOV`` point elsewhere). Steps: generate (or reuse) the labelled
corpus, run each tool once with JSON output to compare findings on the controls they share
(socle controls whose ``references.checkov`` name Checkov checks), then time both interleaved
(``--runs``, default 3) with output to /dev/null, and print Markdown tables for
docs/benchmarks.md. Nothing goes over the network (Checkov runs with ``--skip-download``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)


if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
from benchload import load  # noqa: E402  (bench/ is no package)

generate = load("socle_bench_scan_generate", os.path.join(HERE, "generate.py"))
_common = load("socle_bench_common", os.path.join(BENCH, "common.py"))
fmt_bytes, interleaved, markdown_table = (_common.fmt_bytes, _common.interleaved,
                                          _common.markdown_table)
measure, summarize = _common.measure, _common.summarize

CHECKOV_VERSION = "3.3.30"

# verbs the lead registers in socle.cli.main; until then the benchmark registers them itself
_RUN = ("import sys; from socle.cli.main import COMMANDS, main, register\n"
        "for v in ('scan', 'check'):\n"
        "    v in COMMANDS or register(v, 'socle.cli.' + v, v)\n"
        "sys.exit(main())")


def socle_command(verb: str) -> list[str]:
    """``socle VERB`` through the console script when the verb is registered."""
    from socle.cli.main import COMMANDS

    script = os.path.join(os.path.dirname(sys.executable), "socle")
    if verb in COMMANDS and os.access(script, os.X_OK):
        return [script, verb]
    return [sys.executable, "-c", _RUN, verb]


def find_checkov(explicit: str | None) -> str | None:
    for c in (explicit, os.environ.get("CHECKOV"),
              os.path.join(BENCH, "out", "checkov-venv", "bin", "checkov")):
        if c and os.access(c, os.X_OK):
            return c
    return shutil.which("checkov")


def checkov_command(checkov: str, corpus: str, output: str = "json") -> list[str]:
    return [checkov, "-d", corpus, "--framework", "kubernetes", "-o", output, "--quiet",
            "--compact", "--skip-download"]


def socle_scan(corpus: str, extra: list[str] | None = None) -> list[str]:
    inputs = json.dumps(generate.INPUTS["allowedRegistries"])
    return [*socle_command("scan"), "--input", f"allowedRegistries={inputs}", *(extra or []),
            corpus]


def quote(cmd: list[str]) -> str:
    text = " ".join(shlex.quote(c) for c in cmd)
    return text.replace(ROOT + os.sep, "")


# --- findings --------------------------------------------------------------------------------

Key = tuple[str, str, str, str]  # file (relative), kind, namespace, name


def socle_findings(corpus: str, cmd: list[str]) -> dict[str, set[Key]]:
    proc = subprocess.run([*cmd[:-1], "-o", "json", cmd[-1]], capture_output=True, text=True)
    if proc.returncode not in (0, 1, 2) or not proc.stdout.strip():
        raise RuntimeError(f"socle scan exited {proc.returncode}: {proc.stderr[-2000:]}")
    out: dict[str, set[Key]] = {}
    for f in json.loads(proc.stdout)["findings"]:
        if f.get("source") != "security":
            # exit 2: a control failed to evaluate somewhere; counted, shown under the table
            out.setdefault("<errors>", set()).add((f["file"], f["ruleId"], f["message"], ""))
            continue
        r = f["resource"]
        key = (os.path.relpath(f["file"], corpus), r["kind"], r["namespace"], r["name"])
        out.setdefault(f["ruleId"], set()).add(key)
    return out


def checkov_findings(corpus: str, checkov: str) -> tuple[dict[str, set[Key]], dict[str, Any]]:
    proc = subprocess.run(checkov_command(checkov, corpus), capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"checkov exited {proc.returncode}: {proc.stderr[-2000:]}")
    data = json.loads(proc.stdout)
    reports = data if isinstance(data, list) else [data]
    out: dict[str, set[Key]] = {}
    summary: dict[str, Any] = {}
    for rep in reports:
        if rep.get("check_type") != "kubernetes":
            continue
        summary = rep.get("summary", {})
        for f in rep["results"]["failed_checks"]:
            kind, _, rest = f["resource"].partition(".")
            namespace, _, name = rest.partition(".")
            key = (f["file_path"].lstrip("/"), kind, namespace, name)
            out.setdefault(f["check_id"], set()).add(key)
    return out, summary


def shared_controls() -> list[tuple[str, str, list[str]]]:
    from socle.security.controls import load_controls

    return [(c.id, c.name, c.reference_ids("checkov")) for c in load_controls().controls
            if c.reference_ids("checkov")]


def comparison(corpus: str, socle: dict[str, set[Key]], checkov: dict[str, set[Key]],
               manifest: dict[str, Any]) -> tuple[str, int]:
    planted: dict[str, set[Key]] = {}
    for d in manifest["documents"]:
        for name in d["expected"]:
            planted.setdefault(name, set()).add((d["file"], d["kind"], "", d["name"]))
    rows = []
    only_checkov_total = 0
    for cid, name, refs in shared_controls():
        s = socle.get(cid, set())
        c: set[Key] = set().union(*(checkov.get(r, set()) for r in refs))
        only_c = c - s
        labelled = {(f, k, n) for f, k, _, n in planted.get(name, set())}
        # Checkov-only resources the generator labelled clean for this control
        clean = {x for x in only_c if (x[0], x[1], x[3]) not in labelled}
        only_checkov_total += len(only_c) - len(clean)
        rows.append([f"{cid} {name}", ", ".join(refs), len(labelled), len(s), len(c),
                     len(s & c), len(s - c), len(only_c), len(clean)])
    table = markdown_table(
        ["socle control", "Checkov checks", "planted", "socle", "Checkov", "both",
         "socle only", "Checkov only", "of which labelled clean"], rows, "llrrrrrrr")
    return table, only_checkov_total


# --- main ------------------------------------------------------------------------------------


def prepare(out: str, files: int, regenerate: bool) -> tuple[str, dict[str, Any]]:
    corpus = os.path.join(out, "corpus-full" if files == generate.FULL else f"corpus-{files}")
    manifest = generate.load_manifest(corpus)
    if (regenerate or manifest is None or manifest.get("seed") != generate.SEED
            or manifest.get("files") != files or not os.path.isdir(corpus)):
        print(f"generating {corpus} ...", flush=True)
        manifest = generate.generate(corpus, files)
    return corpus, manifest


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="socle scan vs Checkov")
    p.add_argument("--files", type=int, default=generate.FULL)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--out", default=os.path.join(BENCH, "out", "scan"))
    p.add_argument("--regenerate", action="store_true")
    p.add_argument("--checkov", default=None, help="checkov executable")
    p.add_argument("--socle-arg", action="append", default=[],
                   help="extra argument for socle scan (repeatable), e.g. "
                        "--socle-arg=--exclude-controls=SCL-033")
    args = p.parse_args(argv)
    checkov = find_checkov(args.checkov)
    if checkov is None:
        print("checkov not found: python3 -m venv bench/out/checkov-venv && "
              f"bench/out/checkov-venv/bin/pip install checkov=={CHECKOV_VERSION}",
              file=sys.stderr)
        return 2
    os.makedirs(args.out, exist_ok=True)
    corpus, manifest = prepare(args.out, args.files, args.regenerate)
    docs = len(manifest["documents"])
    mb = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(corpus)
             for f in fs) / 1e6
    s_cmd = socle_scan(corpus, args.socle_arg)
    k_cmd = checkov_command(checkov, corpus)

    print("findings: one run of each with JSON output ...", flush=True)
    s_found = socle_findings(corpus, s_cmd)
    k_found, k_summary = checkov_findings(corpus, checkov)
    table2, only_checkov = comparison(corpus, s_found, k_found, manifest)

    print(f"timing {args.runs} interleaved runs of each ...", flush=True)
    runs = interleaved({"socle": s_cmd, "checkov": k_cmd}, args.runs, interval=0.1,
                       ok_codes=(0, 1, 2))
    s, k = summarize(runs["socle"]), summarize(runs["checkov"])
    ratio = k.wall / s.wall if s.wall else 0.0
    version = subprocess.run([*socle_command("scan")[:-1], "--version"], capture_output=True,
                             text=True).stdout.split()[-1]
    rows = [
        [f"Checkov {CHECKOV_VERSION}", f"{k.wall:.2f}", f"{k.cpu:.2f}",
         f"{docs / k.wall:,.0f}", fmt_bytes(k.max_rss), fmt_bytes(k.tree_peak), "1.00x"],
        [f"socle {version} scan (all cores)", f"{s.wall:.2f}", f"{s.cpu:.2f}",
         f"{docs / s.wall:,.0f}", fmt_bytes(s.max_rss), fmt_bytes(s.tree_peak),
         f"**{ratio:.1f}x**"],
    ]
    table1 = markdown_table(
        ["tool", f"wall s (median of {args.runs})", "CPU s", "docs/s", "peak RSS, largest "
         "process", "peak memory, whole tree (PSS)", "speed vs Checkov (its time / tool's)"],
        rows)
    n_controls = sum(1 for _ in _bundled_ids())
    lines = [
        f"### scan: {docs:,} documents in {args.files:,} files ({mb:.1f} MB), socle's "
        f"{n_controls} bundled controls vs Checkov's Kubernetes checks",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu_model()}), Linux {platform.release()}, Python "
        f"{platform.python_version()}; {time.strftime('%Y-%m-%d')}. Wall times per run: socle "
        f"{', '.join(f'{w:.2f}' for w in s.walls)}; Checkov "
        f"{', '.join(f'{w:.2f}' for w in k.walls)}.",
        "",
        table1,
        "",
        "Findings on the controls both tools have (resources failed; a socle control maps to "
        "the Checkov checks in its `references.checkov`; \"planted\" = documents the generator "
        "labelled for it):",
        "",
        table2,
        "",
        f"Checkov summary: {k_summary.get('failed', '?')} failed, {k_summary.get('passed', '?')}"
        f" passed, {k_summary.get('resource_count', '?')} resources, "
        f"{k_summary.get('parsing_errors', '?')} parsing errors. Planted violations Checkov "
        f"finds and socle misses, on shared controls: **{only_checkov}** (\"labelled clean\": "
        f"Checkov reports a resource the generator made compliant, e.g. kinds it does not "
        f"read the pod template of). socle documents with a "
        f"control that failed to evaluate (exit 2): {len(s_found.get('<errors>', ()))}.",
        "",
        "Commands (timed, output to /dev/null):",
        "",
        "```",
        quote(s_cmd),
        quote(k_cmd),
        "```",
        "",
        "Reproduce: `.venv/bin/python bench/scan/run.py`",
    ]
    text = "\n".join(lines)
    print()
    print(text)
    with open(os.path.join(args.out, "results.md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as fh:
        json.dump({"documents": docs, "files": args.files, "socle": s.__dict__,
                   "checkov": k.__dict__, "ratio": ratio, "only_checkov": only_checkov,
                   "commands": {"socle": s_cmd, "checkov": k_cmd}}, fh, indent=2)
    return 0


def _bundled_ids() -> list[str]:
    from socle.security.controls import load_controls

    return [c.id for c in load_controls().controls]


if __name__ == "__main__":
    sys.exit(main())
