"""gator ``Suite`` files (``test.gatekeeper.sh/v1alpha1``): what ``gator verify`` runs.

A suite has ``tests[]`` of ``{name, template, constraint, cases[], invalid, skip}``; each case
``{name, object, inventory[], assertions[], skip}``; each assertion ``{violations: yes|no|N,
message: <regex>}`` (``violations`` defaults to ``yes``; ``message`` filters the violations that
count). Paths are relative to the suite file. A test with ``invalid: true`` passes when the
constraint does not fit the template's schema. A case needs exactly one object (which may be an
``admission.k8s.io`` AdmissionReview) and at least one assertion.

Arguments are suite files or folders; ``folder/...`` walks sub-folders as gator does. Only the
first document of a YAML file is read, and files that are not Suites are ignored.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from socle.core.document import Document
from socle.core.errors import InputError, SocleError, UsageError
from socle.core.finding import Resource
from socle.policy import engine as _engine
from socle.policy.gatekeeper import (
    Client,
    ConstraintSchemaError,
    MatchError,
    ReviewError,
    Template,
    Violation,
    is_admission_review,
    parse_template,
    read_documents,
    review_from_admission,
)

SUITE_GROUP = "test.gatekeeper.sh"

# gator's words for a constraint whose namespaceSelector needs a Namespace it was not given
_UNMATCHABLE = ("unable to match constraints: error matching the requested object: {name} "
                ":failed to run Match criteria: namespace selector for namespace-scoped object "
                "but missing Namespace")


@dataclass
class CaseResult:
    name: str
    skipped: bool = False
    error: str = ""
    runtime: float = 0.0
    violations: int = 0

    @property
    def passed(self) -> bool:
        return not self.skipped and not self.error


@dataclass
class TestResult:
    name: str
    skipped: bool = False
    error: str = ""
    runtime: float = 0.0
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(c.error for c in self.cases)


@dataclass
class SuiteResult:
    path: str
    skipped: bool = False
    error: str = ""
    runtime: float = 0.0
    tests: list[TestResult] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return bool(self.error) or any(t.failed for t in self.tests)


# --- filter -----------------------------------------------------------------------------------


class Filter:
    """gator's ``--run``: ``REGEX`` selects tests or cases by name; ``TEST//CASE`` both."""

    def __init__(self, text: str = "") -> None:
        self.test_re: re.Pattern[str] | None = None
        self.case_re: re.Pattern[str] | None = None
        self.either = False
        if not text:
            return
        parts = text.split("//")
        if len(parts) > 2:
            raise UsageError('--run: a filter may include at most one "//"')
        try:
            if len(parts) == 1:
                self.either = True
                self.test_re = self.case_re = re.compile(parts[0])
            else:
                self.test_re, self.case_re = re.compile(parts[0]), re.compile(parts[1])
        except re.error as err:
            raise UsageError(f"--run: invalid regular expression: {err}") from None

    def matches_test(self, name: str, case_names: Sequence[str]) -> bool:
        if self.test_re is None:
            return True
        if self.either:
            return bool(self.test_re.search(name)) or any(
                self.matches_case(name, c) for c in case_names)
        return bool(self.test_re.search(name))

    def matches_case(self, test: str, case: str) -> bool:
        if self.test_re is None or self.case_re is None:
            return True
        if self.either:
            return bool(self.case_re.search(case) or self.test_re.search(test))
        return bool(self.case_re.search(case) and self.test_re.search(test))


# --- reading suites ---------------------------------------------------------------------------


@dataclass
class Suite:
    path: str
    obj: dict[str, Any]
    line: int = 1

    @property
    def dir(self) -> str:
        return os.path.dirname(self.path)


def _yaml_files(folder: str, recursive: bool) -> Iterator[str]:
    if recursive:
        for root, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")):
                    yield os.path.join(root, name)
    else:
        for name in sorted(os.listdir(folder)):
            full = os.path.join(folder, name)
            if os.path.isfile(full) and name.endswith((".yaml", ".yml")):
                yield full


def _first_document(path: str) -> Document | None:
    for doc in read_documents([path]):
        return doc
    return None


def find_suites(targets: Sequence[str]) -> list[Suite]:
    """Suites selected by ``targets`` (files, folders, or ``folder/...`` to recurse)."""
    suites: list[Suite] = []
    for target in targets:
        recursive = target.endswith("/...") or target == "..."
        base = target[:-4] if target.endswith("/...") else ("." if target == "..." else target)
        base = base or "/"
        if not os.path.exists(base):
            raise UsageError(f"{base}: no such file or folder")
        if os.path.isdir(base):
            files = list(_yaml_files(base, recursive))
        elif recursive:
            raise UsageError(f"{base}: can only walk folders recursively")
        else:
            if not base.endswith((".yaml", ".yml")):
                raise UsageError(f"{base}: a suite must be a .yaml or .yml file")
            files = [base]
        found = []
        for f in files:
            doc = _first_document(f)
            if doc is None:
                continue
            api = str(doc.obj.get("apiVersion", ""))
            if doc.obj.get("kind") == "Suite" and api.split("/", 1)[0] == SUITE_GROUP:
                found.append(Suite(f, doc.obj, doc.line))
        suites.extend(sorted(found, key=lambda s: s.path))
    return suites


# --- running ----------------------------------------------------------------------------------


class _CaseError(Exception):
    pass


def _assert(assertion: Any, violations: list[Violation]) -> None:
    if not isinstance(assertion, dict):
        raise _CaseError("an assertion must be an object")
    want = assertion.get("violations", "yes")
    pattern = assertion.get("message")
    regex = None
    if pattern is not None:
        try:
            regex = re.compile(str(pattern))
        except re.error as err:
            raise _CaseError(f"invalid message regex {pattern!r}: {err}") from None
    found = [v.message for v in violations]
    count = sum(1 for m in found if regex is None or regex.search(m))
    # (gator's words: Go's %q for the pattern, %v for the list of messages)
    containing = (f" containing {json.dumps(str(pattern), ensure_ascii=False)}"
                  if pattern is not None else "")
    messages = "[" + " ".join(found) + "]"
    got = f"unexpected number of violations: got {count} violations{containing}"
    if isinstance(want, bool):  # YAML 1.1 reads yes/no as booleans
        want = "yes" if want else "no"
    if isinstance(want, int):
        if want < 0:
            raise _CaseError('assertion.violations must be a nonnegative integer, "yes", or "no"')
        if count != want:
            raise _CaseError(f"{got} but want exactly {want}: got messages {messages}")
    elif want == "yes":
        if count == 0:
            raise _CaseError(f"{got} but want at least 1: got messages {messages}")
    elif want == "no":
        if count > 0:
            raise _CaseError(f"{got} but want none: got messages {messages}")
    else:
        raise _CaseError('assertion.violations must be a nonnegative integer, "yes", or "no"')


class Runner:
    def __init__(self, engine: str = _engine.DEFAULT_ENGINE, timeout: float | None = None,
                 run: str = "", enable_cel: bool = True, cel_failure_policy: str = "Fail"
                 ) -> None:
        self.engine = engine
        self.enable_cel = enable_cel
        self.cel_failure_policy = cel_failure_policy
        self.timeout = timeout
        self.filter = Filter(run)
        self._templates: dict[str, Template] = {}

    def run(self, suite: Suite) -> SuiteResult:
        start = time.perf_counter()
        result = SuiteResult(suite.path)
        if suite.obj.get("skip") is True:
            result.skipped = True
            return result
        tests = suite.obj.get("tests")
        if not isinstance(tests, list):
            result.error = f"{suite.path}: tests must be a list"
            return result
        for i, t in enumerate(tests):
            if not isinstance(t, dict):
                result.tests.append(TestResult(f"tests[{i}]", error="a test must be an object"))
                continue
            result.tests.append(self._run_test(suite, t, i))
        result.runtime = time.perf_counter() - start
        return result

    def _new_client(self) -> Client:
        """An empty client with this run's engine settings."""
        return Client(self.engine, self.timeout, self.enable_cel,
                      cel_failure_policy=self.cel_failure_policy)

    def _template(self, path: str) -> Template:
        cached = self._templates.get(path)
        if cached is not None:
            return cached
        docs = list(read_documents([path]))
        if len(docs) != 1:
            raise InputError(f"a template file must hold exactly one object, found {len(docs)}",
                             path)
        t = parse_template(docs[0])
        self._templates[path] = t
        return t

    def _run_test(self, suite: Suite, t: dict[str, Any], index: int) -> TestResult:
        name = str(t.get("name") or f"tests[{index}]")
        cases = t.get("cases") or []
        case_names = [str(c.get("name", "")) for c in cases if isinstance(c, dict)]
        res = TestResult(name)
        if t.get("skip") is True or not self.filter.matches_test(name, case_names):
            res.skipped = True
            return res
        start = time.perf_counter()
        try:
            client = self._client(suite, t)
            constraint_doc = self._constraint_doc(suite, t)
            invalid = t.get("invalid") is True
            try:
                client.add_constraint_doc(constraint_doc)
            except ConstraintSchemaError:
                if not invalid:
                    raise
            else:
                if invalid:
                    raise _CaseError("got a valid constraint but the test says invalid: true "
                                     "(want a schema error)")
                client.compile_all()
                if not isinstance(cases, list):
                    raise _CaseError("cases must be a list")
                for i, c in enumerate(cases):
                    res.cases.append(self._run_case(suite, client, name, c, i))
        except (SocleError, _CaseError) as err:
            res.error = str(err)
        res.runtime = time.perf_counter() - start
        return res

    def _client(self, suite: Suite, t: dict[str, Any]) -> Client:
        template = t.get("template")
        if not isinstance(template, str) or not template:
            raise _CaseError("missing template")
        client = self._new_client()
        client.add_template(self._template(os.path.join(suite.dir, template)))
        return client

    def _constraint_doc(self, suite: Suite, t: dict[str, Any]) -> Document:
        constraint = t.get("constraint")
        if not isinstance(constraint, str) or not constraint:
            raise _CaseError("missing constraint")
        path = os.path.join(suite.dir, constraint)
        docs = list(read_documents([path]))
        if len(docs) != 1:
            raise InputError(f"a constraint file must hold exactly one object, found "
                             f"{len(docs)}", path)
        return docs[0]

    def _run_case(self, suite: Suite, base: Client, test: str, c: Any, index: int
                  ) -> CaseResult:
        if not isinstance(c, dict):
            return CaseResult(f"cases[{index}]", error="a case must be an object")
        res = CaseResult(str(c.get("name") or f"cases[{index}]"))
        if c.get("skip") is True or not self.filter.matches_case(test, res.name):
            res.skipped = True
            return res
        start = time.perf_counter()
        try:
            res.violations = self._check_case(suite, base, c)
        except (SocleError, _CaseError) as err:
            res.error = str(err)
        res.runtime = time.perf_counter() - start
        return res

    def _check_case(self, suite: Suite, base: Client, c: dict[str, Any]) -> int:
        obj_path = c.get("object")
        if not isinstance(obj_path, str) or not obj_path:
            raise _CaseError("must define object")
        assertions = c.get("assertions")
        if not isinstance(assertions, list) or not assertions:
            raise _CaseError("assertions must be non-empty")
        path = os.path.join(suite.dir, obj_path)
        docs = list(read_documents([path]))
        if len(docs) != 1:
            raise _CaseError(f"{path!r} defines {len(docs)} objects (want exactly 1)")
        doc = docs[0]
        inventory = c.get("inventory") or []
        if not isinstance(inventory, list):
            raise _CaseError("inventory must be a list of paths")
        client = base
        if inventory:
            # a case with its own inventory gets its own engines; the others share the test's
            client = self._new_client()
            for t in base.templates.values():
                client.add_template(t)
            client.constraints = list(base.constraints)
            objs: list[dict[str, Any]] = []
            for p in inventory:
                objs.extend(d.obj for d in read_documents([os.path.join(suite.dir, str(p))]))
            client.add_data(objs)
        review = None
        target = doc.obj
        if is_admission_review(doc.obj):
            review = review_from_admission(doc.obj, doc.file, doc.line)
            target = review.get("object") or {}
        match_errors: list[tuple[Any, MatchError]] = []
        try:
            violations = client.review(target, review, match_errors)
        except (MatchError, ReviewError) as err:
            raise _CaseError(str(err)) from None
        # gator counts a constraint it cannot match (a namespaceSelector whose Namespace is
        # not in the case's inventory) as a violation of it, with its matcher's error as the
        # message: a suite's assertions count and match it so
        name = Resource.of(target).name
        violations.extend(Violation(c, _UNMATCHABLE.format(name=name)) for c, _ in match_errors)
        for a in assertions:
            _assert(a, violations)
        return len(violations)


def run_suites(targets: Sequence[str], engine: str = _engine.DEFAULT_ENGINE,
               timeout: float | None = None, run: str = "",
               enable_cel: bool = True, cel_failure_policy: str = "Fail") -> list[SuiteResult]:
    runner = Runner(engine, timeout, run, enable_cel, cel_failure_policy)
    suites = find_suites(targets)
    results = []
    for s in suites:
        try:
            results.append(runner.run(s))
        except SocleError as err:
            results.append(SuiteResult(s.path, error=str(err)))
    return results
