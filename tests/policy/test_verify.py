"""Rego unit tests (conftest verify) on the fixtures, for each engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.finding import Status
from socle.policy.engine import available
from socle.policy.verify import VerifyOptions, discover_tests, to_report, verify

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "conftest"
ENGINES = ["regorus", pytest.param("opa", marks=pytest.mark.skipif(
    not available("opa"), reason="opa-golib not installed"))]


@pytest.mark.parametrize("engine", ENGINES)
def test_fixture_tests_pass(engine: str) -> None:
    result = verify(VerifyOptions(policies=[str(FIXTURES / "kubernetes" / "policy")],
                                  engine=engine))
    assert result.counts() == (4, 4, 0, 0)
    assert all(r.duration >= 0 for r in result.results)
    v0 = verify(VerifyOptions(policies=[str(FIXTURES / "v0" / "policy")], engine=engine,
                              rego_version="v0"))
    assert v0.counts() == (3, 3, 0, 0)


@pytest.mark.parametrize("engine", ENGINES)
def test_failures_errors_todo_and_run_filter(tmp_path: Path, engine: str) -> None:
    (tmp_path / "p_test.rego").write_text(
        "package main\n\ndeny contains \"x\" if input.bad\n\n"
        "test_ok if deny[\"x\"] with input as {\"bad\": true}\n\n"
        "test_fails if count(deny) == 2 with input as {\"bad\": true}\n\n"
        "test_errors if to_number(\"abc\") == 1\n\n"
        "todo_later if false\n")
    result = verify(VerifyOptions(policies=[str(tmp_path)], engine=engine))
    by_name = {r.case.name: r for r in result.results}
    assert by_name["test_ok"].passed
    assert not by_name["test_fails"].passed
    assert not by_name["test_errors"].passed
    assert by_name["todo_later"].skipped
    report = to_report(result)
    failed = sorted(f.rule_id for f in report.findings)
    assert "main.test_fails" in failed
    f = next(f for f in report.findings if f.rule_id == "main.test_fails")
    assert f.line == 7 and f.file.endswith("p_test.rego")
    assert [d.status for d in report.documents].count(Status.SKIPPED) == 1
    only = verify(VerifyOptions(policies=[str(tmp_path)], engine=engine, run="test_ok$"))
    assert [r.case.name for r in only.results] == ["test_ok"]


@pytest.mark.parametrize("engine", ENGINES)
def test_coverage(engine: str) -> None:
    result = verify(VerifyOptions(policies=[str(FIXTURES / "kubernetes" / "policy")],
                                  engine=engine, coverage=True))
    pct = result.coverage_percent()
    deny = next(v for k, v in pct.items() if k.endswith("deny.rego"))
    assert 0 < deny <= 100


def test_discovery_keeps_one_entry_per_test() -> None:
    cases = discover_tests({"a.rego": "package x\ntest_a if true\ntest_a if false\n"})
    assert [(c.path, c.line) for c in cases] == [("data.x.test_a", 2)]
