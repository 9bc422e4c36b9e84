"""Rego unit tests (``conftest verify``, ``opa test``): every ``test_*`` rule must be true.

Tests are found in every loaded module by name (``test_`` prefix; ``todo_`` tests are
skipped as OPA does). Each test is one evaluation of ``data.<package>.<test>``, timed; a test
whose value is undefined or false fails, one whose evaluation errors fails with the error.
``with input as`` / ``with data.x as`` are handled by the engine. Coverage (lines of each
policy file evaluated by the tests) is gathered when asked and the engine supports it.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from socle.core.finding import DocumentResult, Finding, Report, Resource, Severity, Status
from socle.policy.conftest import load_data, load_policies, register_builtins
from socle.policy.engine import DEFAULT_ENGINE, Engine, PolicyError, active_watchdog, create_engine
from socle.policy.v0 import package_of, rule_names


@dataclass
class VerifyOptions:
    policies: list[str] = field(default_factory=lambda: ["policy"])
    data: list[str] = field(default_factory=list)
    run: str | None = None
    # conftest verify's -n: packages whose tests run (Go path.Match wildcards); all if empty
    namespaces: list[str] = field(default_factory=list)
    rego_version: str = "v1"
    engine: str = DEFAULT_ENGINE
    coverage: bool = False
    trace: bool = False
    strict: bool = False
    show_builtin_errors: bool = False
    timeout: float | None = None


@dataclass
class TestCase:
    package: str
    name: str
    file: str
    line: int

    @property
    def path(self) -> str:
        return f"data.{self.package}.{self.name}"


@dataclass
class TestResult:
    case: TestCase
    passed: bool
    duration: float  # seconds
    error: str = ""
    skipped: bool = False


@dataclass
class VerifyResult:
    results: list[TestResult] = field(default_factory=list)
    coverage: dict[str, tuple[set[int], set[int]]] = field(default_factory=dict)

    def counts(self) -> tuple[int, int, int, int]:
        passed = sum(1 for r in self.results if r.passed)
        skipped = sum(1 for r in self.results if r.skipped)
        failed = len(self.results) - passed - skipped
        return len(self.results), passed, failed, skipped

    def coverage_percent(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for path, (covered, missed) in sorted(self.coverage.items()):
            total = len(covered | missed)
            out[path] = 100.0 * len(covered) / total if total else 100.0
        return out


def discover_tests(modules: dict[str, str], pattern: str | None = None) -> list[TestCase]:
    try:
        rx = re.compile(pattern) if pattern else None
    except re.error as err:
        raise PolicyError(f"invalid --run pattern {pattern!r}: {err}") from None
    out: list[TestCase] = []
    seen: set[tuple[str, str]] = set()
    for path, source in modules.items():
        pkg = package_of(source)
        for name, line in rule_names(source):
            if not (name.startswith("test_") or name.startswith("todo_")):
                continue
            if (pkg, name) in seen:
                continue  # several definitions of one test: one evaluation, as OPA reports
            seen.add((pkg, name))
            case = TestCase(pkg, name, path, line)
            if rx and not rx.search(case.path):
                continue
            out.append(case)
    return out


def build_engine(options: VerifyOptions) -> Engine:
    engine = create_engine(options.engine, options.rego_version, options.timeout,
                           strict_builtin_errors=options.show_builtin_errors)
    register_builtins(engine)
    files = load_policies(engine, options.policies)
    if not files:
        raise PolicyError("no policies found in " + ", ".join(options.policies))
    if options.data:
        engine.add_data(load_data(options.data))
    engine.prepare()
    return engine


def verify(options: VerifyOptions, engine: Engine | None = None) -> VerifyResult:
    engine = engine or build_engine(options)
    cases = discover_tests(engine.modules(), options.run)
    if options.namespaces:
        from socle.policy.conftest import select_namespaces

        chosen = set(select_namespaces(options.namespaces, {c.package for c in cases}))
        cases = [c for c in cases if c.package in chosen]
    out = VerifyResult()
    watchdog = active_watchdog()
    for case in cases:
        if case.name.startswith("todo_"):
            out.results.append(TestResult(case, False, 0.0, skipped=True))
            continue
        if watchdog:
            watchdog.arm(f"{case.file}:{case.line}: {case.path}")
        start = time.perf_counter()
        error = ""
        try:
            if options.coverage:
                values, cov = engine.eval_with_coverage(case.path, None)
                value = values[0] if values else None
                for path, (covered, missed) in cov.items():
                    have = out.coverage.setdefault(path, (set(), set()))
                    have[0].update(covered)
                    have[1].update(missed)
            else:
                value = engine.eval_rule(f"{case.package}.{case.name}", None)
        except PolicyError as err:
            value, error = None, str(err)
        duration = time.perf_counter() - start
        if watchdog:
            watchdog.disarm()
        out.results.append(TestResult(case, value is True, duration, error))
    for covered, missed in out.coverage.values():
        missed.difference_update(covered)
    return out


def to_report(result: VerifyResult) -> Report:
    """Failed tests as findings (at the test's file:line), every test as a document."""
    report = Report(command="verify")
    files: set[str] = set()
    for i, r in enumerate(result.results):
        c = r.case
        files.add(c.file)
        res = Resource(kind="Test", namespace=c.package, name=c.name)
        ms = f"{r.duration * 1000:.3f}ms"
        if r.skipped:
            status = Status.SKIPPED
        elif r.passed:
            status = Status.VALID
        else:
            status = Status.INVALID
            report.add(Finding(
                rule_id=c.path.removeprefix("data."), severity=Severity.HIGH, source="policy",
                message=(f"{c.path} failed: {r.error}" if r.error else f"{c.path} failed"),
                resource=res, file=c.file, line=c.line, document_index=i,
                references={"duration": [ms]}, title="test"))
        report.documents.append(DocumentResult(c.file, i, c.line, res, status,
                                               reason="todo" if r.skipped else ms))
    report.files = len(files)
    return report


__all__ = ["TestCase", "TestResult", "VerifyOptions", "VerifyResult", "build_engine",
           "discover_tests", "to_report", "verify"]
