"""Differential: every policy folder of the repository's fixtures through regorus and OPA.

For each ``policy/`` folder under ``tests/`` (conftest layout), every failure, warning and
exception rule of every package is evaluated on every input file next to it, and every
``test_*`` rule is run; both engines must give identical values. Skipped without OPA.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from socle.policy.conftest import (
    FAILURE,
    WARNING,
    input_files,
    load_data,
    load_policies,
    parse_file,
    register_builtins,
    targets,
)
from socle.policy.engine import Engine, PolicyError, available, create_engine
from socle.policy.v0 import package_of, rule_names

pytestmark = pytest.mark.skipif(not available("opa"), reason="opa-golib not installed")

TESTS = Path(__file__).resolve().parents[1]


def _policy_dirs() -> list[Path]:
    found = []
    for root, dirs, files in os.walk(TESTS):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        p = Path(root)
        if p.name == "policy" and any(f.endswith(".rego") for f in files) \
                and p.parent.name != "semantics":
            found.append(p)
    # (compat/conftest/semantics is where regorus and the strict OPA bridge differ from
    # conftest on purpose: failing builtins, missing values under `not`; compared with
    # conftest in tests/compat/test_conftest_differential.py)
    return found


def _build(name: str, policy: Path, version: str) -> Engine:
    e = create_engine(name, version)
    register_builtins(e)
    load_policies(e, [str(policy)])
    data = policy.parent / "data"
    if data.is_dir():
        e.add_data(load_data([str(data)]))
    e.prepare()
    return e


def _engines(policy: Path) -> tuple[Engine, Engine, str]:
    for version in ("v1", "v0"):
        try:
            reg = _build("regorus", policy, version)
            # regorus resolves lazily: make sure every rule at least evaluates
            for src in reg.modules().values():
                for rule, _ in rule_names(src):
                    if rule.startswith("test_"):
                        reg.eval_rule(f"{package_of(src)}.{rule}", None)
            return reg, _build("opa", policy, version), version
        except PolicyError:
            continue
    pytest.fail(f"{policy}: compiles neither as v1 nor as v0")


def _rules(engine: Engine) -> tuple[list[str], list[str]]:
    checks: list[str] = []
    tests: list[str] = []
    for src in engine.modules().values():
        pkg = package_of(src)
        for rule, _ in rule_names(src):
            path = f"{pkg}.{rule}"
            if (FAILURE.match(rule) or WARNING.match(rule) or rule == "exception") \
                    and path not in checks:
                checks.append(path)
            elif rule.startswith("test_") and path not in tests:
                tests.append(path)
    return checks, tests


def _normal(value: Any) -> Any:
    if isinstance(value, list):
        return sorted((_normal(v) for v in value), key=repr)
    if isinstance(value, dict):
        return {k: _normal(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("policy", _policy_dirs(), ids=lambda p: str(p.relative_to(TESTS)))
def test_engines_agree(policy: Path) -> None:
    reg, opa, _version = _engines(policy)
    checks, tests = _rules(reg)
    assert checks or tests, f"{policy}: nothing to compare"
    cwd = os.getcwd()
    os.chdir(policy.parent)
    try:
        compared = 0
        for f in input_files(["."]):
            if f.startswith(("./policy", "./data")):
                continue
            docs = parse_file(f)
            for t in targets(f, docs):
                a = {k: _normal(v) for k, v in reg.eval_rules(checks, t.obj).items()}
                b = {k: _normal(v) for k, v in opa.eval_rules(checks, t.obj).items()}
                assert a == b, f"{f} document {t.index}"
                compared += 1
        for test in tests:
            assert reg.eval_rule(test, None) == opa.eval_rule(test, None), test
            compared += 1
    finally:
        os.chdir(cwd)
    assert compared > 0
