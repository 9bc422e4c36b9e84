"""``socle test --strict``: OPA's strict-mode compile checks, on fixtures in conftest's layout
(tests/compat/conftest_strict/<case>/policy). The expected lines are what conftest v0.71.1
``test --strict`` prints for the same folders (tests/compat/test_conftest_strict.py re-checks
them against the binary when it is installed)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from socle.policy.conftest import TestOptions, run
from socle.policy.engine import PolicyError, available
from socle.policy.strict import StrictError, check_module

ROOT = Path(__file__).resolve().parents[2]
STRICT = ROOT / "tests" / "compat" / "conftest_strict"
UNUSED_ARG = "unused argument {}. (hint: use _ (wildcard variable) instead)"
DEPRECATED = "rego_type_error: deprecated built-in function calls in expression: {}"

EXPECTED: dict[str, list[str]] = {
    "imports_and_locals": [
        "policy/p.rego:6: rego_compile_error: import data.lib.other as o unused",
        "policy/p.rego:7: rego_compile_error: import input.spec unused",
        "policy/p.rego:24: rego_compile_error: assigned var b unused",
        "policy/p.rego:31: rego_compile_error: assigned var x unused",
    ],
    "functions": [
        "policy/p.rego:3: rego_compile_error: " + UNUSED_ARG.format("x"),
        "policy/p.rego:5: rego_compile_error: " + UNUSED_ARG.format("x"),
        "policy/p.rego:7: rego_compile_error: assigned var z unused",
        "policy/p.rego:9: rego_compile_error: " + UNUSED_ARG.format("b"),
        "policy/p.rego:12: " + DEPRECATED.format("re_match"),
        "policy/p.rego:13: " + DEPRECATED.format("net.cidr_overlap"),
        "policy/p.rego:14: " + DEPRECATED.format("cast_array"),
        "policy/p.rego:15: " + DEPRECATED.format("set_diff"),
        "policy/p.rego:16: " + DEPRECATED.format("all"),
        "policy/p.rego:23: rego_compile_error: assigned var w unused",
    ],
    "assignments": [
        "policy/p.rego:6: rego_compile_error: assigned var unused unused",
        "policy/p.rego:22: rego_compile_error: assigned var c unused",
    ],
    "clean": [],
}

ENGINES = ["regorus"] + (["opa"] if available("opa") else [])


@pytest.fixture
def at() -> Iterator[object]:
    old = os.getcwd()

    def go(case: str) -> None:
        os.chdir(STRICT / case)

    yield go
    os.chdir(old)


def _strict_lines(engine: str) -> list[str]:
    try:
        run(["in.yaml"], TestOptions(strict=True, engine=engine))
    except StrictError as err:
        return [str(p) for p in err.problems]
    return []


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_strict_problems_match_opa(at, case: str, engine: str) -> None:  # type: ignore[no-untyped-def]
    at(case)
    assert _strict_lines(engine) == EXPECTED[case]


@pytest.mark.skipif("opa" not in ENGINES, reason="opa-golib-python-bindings not installed")
def test_engines_flag_the_same_files_and_lines(at) -> None:  # type: ignore[no-untyped-def]
    """Differential: for every case, the regorus and OPA runs report the same problems."""
    for case in sorted(EXPECTED):
        at(case)
        assert _strict_lines("regorus") == _strict_lines("opa"), case


def test_without_strict_the_same_policies_run(at) -> None:  # type: ignore[no-untyped-def]
    at("assignments")
    report = run(["in.yaml"], TestOptions())
    assert report.errors == 0


def test_v0_policies_are_checked_as_written(tmp_path: Path) -> None:
    src = ("package main\n\nimport data.unused\n\ndeny[msg] {\n\tany([true])\n"
           "\tx := 1\n\tmsg := \"m\"\n}\n")
    lines = [str(p) for p in check_module("p.rego", src, "v0")]
    assert lines == [
        "p.rego:3: rego_compile_error: import data.unused unused",
        "p.rego:6: " + DEPRECATED.format("any"),
        "p.rego:7: rego_compile_error: assigned var x unused",
    ]


def test_unused_every_and_some_variables() -> None:
    """OPA reports these in every mode; regorus does not, so --strict does for it."""
    src = ("package main\n\np if {\n\tevery k, v in input.xs { v == 1 }\n}\n\n"
           "q if {\n\tsome i\n\tinput.a == 1\n}\n")
    assert [str(p) for p in check_module("p.rego", src)] == [
        "p.rego:4: rego_compile_error: declared var k unused",
        "p.rego:8: rego_compile_error: declared var i unused",
    ]


def test_args_named_input_or_data() -> None:
    src = "package main\n\nf(input) := 1\n\ng(x, data) := x\n"
    assert [str(p) for p in check_module("p.rego", src)] == [
        "p.rego:3: rego_compile_error: args must not shadow input (use a different variable "
        "name)",
        "p.rego:5: rego_compile_error: args must not shadow data (use a different variable "
        "name)",
    ]


def test_rules_named_input_are_rejected_in_every_mode(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text("package main\n\ninput := 1\n")
    (tmp_path / "in.yaml").write_text("a: 1\n")
    with pytest.raises(PolicyError) as err:
        run([str(tmp_path / "in.yaml")], TestOptions(policies=[str(tmp_path)]))
    assert err.value.line == 3


def test_uses_in_nested_scopes_count() -> None:
    src = ("package main\n\nimport data.lib\n\np contains v if {\n\tx := input.a\n"
           "\tv := [y | some y in x]\n\tevery k, w in input.m { k == w }\n"
           "\tlib.f(1)\n}\n\nq[k] := 1 if { k := \"a\" }\n\nr(a) := a\n")
    assert check_module("p.rego", src) == []


def test_cli_prints_one_line_per_problem_and_exits_2() -> None:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-m", "socle.cli.main", "test", "--strict", "in.yaml"],
                          cwd=STRICT / "assignments", capture_output=True, text=True,
                          env=env, timeout=60)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines[1:] == EXPECTED["assignments"]
    assert "Traceback" not in done.stderr
    ok = subprocess.run([sys.executable, "-m", "socle.cli.main", "test", "--strict", "in.yaml"],
                        cwd=STRICT / "clean", capture_output=True, text=True, env=env,
                        timeout=60)
    assert ok.returncode == 0, ok.stderr
