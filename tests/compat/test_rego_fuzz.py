"""Random Rego policies over random inputs: `socle test` and `verify` agree with conftest v0.71.1.

Each seed writes a policy of random `deny` rules (builtins given input values of any type,
comparisons, negations, arithmetic, sprintf's verbs, comprehensions, `every`) and random JSON
inputs, then compares the two tools' failures file by file. The policies pass OPA's type
checker (builtins get input values, whose type it does not know), so what differs is how the
rules evaluate: failing builtins, missing values under `not`, formatting, ordering, numbers.
Written after such a fuzzer found a dozen differences (docs/test.md, "Evaluation as
conftest's"); the seeds are fixed, so a failure reproduces.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from rego_random import Policy
from socle_testing import conftest_peer

pytestmark = pytest.mark.conftest

_, CONFTEST, SOCLE = conftest_peer()


def _failures(tool: list[str], cwd: Path, files: list[str], flags: list[str]
              ) -> tuple[Counter[tuple[str, str]], int]:
    proc = subprocess.run([*tool, "test", *flags, "-p", "policy", *files, "-o", "json"], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    out: Counter[tuple[str, str]] = Counter()
    data = json.loads(proc.stdout)
    if isinstance(data, list):  # conftest
        for r in data:
            for f in r.get("failures") or []:
                out[(r["filename"], f["msg"])] += 1
    else:
        for f in data["findings"]:
            out[(f["file"], f["message"])] += 1
    return out, proc.returncode


@pytest.mark.parametrize(("seed", "version"), [(s, "v1") for s in range(11, 19)]
                         + [(s, "v0") for s in range(41, 45)])
def test_random_policies_report_what_conftest_reports(tmp_path: Path, seed: int,
                                                      version: str) -> None:
    # (with --rego-version v0, conftest's OPA does not move anything out of a negation)
    gen = Policy(seed)
    rules = "\n".join(gen.rule(i) for i in range(80))
    (tmp_path / "policy").mkdir()
    head = "package main\n" + ("import future.keywords\n" if version == "v0" else "")
    (tmp_path / "policy" / "fuzz.rego").write_text(f"{head}\n{rules}\n", encoding="utf-8")
    files = []
    for j in range(20):
        name = f"in{j:02d}.json"
        (tmp_path / name).write_text(json.dumps(gen.document()), encoding="utf-8")
        files.append(name)
    flags = ["--rego-version", version]
    theirs, their_code = _failures([str(CONFTEST)], tmp_path, files, flags)
    ours, our_code = _failures(SOCLE, tmp_path, files, flags)
    assert sum(theirs.values()) > 100  # (the comparison proves something)
    assert {"missing": sorted(theirs - ours)[:10], "extra": sorted(ours - theirs)[:10]} == {
        "missing": [], "extra": []}
    assert our_code == their_code


def _verify_failures(tool: list[str], cwd: Path) -> tuple[set[str], int]:
    """The failed tests (data.main.test_N) and the number of tests run."""
    proc = subprocess.run([*tool, "verify", "-p", "policy", "-o", "json"], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "NO_COLOR": "1"})
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    if tool == SOCLE:
        failed = {f["message"].split(" failed")[0] for f in report["findings"]}
        return failed, report["summary"]["valid"] + report["summary"]["invalid"]
    failed = set()
    total = 0
    for r in report:
        total += r.get("successes", 0)
        for f in r.get("failures") or []:
            failed.add(f["msg"])
            total += 1
    return failed, total


@pytest.mark.parametrize("seed", range(31, 35))
def test_random_unit_tests_pass_and_fail_as_in_conftest_verify(tmp_path: Path, seed: int
                                                               ) -> None:
    # rules as above, tested with `with input as` (which the compiled engine compiles too)
    gen = Policy(seed)
    rules = "\n".join(gen.rule(i) for i in range(40))
    tests = []
    for k in range(60):
        doc = json.dumps(gen.document())
        i = gen.r.randrange(40)
        tests.append(gen.r.choice([
            f'test_{k} if {{ deny["r{i}"] with input as {doc} }}',
            f'test_{k} if {{ not deny["r{i}"] with input as {doc} }}',
            f"test_{k} if {{ count(deny) > {gen.r.randint(0, 6)} with input as {doc} }}",
            f"test_{k} if {{ x := deny with input as {doc}; count(x) < {gen.r.randint(0, 6)} }}",
            f'test_{k} if {{ some m in deny with input as {doc}; startswith(m, "r{i}") }}']))
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "fuzz.rego").write_text(f"package main\n\n{rules}\n", encoding="utf-8")
    (tmp_path / "policy" / "fuzz_test.rego").write_text(
        "package main\n\n" + "\n".join(tests) + "\n", encoding="utf-8")
    theirs, total = _verify_failures([str(CONFTEST)], tmp_path)
    ours, _ = _verify_failures(SOCLE, tmp_path)
    assert total == 60 and 5 < len(theirs) < 55  # (both outcomes are compared)
    assert sorted(ours) == sorted(theirs)
