#!/usr/bin/env python3
"""Where ``socle validate``'s time goes on the benchmark corpus, stage by stage, and what the
5x target of issue #2 leaves for each.

    .venv/bin/python bench/validate/stages.py             # after bench/validate/run.py once
    .venv/bin/python bench/validate/stages.py --repeat 5 --runs 7

Each stage runs over the whole corpus in this one process with socle's own functions, real
time (no profiler, which inflates small Python functions), the fastest of ``--repeat`` rounds,
the collector off as in a run. The YAML stages are what ``socle.formats.yaml`` does for every
document that takes the fast path (all of the corpus's YAML documents): cutting the stream,
the gate, rapidyaml's parse and JSON emit, orjson, and the walk that checks the values against
go-yaml's typing and counts them. Then the commands: ``socle validate`` in one process and as
a user runs it, with and without socle's extra checks, and kubeconform (``-n 8``, its fastest
here) if it is built, ``--runs`` interleaved runs each, medians.

The last lines say how much time the target leaves: kubeconform's wall time / 5, on two
cores, against the stages that are native code (rapidyaml, orjson, jsonschema-rs) and the
interpreter's start. Nothing here goes over the network.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time
from collections.abc import Callable
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.dirname(HERE)
if BENCH not in sys.path:
    sys.path.insert(0, BENCH)
from benchload import load  # noqa: E402  (bench/ is no package)

run = load("socle_bench_validate_run", os.path.join(HERE, "run.py"))
_common = run._common

TARGET = 5.0


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` calls (seconds) and the last call's result."""
    fastest, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, result


def stages(corpus: str, repeat: int) -> tuple[list[tuple[str, float, bool]], int]:
    """(stage, seconds, native?) for the corpus, and its number of documents."""
    import orjson
    import ryml

    from socle.core.sources import Source
    from socle.formats import yaml as Y
    from socle.schema import checks
    from socle.schema.registry import RegistryOptions, SchemaRegistry
    from socle.schema.validator import (
        DocumentValidator,
        FileResult,
        ValidateOptions,
        _iter_file_documents,
    )

    files = run.corpus_files(corpus)
    yaml_files = [f for f in files if f.endswith((".yaml", ".yml"))]
    options = ValidateOptions(registry=RegistryOptions(
        kubernetes_version=run.K8S_VERSION, locations=["default"], strict=True))
    registry = SchemaRegistry(options.registry, {})
    validator = DocumentValidator(options, registry)
    out: list[tuple[str, float, bool]] = []

    def stage(name: str, fn: Callable[[], Any], native: bool = False) -> Any:
        seconds, result = best(fn, repeat)
        out.append((name, seconds, native))
        return result

    datas = stage("read the files", lambda: [Source(f).read() for f in files])
    by_file = dict(zip(files, datas, strict=True))
    texts = [Y.decode(by_file[f], f) for f in yaml_files]
    parts = stage("YAML: cut streams into documents (decode, split)",
                  lambda: [c for t in texts for _, c in Y.split_documents(t)])
    encoded = [p.encode("utf-8") for p in parts]
    stage("YAML: the gate (what rapidyaml may read otherwise)",
          lambda: [Y._gate(p, e) for p, e in zip(parts, encoded, strict=True)])
    trees = stage("YAML: rapidyaml parse", lambda: [ryml.parse_in_arena(e) for e in encoded],
                  native=True)
    roots = [t.first_child(t.root_id()) if t.is_stream(t.root_id()) else t.root_id()
             for t in trees]
    buf = bytearray(1 << 22)

    def emit() -> list[bytes]:
        jsons = []
        for tree, root in zip(trees, roots, strict=True):
            _failed, size = ryml.emit_json_to_substr(tree, root, buf)
            jsons.append(bytes(buf[:size]))
        return jsons

    jsons = stage("YAML: rapidyaml JSON emit", emit, native=True)
    values = stage("YAML: orjson loads", lambda: [orjson.loads(j) for j in jsons], native=True)
    stage("YAML: typing walk (go-yaml's scalars, value count)",
          lambda: [Y._typed_count(v) for v in values])
    docs = stage("all files to documents (the above, JSON files, Document objects)",
                 lambda: [d for f in files for d in _iter_file_documents(
                     Source(f), by_file[f], options, True)])
    resources = [(d, d.resource) for d in docs if d.error is None and isinstance(d.obj, dict)
                 and d.obj.get("kind") != "List"]
    schemas = [(d.obj, registry.validator(r.api_version, r.kind)) for d, r in resources]

    stage("schemas: jsonschema-rs is_valid",
          lambda: [v.is_valid(obj) for obj, v in schemas if v is not None], native=True)
    stage("extra checks (facts, per-document checks)",
          lambda: [(checks.facts(d), checks.check_document(d)) for d, _ in resources])

    def validate_all() -> FileResult:
        result = FileResult()
        for d in docs:
            validator.validate(d, result)
        return result

    stage("documents validated (the two above, verdicts, findings)", validate_all)
    return out, len(docs)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="socle validate's time, stage by stage")
    p.add_argument("--out", default=os.path.join(BENCH, "out", "validate"))
    p.add_argument("--repeat", type=int, default=3, help="rounds per stage (the fastest)")
    p.add_argument("--runs", type=int, default=5, help="timed runs of each command")
    p.add_argument("--kubeconform", default=None, help="kubeconform binary")
    args = p.parse_args(argv)

    corpus = os.path.join(args.out, "corpus-full")
    schemas = os.path.join(args.out, "schemas")
    catalog = os.path.join(args.out, "catalog-full")
    if not os.path.isdir(corpus):
        print(f"no corpus at {corpus}: run bench/validate/run.py first", file=sys.stderr)
        return 2
    gc.disable()  # (as in a run: see socle.core.collector)
    timed, n_docs = stages(corpus, args.repeat)
    gc.enable()

    socle = run.socle_command()
    base = run.socle_validate(socle, corpus)
    commands: dict[str, list[str]] = {
        "socle validate": base,
        "socle validate --no-extra-checks": [*base, "--no-extra-checks"],
        "socle validate -n 1": [*base, "-n", "1"],
    }
    kc = run.find_kubeconform(args.kubeconform)
    if kc and os.path.isdir(schemas) and os.path.isdir(catalog):
        commands["kubeconform -n 8"] = run.kubeconform_validate(kc, corpus, schemas, catalog, 8)
    for cmd in commands.values():  # (warm the page cache and socle's schema cache)
        _common.measure(cmd, interval=None)
    runs = _common.interleaved(commands, args.runs, interval=None, progress=False)
    sums = {name: _common.summarize(ms) for name, ms in runs.items()}
    start = _common.summarize([_common.measure([*socle, "--version"], interval=None)
                               for _ in range(args.runs)])

    one = sums["socle validate -n 1"].cpu
    rows = [[name, f"{s * 1000:.0f}", f"{s * 1e6 / n_docs:.1f}", f"{100 * s / one:.0f}%",
             "native" if native else "Python"] for name, s, native in timed]
    print(f"\n{n_docs:,} documents in {corpus}; stages: the fastest of {args.repeat} rounds "
          f"in one process; commands: medians of {args.runs} interleaved runs\n")
    print(_common.markdown_table(["stage", "ms", "µs per document", "of a -n 1 run's CPU",
                                  "code"], rows, "lrrrl"))
    print()
    print(_common.markdown_table(
        ["command", "wall s", "CPU s"],
        [[name, f"{s.wall:.3f}", f"{s.cpu:.3f}"] for name, s in sums.items()]
        + [["socle --version (the interpreter's start)", f"{start.wall:.3f}",
            f"{start.cpu:.3f}"]]))
    native = sum(s for _, s, n in timed if n)
    if "kubeconform -n 8" in sums:
        kwall = sums["kubeconform -n 8"].wall
        budget = kwall / TARGET
        print(f"\n{TARGET:g}x kubeconform's {kwall:.2f} s leaves {budget:.3f} s of wall time: "
              f"at most {2 * budget:.3f} CPU-s on two cores, of which the native stages take "
              f"{native:.3f} s and two interpreters' start {2 * start.cpu:.3f} s, leaving "
              f"{2 * budget - native - 2 * start.cpu:.3f} s for everything written in Python "
              f"(now {one - native - start.cpu:.3f} s in one process).")
        print(f"socle validate: {kwall / sums['socle validate'].wall:.2f}x; "
              f"--no-extra-checks {kwall / sums['socle validate --no-extra-checks'].wall:.2f}x")
    else:
        print(f"\nnative stages {native:.3f} s; kubeconform not measured (build it and run "
              "bench/validate/run.py once for its schemas)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
