#!/usr/bin/env python3
"""The validate benchmark: socle against kubeconform (and kubernetes-validate), same corpus.

    .venv/bin/python bench/validate/run.py            # 10,000 documents in 1,000 files
    .venv/bin/python bench/validate/run.py --small    # 300 documents in 30 files (smoke test)

Steps: generate (or reuse) the corpus under bench/out/validate/, export socle's bundled
Kubernetes schemas for kubeconform (``socle schemas export``) and convert the corpus's CRDs
into a CRD-catalog folder (kubeconform cannot read CRDs from its input), check that every
document gets the same verdict from both tools (and the one the generator intended), then time
both tools interleaved, run kubernetes-validate once, time ``socle --version``, and print a
Markdown table for docs/benchmarks.md. Nothing touches the network. Exit 1 on any verdict
mismatch between socle and kubeconform.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)


if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
from benchload import load  # noqa: E402  (bench/ is no package)

generate = load("socle_bench_generate", os.path.join(HERE, "generate.py"))
_common = load("socle_bench_common", os.path.join(BENCH, "common.py"))
Summary = _common.Summary
fmt_bytes, interleaved, markdown_table = _common.fmt_bytes, _common.interleaved, \
    _common.markdown_table
measure, summarize = _common.measure, _common.summarize

K8S_VERSION = "1.37.0"
STANDALONE = "{{ .NormalizedKubernetesVersion }}-standalone{{ .StrictSuffix }}/" \
             "{{ .ResourceKind }}{{ .KindSuffix }}.json"
CATALOG = "{{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json"
KV_LIMIT = 180.0  # seconds: above this (estimated), kubernetes-validate runs on a subset only

STATUS = {"statusValid": "valid", "statusInvalid": "invalid", "statusError": "error",
          "statusSkipped": "skipped", "statusEmpty": "empty"}


# --- finding the tools -----------------------------------------------------------------------


def find_kubeconform(explicit: str | None = None) -> str | None:
    """$KUBECONFORM, then PATH, then where CI and ``go install`` put it."""
    result: str | None = _common.find_tool("kubeconform", "KUBECONFORM", explicit)
    return result


def socle_command() -> list[str]:
    """The ``socle`` console script next to this interpreter, else ``python -m``."""
    script = os.path.join(os.path.dirname(sys.executable), "socle")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "socle.cli.main"]


def kubeconform_version(kc: str) -> str:
    """The module version recorded in the binary (``go install`` builds say "development" to
    ``-v``)."""
    go = shutil.which("go")
    if go:
        try:
            out = subprocess.run([go, "version", "-m", kc], capture_output=True, text=True,
                                 timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "mod" and parts[1].endswith("/kubeconform"):
                return parts[2]
    return tool_version([kc, "-v"])


def tool_version(cmd: Sequence[str]) -> str:
    try:
        out = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) \
        else "?"


# --- schemas for kubeconform -----------------------------------------------------------------


def export_schemas(socle: list[str], target: str, version: str = K8S_VERSION) -> str:
    """``socle schemas export --strict --dir target``: socle's bundled schemas, standalone, in
    kubeconform's layout. Returns the folder to use with the STANDALONE template."""
    os.makedirs(target, exist_ok=True)
    subprocess.run([*socle, "schemas", "export", "--kubernetes-version", version, "--strict",
                    "--dir", target], check=True, stdout=subprocess.DEVNULL)
    return target


def build_catalog(corpus_dir: str, target: str) -> list[str]:
    """The corpus's CRDs as a CRD-catalog folder: ``{group}/{kind}_{version}.json``."""
    import yaml

    from socle.schema.crd import catalog_name, is_crd, schemas_from_crd

    if os.path.isdir(target):
        shutil.rmtree(target)
    written = []
    for folder, _dirs, names in sorted(os.walk(corpus_dir)):
        for name in sorted(names):
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                data = fh.read()
            if b"CustomResourceDefinition" not in data:
                continue
            for obj in yaml.load_all(data, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
                items = obj.get("items", []) if isinstance(obj, dict) and obj.get(
                    "kind") == "List" else [obj]
                for item in items:
                    if not is_crd(item):
                        continue
                    for (group, kind, version), schema in schemas_from_crd(item).items():
                        out = os.path.join(target, catalog_name(group, kind, version))
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        with open(out, "w", encoding="utf-8") as fh:
                            json.dump(schema, fh)
                        written.append(out)
    return written


# --- commands --------------------------------------------------------------------------------


def socle_validate(socle: list[str], corpus: str, extra: Sequence[str] = ()) -> list[str]:
    return [*socle, "validate", "-strict", "-summary", "-kubernetes-version", K8S_VERSION,
            *extra, corpus]


def kubeconform_validate(kc: str, corpus: str, schemas: str, catalog: str, workers: int = 2,
                         extra: Sequence[str] = ()) -> list[str]:
    return [kc, "-strict", "-summary", "-n", str(workers), "-kubernetes-version", K8S_VERSION,
            "-schema-location", os.path.join(schemas, STANDALONE),
            "-schema-location", os.path.join(catalog, CATALOG), *extra, corpus]


def shell_quote(cmd: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(c) for c in cmd)


# --- verdicts --------------------------------------------------------------------------------

Key = tuple[str, str, str, str]  # file (relative to the corpus), apiVersion, kind, name


def _rel(path: str, corpus: str) -> str:
    return os.path.relpath(os.path.normpath(path), os.path.normpath(corpus))


def socle_verdicts(report: dict[str, Any], corpus: str) -> list[tuple[Key, str]]:
    out = []
    for d in report.get("documents", []):
        r = d.get("resource", {})
        key = (_rel(d["file"], corpus), r.get("apiVersion", ""), r.get("kind", ""),
               r.get("name", ""))
        out.append((key, d["status"]))
    return out


def kubeconform_verdicts(report: dict[str, Any], corpus: str) -> list[tuple[Key, str]]:
    out = []
    for r in report.get("resources", []):
        key = (_rel(r["filename"], corpus), r.get("version", ""), r.get("kind", ""),
               r.get("name", ""))
        out.append((key, STATUS.get(r["status"], r["status"])))
    return out


def compare(a: list[tuple[Key, str]], b: list[tuple[Key, str]]) -> list[str]:
    """Differences between two verdict lists. Documents are matched by file and identity;
    documents one tool could not identify (a parse error) are matched by file and status."""
    left: dict[Key, list[str]] = {}
    for k, s in a:
        left.setdefault(k, []).append(s)
    right: dict[Key, list[str]] = {}
    for k, s in b:
        right.setdefault(k, []).append(s)
    problems = []
    rest_a: Counter[tuple[str, str]] = Counter()
    rest_b: Counter[tuple[str, str]] = Counter()
    for k in sorted(set(left) | set(right)):
        la, lb = sorted(left.get(k, [])), sorted(right.get(k, []))
        if la and lb and len(la) == len(lb):
            for sa, sb in zip(la, lb, strict=True):
                if sa != sb:
                    problems.append(f"{k[0]}: {k[2]} {k[3]}: {sa} vs {sb}")
            continue
        rest_a.update((k[0], s) for s in la)
        rest_b.update((k[0], s) for s in lb)
    for (file, status), n in sorted((rest_a - rest_b).items()):
        problems.append(f"{file}: {n} document(s) {status} only in the first")
    for (file, status), n in sorted((rest_b - rest_a).items()):
        problems.append(f"{file}: {n} document(s) {status} only in the second")
    return problems


def passed(verdicts: list[tuple[Key, str]]) -> list[tuple[Key, str]]:
    """The verdict that decides a CI job: ``valid``, ``skipped`` or ``invalid``. A document
    that cannot be used fails either way; kubeconform calls a duplicate key a parse error
    (``statusError``), socle an invalid document (exit 1, as kubeconform's)."""
    return [(k, "invalid" if v == "error" else v) for k, v in verdicts]


def manifest_verdicts(manifest: dict[str, Any]) -> list[tuple[Key, str]]:
    return [((r["file"], r["apiVersion"], r["kind"], r["name"]), r["expected"])
            for r in manifest["resources"]]


def _run_json(cmd: list[str]) -> dict[str, Any]:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"exit {proc.returncode}: {shell_quote(cmd)}\n{proc.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def check_verdicts(socle: list[str], kc: str, corpus: str, schemas: str, catalog: str,
                   manifest: dict[str, Any] | None, workers: int,
                   socle_extra: Sequence[str] = ()) -> dict[str, Any]:
    s_cmd = socle_validate(socle, corpus, [*socle_extra, "-o", "json", "--verbose"])
    k_cmd = kubeconform_validate(kc, corpus, schemas, catalog, workers,
                                 ["-output", "json", "-verbose"])
    s = socle_verdicts(_run_json(s_cmd), corpus)
    k = kubeconform_verdicts(_run_json(k_cmd), corpus)
    result: dict[str, Any] = {
        "documents": {"socle": len(s), "kubeconform": len(k)},
        "socle": dict(Counter(v for _, v in s)),
        "kubeconform": dict(Counter(v for _, v in k)),
        "socle_vs_kubeconform": compare(passed(s), passed(k)),
        "categories_differ": compare(s, k),  # error vs invalid: informational
    }
    if manifest is not None:
        m = manifest_verdicts(manifest)
        result["socle_vs_expected"] = compare(passed(s), m)
        result["kubeconform_vs_expected"] = compare(passed(k), m)
    return result


# --- kubernetes-validate ---------------------------------------------------------------------


def kubernetes_validate(files: list[str], mode: str, subset: int) -> dict[str, Any] | None:
    exe = os.path.join(os.path.dirname(sys.executable), "kubernetes-validate")
    if mode == "skip" or not os.access(exe, os.X_OK):
        return None
    base = [exe, "-k", K8S_VERSION, "--strict", "--quiet"]

    def timed(chosen: list[str]) -> Any:
        return measure([*base, *chosen], interval=0.2, timeout=3600)

    if mode == "full":
        m = timed(files)
        return {"files": len(files), "measured_files": len(files), "wall": m.wall, "cpu": m.cpu,
                "max_rss": m.max_rss, "tree_peak": m.tree_peak, "extrapolated": False}
    part = files[:subset] if subset < len(files) else files
    m = timed(part)
    scale = len(files) / len(part)
    if mode == "auto" and m.wall * scale <= KV_LIMIT and len(part) < len(files):
        return kubernetes_validate(files, "full", subset)
    return {"files": len(files), "measured_files": len(part), "wall": m.wall * scale,
            "cpu": m.cpu * scale, "max_rss": m.max_rss, "tree_peak": m.tree_peak,
            "extrapolated": len(part) < len(files), "subset_wall": m.wall}


# --- main ------------------------------------------------------------------------------------


def corpus_files(corpus: str) -> list[str]:
    out = []
    for folder, _dirs, names in os.walk(corpus):
        out.extend(os.path.join(folder, n) for n in names if n.endswith((".yaml", ".yml",
                                                                          ".json")))
    return sorted(out)


def prepare_corpus(out: str, small: bool, regenerate: bool) -> tuple[str, dict[str, Any]]:
    n_docs, n_files = generate.SMALL if small else generate.FULL
    corpus = os.path.join(out, "corpus-small" if small else "corpus-full")
    manifest = generate.load_manifest(corpus)
    if (regenerate or manifest is None or manifest.get("seed") != generate.SEED
            or manifest.get("documents") != n_docs or manifest.get("files") != n_files
            or not os.path.isdir(corpus)):
        print(f"generating {corpus} ...", flush=True)
        manifest = generate.generate(corpus, n_docs, n_files)
    return corpus, manifest


def write_stream(files: list[str], target: str) -> str:
    """The corpus's YAML files as one stream, as ``helm template`` or a cluster dump writes
    it (JSON files left out)."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    with open(target, "w", encoding="utf-8") as out:
        for f in files:
            if f.endswith((".yaml", ".yml")):
                with open(f, encoding="utf-8") as fh:
                    text = fh.read()
                out.write(text if text.endswith("\n") else text + "\n")
                out.write("---\n")
    return target


def rate(docs: int, seconds: float) -> str:
    return f"{docs / seconds:,.0f}" if seconds > 0 else "-"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="socle validate vs kubeconform")
    p.add_argument("--small", action="store_true", help="300 documents in 30 files")
    p.add_argument("--runs", type=int, default=5, help="timed runs of each tool (default 5)")
    p.add_argument("--out", default=os.path.join(BENCH, "out", "validate"))
    p.add_argument("--regenerate", action="store_true", help="write the corpus again")
    p.add_argument("--kubeconform", default=None, help="kubeconform binary")
    p.add_argument("-n", "--kubeconform-workers", type=int, action="append", default=None,
                   help="kubeconform -n, repeatable (default: 2, one per core; 4, its own "
                        "default; and 8); socle's ratio is against the fastest of them")
    p.add_argument("--kubernetes-validate", "--kv", dest="kv", default="auto",
                   choices=("auto", "full", "subset", "skip"),
                   help="auto: the full corpus if a 100-file subset says it takes <= 3 min, "
                        "else the subset, extrapolated")
    p.add_argument("--kv-subset", type=int, default=100, help="files in the subset")
    p.add_argument("--startup-runs", type=int, default=10)
    p.add_argument("--socle-arg", action="append", default=[],
                   help="extra argument for socle validate (repeatable)")
    p.add_argument("--sample-ms", type=float, default=50.0,
                   help="memory sampling interval of the separate memory run (timed runs are "
                   "not sampled); 0 turns it off")
    p.add_argument("--no-verdicts", action="store_true", help="skip the verdict check")
    p.add_argument("--stream", action="store_true",
                   help="the corpus's YAML files written as one stream (one large file)")
    args = p.parse_args(argv)

    kc = find_kubeconform(args.kubeconform)
    if kc is None:
        print("kubeconform not found: set $KUBECONFORM or run "
              "`go install github.com/yannh/kubeconform/cmd/kubeconform@v0.7.0`",
              file=sys.stderr)
        return 2
    socle = socle_command()
    os.makedirs(args.out, exist_ok=True)
    corpus, manifest = prepare_corpus(args.out, args.small, args.regenerate)
    schemas = export_schemas(socle, os.path.join(args.out, "schemas"))
    catalog = os.path.join(args.out, "catalog-small" if args.small else "catalog-full")
    build_catalog(corpus, catalog)
    files = corpus_files(corpus)
    docs = int(manifest["documents"])
    expected: dict[str, Any] | None = manifest
    if args.stream:
        corpus = write_stream(files, os.path.join(
            args.out, "stream-small" if args.small else "stream-full", "all.yaml"))
        files = [corpus]
        docs = sum(1 for r in manifest["resources"] if r["file"].endswith((".yaml", ".yml")))
        expected = None  # (the generator's verdicts are per file of the corpus)
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    print(f"corpus: {docs:,} documents ({manifest['invalid']} invalid) in {len(files):,} files, "
          f"{mb:.1f} MB: {corpus}", flush=True)

    s_cmd = socle_validate(socle, corpus, args.socle_arg)
    k_workers = args.kubeconform_workers or [2, 4, 8]
    k_cmds = {n: kubeconform_validate(kc, corpus, schemas, catalog, n) for n in k_workers}

    verdicts: dict[str, Any] | None = None
    if not args.no_verdicts:  # also warms socle's schema cache and the page cache
        print("checking verdicts ...", flush=True)
        verdicts = check_verdicts(socle, kc, corpus, schemas, catalog, expected,
                                  k_workers[0], args.socle_arg)
    else:
        measure(s_cmd, interval=None)
        measure(k_cmds[k_workers[0]], interval=None)

    print(f"timing {args.runs} interleaved runs of each ...", flush=True)
    runs = interleaved({"socle": s_cmd, **{f"kubeconform -n {n}": c for n, c in k_cmds.items()}},
                       args.runs, interval=args.sample_ms / 1000 if args.sample_ms > 0 else None)
    s_sum = summarize(runs["socle"])
    k_sums = {n: summarize(runs[f"kubeconform -n {n}"]) for n in k_workers}
    # the reference is kubeconform at its fastest here (more workers than cores can pay: its
    # workers wait on file reads)
    k_best = min(k_workers, key=lambda n: k_sums[n].wall)
    k_sum, k_cmd = k_sums[k_best], k_cmds[k_best]

    kv = None
    if args.kv != "skip" and not args.stream:
        print("running kubernetes-validate once ...", flush=True)
        kv = kubernetes_validate(files, args.kv, args.kv_subset)

    startup = summarize([measure([*socle, "--version"], interval=None)
                         for _ in range(args.startup_runs)])
    kc_startup = summarize([measure([kc, "-v"], interval=None) for _ in range(args.startup_runs)])

    rows: list[list[object]] = []

    def row(name: str, s: Summary | None, wall: float, cpu: float, rss: int, tree: int,
            note: str = "") -> None:
        ratio = k_sum.wall / wall if wall else 0.0
        rows.append([name + note, f"{wall:.2f}", f"{cpu:.2f}", rate(docs, wall),
                     fmt_bytes(rss), fmt_bytes(tree), f"**{ratio:.2f}x**" if s is s_sum
                     else f"{ratio:.2f}x" if s is not k_sum else "1.00x"])

    version = kubeconform_version(kc)
    for n in k_workers:
        k = k_sums[n]
        row(f"kubeconform {version} `-n {n}`", k if n == k_best else None, k.wall, k.cpu,
            k.max_rss, k.tree_peak, " (the reference: fastest)" if len(k_workers) > 1
            and n == k_best else "")
    row(f"socle {tool_version([*socle, '--version']).split()[-1]} (all cores)", s_sum,
        s_sum.wall, s_sum.cpu, s_sum.max_rss, s_sum.tree_peak)
    if kv is not None:
        note = (f" (estimated from {kv['measured_files']} files: {kv['subset_wall']:.1f} s)"
                if kv["extrapolated"] else " (one run)")
        row("kubernetes-validate 1.37.0", None, kv["wall"], kv["cpu"], kv["max_rss"],
            kv["tree_peak"], note)
    table = markdown_table(
        ["tool", f"wall s (median of {args.runs})", "CPU s", "docs/s", "peak RSS, largest "
         "process", "peak memory, whole tree (PSS)",
         "speed vs kubeconform (the reference's time / tool's)"],
        rows)

    cpu_model = _cpu_model()
    where = (f"one {mb:.1f} MB stream (the corpus's YAML files in one file)" if args.stream
             else f"{len(files):,} files ({mb:.1f} MB)")
    lines = [
        f"### validate: {docs:,} documents in {where}, strict, Kubernetes {K8S_VERSION}",
        "",
        f"Machine: {os.cpu_count()} cores ({cpu_model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}.",
        "",
        table,
        "",
        f"Startup: `socle --version` {startup.wall * 1000:.0f} ms, `kubeconform -v` "
        f"{kc_startup.wall * 1000:.0f} ms (median of {args.startup_runs}).",
    ]
    if verdicts is not None:
        sk = verdicts["socle_vs_kubeconform"]
        against = (f"; against the generator's expected verdicts: socle "
                   f"{len(verdicts['socle_vs_expected'])}, kubeconform "
                   f"{len(verdicts['kubeconform_vs_expected'])} mismatches"
                   if "socle_vs_expected" in verdicts else "")
        lines += ["", f"Verdicts: socle {_counts(verdicts['socle'])}; kubeconform "
                      f"{_counts(verdicts['kubeconform'])}; **{len(sk)} mismatches** between "
                      f"them (valid / invalid, a parse error counting as invalid){against}."]
    lines += ["", "Commands (timed, output to /dev/null):", "", "```",
              shell_quote(s_cmd).replace(ROOT + os.sep, ""),
              *(shell_quote(c).replace(ROOT + os.sep, "") for c in k_cmds.values()), "```", "",
              "Reproduce: `.venv/bin/python bench/validate/run.py"
              + (" --small" if args.small else "") + (" --stream" if args.stream else "")
              + "`"]
    text = "\n".join(lines)
    print()
    print(text)
    if verdicts is not None:
        for title, key in (("socle vs kubeconform", "socle_vs_kubeconform"),
                           ("same verdict, different category (info)", "categories_differ"),
                           ("socle vs expected", "socle_vs_expected"),
                           ("kubeconform vs expected", "kubeconform_vs_expected")):
            problems = verdicts.get(key, [])
            if problems:
                print(f"\n{title}: {len(problems)} mismatches", file=sys.stderr)
                for line in problems[:30]:
                    print("  " + line, file=sys.stderr)
    results = {"documents": docs, "files": len(files), "megabytes": mb,
               "socle": s_sum.__dict__, "kubeconform": k_sum.__dict__,
               "kubeconform_by_workers": {str(n): k.__dict__ for n, k in k_sums.items()},
               "kubernetes_validate": kv,
               "startup": {"socle": startup.wall, "kubeconform": kc_startup.wall},
               "verdicts": verdicts, "commands": {"socle": s_cmd, "kubeconform": k_cmd}}
    stem = ("results-small" if args.small else "results") + ("-stream" if args.stream else "")
    with open(os.path.join(args.out, stem + ".json"), "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2)
    with open(os.path.join(args.out, stem + ".md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    if verdicts is not None and verdicts["socle_vs_kubeconform"]:
        return 1
    return 0


def _counts(c: dict[str, int]) -> str:
    return ", ".join(f"{n:,} {k}" for k, n in sorted(c.items()))


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


if __name__ == "__main__":
    sys.exit(main())
