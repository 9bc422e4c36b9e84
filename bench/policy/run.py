#!/usr/bin/env python3
"""The policy benchmark: ``socle test`` against ``conftest test``, same policies, same corpus.

    .venv/bin/python bench/policy/run.py            # 10,000 documents in 1,000 files
    .venv/bin/python bench/policy/run.py --small    # 300 documents in 30 files (smoke test)

Steps: generate (or reuse) the corpus under bench/out/policy/ (bench/policy/generate.py: the
validate benchmark's documents with policy problems planted), run both tools once with
``-o json`` and compare their findings as multisets of (file, namespace, kind, message),
kind being fail, warn or exception, then time ``socle test`` (with each engine) and
``conftest test`` interleaved, and print a Markdown table for docs/benchmarks.md, speed
ratio last. Nothing touches the network. Exit 1 if the findings differ.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from socle.policy.engine import DEFAULT_ENGINE

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
ROOT = os.path.dirname(BENCH)
POLICY = os.path.join(HERE, "policy")


if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
from benchload import load  # noqa: E402  (bench/ is no package)

generate = load("socle_bench_policy_generate", os.path.join(HERE, "generate.py"))
_common = load("socle_bench_common", os.path.join(BENCH, "common.py"))
fmt_bytes, interleaved, markdown_table = _common.fmt_bytes, _common.interleaved, \
    _common.markdown_table
measure, summarize = _common.measure, _common.summarize

CONFTEST_VERSION = "v0.71.1"
Key = tuple[str, str, str, str]  # file, namespace, kind (fail | warn | exception), message


# --- the tools -------------------------------------------------------------------------------


def find_conftest(explicit: str | None = None) -> str | None:
    """$CONFTEST, then PATH, then where CI and ``go install`` put it."""
    result: str | None = _common.find_tool("conftest", "CONFTEST", explicit)
    return result


def socle_command() -> list[str]:
    """The ``socle`` console script next to this interpreter, else ``python -m``."""
    script = os.path.join(os.path.dirname(sys.executable), "socle")
    if os.access(script, os.X_OK):
        return [script]
    return [sys.executable, "-m", "socle.cli.main"]


def opa_available() -> bool:
    return importlib.util.find_spec("opa_bindings") is not None


def conftest_version(conftest: str) -> str:
    """The module version recorded in the binary, else the first line of ``--version``."""
    go = shutil.which("go")
    if go:
        try:
            out = subprocess.run([go, "version", "-m", conftest], capture_output=True,
                                 text=True, timeout=30).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[0] == "mod" and parts[1].endswith("/conftest"):
                return parts[2]
    try:
        out = subprocess.run([conftest, "--version"], capture_output=True, text=True,
                             timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return "?"
    m = re.search(r"Conftest:\s*(\S+)", out)
    return m.group(1) if m else (out.strip().splitlines() or ["?"])[0]


def socle_test(socle: Sequence[str], corpus: str, policy: str = POLICY,
               engine: str = DEFAULT_ENGINE, extra: Sequence[str] = ()) -> list[str]:
    return [*socle, "test", "--engine", engine, "-p", policy, *extra, corpus]


def conftest_test(conftest: str, corpus: str, policy: str = POLICY,
                  extra: Sequence[str] = ()) -> list[str]:
    return [conftest, "test", "-p", policy, *extra, corpus]


def shell_quote(cmd: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(c) for c in cmd)


# --- findings --------------------------------------------------------------------------------

_CONFTEST_EXCEPTION = re.compile(r'^data\.(.+)\.exception\[_\]\[_\] == "(.*)"$')
_SOCLE_EXCEPTION = re.compile(r"^(\S+) is excepted by data\.(.+)\.exception$")


def exception_name(rule: str) -> str:
    """The name an exception rule lists for ``rule`` (conftest's ``removeRulePrefix``)."""
    if rule in ("deny", "violation", "warn"):
        return ""
    for prefix in ("violation_", "deny_", "warn_"):
        if rule.startswith(prefix):
            return rule[len(prefix):]
    return rule


def conftest_results(results: Iterable[dict[str, Any]]) -> Counter[Key]:
    """(file, namespace, kind, message) from ``conftest test -o json``. An exception's message
    is conftest's query (``data.main.exception[_][_] == "name"``); it becomes
    ``main.exception: name``."""
    out: Counter[Key] = Counter()
    for r in results or ():  # (conftest writes null when no namespace was tested)
        file, ns = os.path.normpath(r["filename"]), r.get("namespace", "")
        for field, kind in (("failures", "fail"), ("warnings", "warn"),
                            ("exceptions", "exception")):
            for item in r.get(field) or []:
                msg = item.get("msg", "")
                if kind == "exception":
                    m = _CONFTEST_EXCEPTION.match(msg)
                    if m:
                        msg = f"{m.group(1)}.exception: {m.group(2)}"
                out[(file, ns, kind, msg)] += 1
    return out


def socle_results(report: dict[str, Any]) -> Counter[Key]:
    """The same keys from ``socle test -o json`` (socle's report schema): severity high is a
    failure, medium a warning, info an exception (``deny_x is excepted by
    data.main.exception`` becomes ``main.exception: x``). Input errors are kept as kind
    ``error``. The namespace is the rule id without its last part (``main.deny``)."""
    out: Counter[Key] = Counter()
    for f in report.get("findings", []):
        file = os.path.normpath(f.get("file", ""))
        ns = f.get("ruleId", "").rpartition(".")[0]
        if f.get("source") != "policy":
            out[(file, "", "error", f.get("message", ""))] += 1
            continue
        sev, msg = f.get("severity"), f.get("message", "")
        if sev == "info":
            m = _SOCLE_EXCEPTION.match(msg)
            if m:
                msg = f"{m.group(2)}.exception: {exception_name(m.group(1))}"
            out[(file, ns, "exception", msg)] += 1
        else:
            out[(file, ns, "fail" if sev == "high" else "warn", msg)] += 1
    return out


def compare(socle: Counter[Key], conftest: Counter[Key], limit: int = 30) -> list[str]:
    """One line per key whose count differs (at most ``limit`` lines, then a summary)."""
    lines = []
    for key in sorted(set(socle) | set(conftest)):
        a, b = socle.get(key, 0), conftest.get(key, 0)
        if a != b:
            lines.append(f"{key[0]}: {key[1]} {key[2]} {key[3]!r}: socle {a}, conftest {b}")
    if len(lines) > limit:
        lines = [*lines[:limit], f"... and {len(lines) - limit} more"]
    return lines


def mismatches(socle: Counter[Key], conftest: Counter[Key]) -> int:
    """How many findings one tool has and the other has not (the multisets' difference)."""
    return sum(((socle - conftest) + (conftest - socle)).values())


def run_json(cmd: Sequence[str], cwd: str | None = None) -> Any:
    """Runs a tool with ``-o json`` (exit 0 or 1) and parses its standard output."""
    proc = subprocess.run([*cmd, "-o", "json"], capture_output=True, text=True,
                          cwd=cwd, timeout=3600)
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{shell_quote(cmd)} exited {proc.returncode}: "
                           f"{proc.stderr.strip()[:500]}")
    return json.loads(proc.stdout)


def kinds(c: Counter[Key]) -> dict[str, int]:
    out: Counter[str] = Counter()
    for (_f, _ns, kind, _m), n in c.items():
        out[kind] += n
    return dict(sorted(out.items()))


def rule_names(policy: str) -> set[str]:
    """Names of the failure and warning rules defined in a policy folder (conftest's
    ``deny``/``violation``/``warn`` with optional ``_suffix``)."""
    names: set[str] = set()
    for folder, _dirs, files in os.walk(policy):
        for n in files:
            if n.endswith(".rego") and not n.endswith("_test.rego"):
                with open(os.path.join(folder, n), encoding="utf-8") as fh:
                    names.update(re.findall(r"^((?:deny|violation|warn)(?:_[A-Za-z0-9]+)*)\b",
                                            fh.read(), flags=re.M))
    return names


# --- main ------------------------------------------------------------------------------------


def rate(docs: int, seconds: float) -> str:
    return f"{docs / seconds:,.0f}" if seconds > 0 else "-"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _count_documents(corpus: str, socle: Sequence[str]) -> int:
    """Documents in a corpus without a manifest: what ``socle parse`` sees (a ``kind: List``
    counts its items)."""
    total = 0
    for folder, _dirs, names in os.walk(corpus):
        for n in names:
            if not n.endswith((".yaml", ".yml", ".json")):
                continue
            out = subprocess.run([*socle, "parse", os.path.join(folder, n)],
                                 capture_output=True, text=True)
            value = json.loads(out.stdout) if out.returncode == 0 else None
            items = value if isinstance(value, list) else [value]
            for v in items:
                total += len(v.get("items", [])) if isinstance(v, dict) \
                    and v.get("kind") == "List" else 1
    return total


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="socle test vs conftest test")
    p.add_argument("--small", action="store_true", help="300 documents in 30 files")
    p.add_argument("--runs", type=int, default=5,
                   help="timed runs of each tool (default 5; 0: only compare the findings)")
    p.add_argument("--out", default=os.path.join(BENCH, "out", "policy"))
    p.add_argument("--regenerate", action="store_true", help="write the corpus again")
    p.add_argument("--corpus", default=None,
                   help="test this folder instead (e.g. bench/out/validate/corpus-full)")
    p.add_argument("--policy", default=POLICY, help="policy folder (default bench/policy/policy)")
    p.add_argument("--conftest", default=None, help="conftest binary")
    p.add_argument("--engines", default="compiled,regorus,opa",
                   help="socle engines to time, comma-separated (default compiled,regorus,opa; "
                        "opa is left out when opa-golib-python-bindings is not installed)")
    p.add_argument("--socle-arg", action="append", default=[],
                   help="extra argument for socle test (repeatable)")
    p.add_argument("--sample-ms", type=float, default=50.0,
                   help="memory sampling interval of the separate memory run (timed runs are "
                   "not sampled); 0 turns it off")
    p.add_argument("--no-compare", action="store_true", help="skip the findings check")
    args = p.parse_args(argv)

    conftest = find_conftest(args.conftest)
    if conftest is None:
        print("conftest not found: set $CONFTEST or run `go install "
              f"github.com/open-policy-agent/conftest@{CONFTEST_VERSION}`", file=sys.stderr)
        return 2
    socle = socle_command()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "opa" in engines and not opa_available():
        print("note: opa-golib-python-bindings is not installed; not timing opa",
              file=sys.stderr)
        engines.remove("opa")
    os.makedirs(args.out, exist_ok=True)
    if args.corpus:
        corpus = os.path.normpath(args.corpus)
        manifest = generate.load_manifest(corpus) or {}
    else:
        corpus, manifest = generate.prepare(args.out, args.small, args.regenerate)
    files = sorted(os.path.join(d, n) for d, _s, ns in os.walk(corpus) for n in ns
                   if n.endswith((".yaml", ".yml", ".json")))
    docs = int(manifest.get("documents") or _count_documents(corpus, socle))
    mb = sum(os.path.getsize(f) for f in files) / 1e6
    rel_corpus = os.path.relpath(corpus, ROOT)
    rel_policy = os.path.relpath(os.path.abspath(args.policy), ROOT)
    print(f"corpus: {docs:,} documents in {len(files):,} files, {mb:.1f} MB: {rel_corpus}",
          flush=True)

    # relative paths from the repository root: both tools print file names as given
    commands = {f"socle ({e})": socle_test(socle, rel_corpus, rel_policy, e, args.socle_arg)
                for e in engines}
    commands["conftest"] = conftest_test(conftest, rel_corpus, rel_policy)

    findings: dict[str, Any] | None = None
    if not args.no_compare:  # also warms the page cache
        print("comparing findings ...", flush=True)
        c_res = conftest_results(run_json(commands["conftest"], cwd=ROOT))
        findings = {"conftest": kinds(c_res), "socle": {}, "mismatches": {}, "lines": {}}
        for e in engines:
            s_res = socle_results(run_json(commands[f"socle ({e})"], cwd=ROOT))
            findings["socle"][e] = kinds(s_res)
            findings["mismatches"][e] = mismatches(s_res, c_res)
            findings["lines"][e] = compare(s_res, c_res)
    else:
        for cmd in commands.values():
            measure(cmd, cwd=ROOT, interval=None)

    if args.runs < 1:  # only the findings check
        if findings is None:
            return 0
        for e, n in findings["mismatches"].items():
            print(f"socle --engine {e} vs conftest: {n} mismatches; conftest "
                  f"{findings['conftest']}, socle {findings['socle'][e]}")
            for line in findings["lines"][e]:
                print("  " + line)
        return 1 if any(findings["mismatches"].values()) else 0

    print(f"timing {args.runs} interleaved runs of each ...", flush=True)
    runs = interleaved(commands, args.runs, cwd=ROOT,
                       interval=args.sample_ms / 1000 if args.sample_ms > 0 else None)
    sums = {name: summarize(ms) for name, ms in runs.items()}
    base = sums["conftest"].wall

    rows: list[list[object]] = []
    socle_version = subprocess.run([*socle, "--version"], capture_output=True,
                                   text=True).stdout.split()[-1]
    for name, s in sums.items():
        ratio = base / s.wall if s.wall else 0.0
        label = (f"conftest {conftest_version(conftest)}" if name == "conftest"
                 else f"socle {socle_version} `--engine {name[7:-1]}`")
        rows.append([label, f"{s.wall:.2f}", f"{s.cpu:.2f}", rate(docs, s.wall),
                     fmt_bytes(s.max_rss), fmt_bytes(s.tree_peak),
                     "1.00x" if name == "conftest" else
                     (f"**{ratio:.2f}x**" if name == f"socle ({DEFAULT_ENGINE})"
                      else f"{ratio:.2f}x")])
    rows.sort(key=lambda r: 0 if str(r[0]).startswith("conftest") else 1)
    table = markdown_table(
        ["tool", f"wall s (median of {args.runs})", "CPU s", "docs/s",
         "peak RSS, largest process", "peak memory, whole tree (PSS)",
         "speed vs conftest (its time / tool's)"], rows)

    n_rules = len(rule_names(args.policy))
    lines = [
        f"### test: {docs:,} documents in {len(files):,} files ({mb:.1f} MB), "
        f"{n_rules} deny/warn rules and an exception rule (`{rel_policy}`), conftest's "
        "default `-o stdout` (socle: text)",
        "",
        f"Machine: {os.cpu_count()} cores ({_cpu_model()}), Linux {platform.release()}, "
        f"Python {platform.python_version()}; {time.strftime('%Y-%m-%d')}.",
        "",
        table,
    ]
    if findings is not None:
        per = "; ".join(f"`--engine {e}` **{n} mismatches**"
                        for e, n in findings["mismatches"].items())
        c = findings["conftest"]
        lines += ["", f"Findings: conftest {c.get('fail', 0):,} failures, "
                      f"{c.get('warn', 0):,} warnings, {c.get('exception', 0):,} exceptions; "
                      "socle against conftest, as multisets of (file, namespace, kind, "
                      f"message): {per}."]
    lines += ["", "Commands (timed from the repository root, output to /dev/null):", "",
              "```", *(shell_quote([os.path.basename(cmd[0]) if cmd[0] == conftest else cmd[0],
                                    *cmd[1:]]).replace(ROOT + os.sep, "")
                       for cmd in commands.values()),
              "```", "", "Reproduce: `.venv/bin/python bench/policy/run.py"
              + (" --small" if args.small else "") + "`"]
    text = "\n".join(lines)
    print()
    print(text)
    if findings is not None:
        for e, problems in findings["lines"].items():
            if problems:
                print(f"\nsocle --engine {e} vs conftest: {findings['mismatches'][e]} "
                      "mismatches", file=sys.stderr)
                for line in problems:
                    print("  " + line, file=sys.stderr)
    results = {"documents": docs, "files": len(files), "megabytes": mb,
               "tools": {k: v.__dict__ for k, v in sums.items()},
               "findings": findings, "commands": commands}
    stem = "results-small" if args.small else "results"
    with open(os.path.join(args.out, stem + ".json"), "w", encoding="utf-8") as fh:
        json.dump(results, fh, indent=2)
    with open(os.path.join(args.out, stem + ".md"), "w", encoding="utf-8") as fh:
        fh.write(text + "\n")
    if findings is not None and any(findings["mismatches"].values()):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
