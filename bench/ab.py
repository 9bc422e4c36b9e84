#!/usr/bin/env python3
"""Interleaved A/B of two socle source trees on one command: is a change faster or slower?

    git worktree add /tmp/before HEAD~1
    .venv/bin/python bench/ab.py /tmp/before/src src 12 -- validate -strict -n 1 CORPUS

Runs ``python -m socle.cli.main ARGS`` with PYTHONPATH set to each tree, alternating which goes
first, N pairs, output to /dev/null; prints each side's median and spread, the ratio last.
Compile both trees first (``python -m compileall -q TREE``) when the interpreter writes no
bytecode, or the first runs pay for it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time


def run(tree: str, args: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=os.path.abspath(tree))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "socle.cli.main", *args], env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--" not in argv:
        print("usage: ab.py TREE_A TREE_B PAIRS -- socle arguments", file=sys.stderr)
        return 2
    cut = argv.index("--")
    p = argparse.ArgumentParser(description="interleaved A/B of two socle trees")
    p.add_argument("a", help="the first source tree (the folder holding socle/)")
    p.add_argument("b", help="the second source tree")
    p.add_argument("pairs", type=int, help="how many runs of each")
    opts = p.parse_args(argv[:cut])
    args = argv[cut + 1:]
    times: dict[str, list[float]] = {opts.a: [], opts.b: []}
    for i in range(opts.pairs):
        for tree in (opts.a, opts.b) if i % 2 == 0 else (opts.b, opts.a):
            times[tree].append(run(tree, args))
    for tree, ts in times.items():
        print(f"{tree}: median {statistics.median(ts):.3f} s, min {min(ts):.3f} s, "
              f"max {max(ts):.3f} s over {len(ts)} runs")
    ratio = statistics.median(times[opts.b]) / statistics.median(times[opts.a])
    print(f"B / A: {ratio:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
