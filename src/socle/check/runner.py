"""``socle check``: schemas, policies and security controls in one pass.

Every file is read and parsed **once**; each document goes to the three checkers in turn:

1. the schema validator (:class:`socle.schema.validator.DocumentValidator`), with its
   per-document extra checks;
2. the conftest-compatible policy runner (:class:`socle.policy.conftest.Runner`), when a policy
   folder is configured or present;
3. the security scanner (:class:`socle.security.runner.Scanner`).

Files are spread over every core (forked worker processes, files in chunks, each checker built
once per worker). Checks that need every document (Services that select nothing, cross-resource
controls) run after the gather phase in the parent, or in a second pool when the work is large.
The result is one :class:`~socle.core.finding.Report`; every finding keeps its ``source``
(``schema``, ``policy``, ``security``, ``input``), and :func:`exit_code` applies each checker's
own gate, so ``socle check`` fails exactly when ``validate``, ``test`` or ``scan`` run with the
same options would.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from socle.core import collector
from socle.core.document import Document
from socle.core.errors import InputError, SocleError, UsageError
from socle.core.finding import (
    DocumentResult,
    Finding,
    Report,
    Resource,
    Rule,
    Severity,
    Status,
    unreadable,
)
from socle.core.progress import Progress
from socle.core.sources import Source, compile_patterns, discover
from socle.core.workers import cores, forkable, share
from socle.formats import pieces

if TYPE_CHECKING:  # the checkers are imported only when they run (and the pool when it does)
    from concurrent.futures import Future, ProcessPoolExecutor

    from socle.formats.pieces import Piece
    from socle.policy.conftest import TestOptions
    from socle.schema.validator import ValidateOptions
    from socle.security.runner import ScanOptions

ERROR_RULE = "check/error"
RULES = {
    ERROR_RULE: Rule(ERROR_RULE, "A checker could not evaluate this document",
                     "Fix the policy or control named in the message.", severity=Severity.HIGH),
    "input/parse-error": Rule("input/parse-error", "The file or document cannot be read",
                              "Fix the syntax at the reported line.", severity=Severity.HIGH),
}


@dataclass
class CheckOptions:
    """What to run. A checker whose options are ``None`` is off."""

    validate: ValidateOptions | None = None
    test: TestOptions | None = None
    scan: ScanOptions | None = None
    workers: int = 0  # 0: one per core
    ignore_filename_patterns: tuple[str, ...] = ()  # for every checker
    # each checker's own path filters (its config section), on top of the shared ones
    validate_ignore: tuple[str, ...] = ()
    scan_ignore: tuple[str, ...] = ()
    test_ignore: str | None = None
    progress: bool | None = None
    today: dt.date | None = None


@dataclass
class Gate:
    """When findings fail the run, per source (each checker's own rule)."""

    schema: Severity = Severity.LOW
    security: Severity = Severity.LOW
    policy: Severity = Severity.INFO  # failures are high, warnings medium
    fail_on_warn: bool = False
    no_fail: bool = False
    compliance: float | None = None


def exit_code(report: Report, gate: Gate) -> int:
    """2 when an input could not be used, 1 when a finding fails its checker's gate, else 0."""
    if report.errors:
        return 2
    for f in report.findings:
        if f.source == "input":
            continue
        if f.source == "policy":
            if gate.no_fail or f.title == "exception":
                continue
            if f.title == "warning" and not gate.fail_on_warn:
                continue
            if f.severity >= gate.policy:
                return 1
        elif f.source == "security":
            if f.severity >= gate.security:
                return 1
        elif f.severity >= gate.schema:
            return 1
    if compliance_problem(report, gate) is not None:
        return 1
    return 0


def compliance_problem(report: Report, gate: Gate) -> str | None:
    """Why the security compliance score is under ``gate.compliance``, or None."""
    scores = report.extra.get("scores")
    if gate.compliance is None or scores is None:
        return None
    data = scores.to_dict()
    frameworks = data["frameworks"]
    asked = report.extra.get("asked_frameworks") or []
    checked = ({n: frameworks[n]["complianceScore"] for n in asked if n in frameworks}
               or {"overall": data["overall"]["complianceScore"]})
    low = {n: s for n, s in checked.items() if s < gate.compliance}
    if not low:
        return None
    return "compliance below {:g}%: {}".format(
        gate.compliance, ", ".join(f"{n} {s:g}%" for n, s in sorted(low.items())))


# --- the security plan (built once in the parent, inherited by forked workers) ---------------


@dataclass
class _ScanPlan:
    selection: Any
    inputs: dict[str, Any]
    exceptions: Any
    frameworks: dict[str, list[str]]
    local: list[Any]
    cross: list[Any]
    options: ScanOptions  # (the engine, fix operations and scores)

    @property
    def collect(self) -> bool:
        return bool(self.cross)

    def run_early(self, early: list[Any]) -> None:
        """The cross-resource controls that read kinds the input does not hold join the
        first phase (see :func:`socle.security.runner.first_phase_controls`)."""
        from socle.security.runner import move_early

        self.local, self.cross = move_early(self.local, self.cross, early)

    def local_scanner(self) -> Any:
        from socle.security.runner import Scanner, inventory_kinds

        # documents of the kinds the cross-resource controls read come back for phase 2; the
        # first phase's inventory is empty (what a cross-resource control run in it sees)
        return Scanner(self.local, self.selection.selected.libraries, self.inputs,
                       self.exceptions, self.options.engine, inventory=[],
                       frameworks=self.frameworks,
                       cross_kinds={k for c in self.cross for k in c.kinds},
                       inventory_kinds=inventory_kinds(self.cross), fixes=self.options.fixes,
                       scores=self.options.scores)


def _scan_plan(options: ScanOptions, today: dt.date | None) -> _ScanPlan:
    from socle.security.runner import prepare

    selection, inputs, exceptions, names = prepare(options, today)
    controls = selection.selected.controls
    return _ScanPlan(selection, inputs, exceptions, names,
                     [c for c in controls if not c.cross_resource],
                     [c for c in controls if c.cross_resource], options)


# --- one process's checkers ------------------------------------------------------------------


@dataclass
class FileOutcome:
    """What the three checkers found in one file (sent back from a worker)."""

    file: str
    documents: list[DocumentResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    facts: list[Any] = field(default_factory=list)  # schema cross-document checks
    records: list[Any] = field(default_factory=list)  # security scores
    pending: list[Document] = field(default_factory=list)  # cross-resource controls
    inventory: list[Any] = field(default_factory=list)
    errors: int = 0


class Checkers:
    """The validator, the policy runner and the scanner of one process."""

    def __init__(self, options: CheckOptions, crds: dict[Any, Any], plan: _ScanPlan | None
                 ) -> None:
        self.options = options
        self.validator: Any = None
        self.policy: Any = None
        self.scanner: Any = None
        self.target: Any = None
        self.collect = bool(plan and plan.collect)
        self.strict = False
        self.fast = True
        if options.validate is not None:
            from socle.schema.registry import SchemaRegistry
            from socle.schema.validator import DocumentValidator

            self.validator = DocumentValidator(
                options.validate, SchemaRegistry(options.validate.registry, crds))
            self.strict = options.validate.registry.strict
            self.fast = options.validate.fast_yaml
        if options.test is not None:
            from socle.policy.conftest import Runner, Target

            self.policy = Runner(options.test)
            self.target = Target
        if plan is not None:
            self.scanner = plan.local_scanner()
        self._v_ignore = compile_patterns(options.validate_ignore)
        self._s_ignore = compile_patterns(options.scan_ignore)
        self._t_ignore = re.compile(options.test_ignore) if options.test_ignore else None

    def wanted(self, path: str) -> tuple[bool, bool, bool]:
        v = self.validator is not None and not any(p.search(path) for p in self._v_ignore)
        t = self.policy is not None and not (self._t_ignore and self._t_ignore.search(path))
        s = self.scanner is not None and not any(p.search(path) for p in self._s_ignore)
        return v, t, s


def _documents(source: Source, data: bytes, strict: bool, fast: bool,
               empty: list[tuple[int, int]] | None = None) -> Iterator[Document]:
    """The documents of one file, as ``socle validate`` and ``socle scan`` read them; with
    ``empty`` (for conftest policies) null ones too, and, once they are read, the (line, index)
    of the parts conftest tests as null for want of content go into ``empty`` (see
    :func:`socle.formats.yaml.conftest_documents`)."""
    from socle.formats.json import manifest_documents
    from socle.formats.yaml import conftest_empty_parts, decode, iter_documents

    name = source.display
    docs = manifest_documents(source.path, data, name, strict)
    if docs is not None:
        yield from docs
        return
    if empty is None:
        yield from iter_documents(data, name, strict=strict, fast=fast)
        return
    text = decode(data, name)
    n = 0
    for doc in iter_documents(text, name, strict=strict, fast=fast, keep_null=True):
        n += 1
        yield doc
    empty.extend(conftest_empty_parts(text, n))  # (numbered after the file's documents)


def _error_finding(out: FileOutcome, source: str, err: SocleError, doc: Document) -> None:
    out.errors += 1
    out.findings.append(Finding(
        ERROR_RULE, err.message, Severity.HIGH, source, doc.resource if doc.error is None
        else Resource(), doc.file, doc.line, 0, doc.index))


def check_source(source: Source, checkers: Checkers, data: bytes | None = None) -> FileOutcome:
    """Run every wanted checker over one file, parsed once."""

    def documents(policies: bool, empty: list[tuple[int, int]]) -> Iterator[Document]:
        return _documents(source, source.read() if data is None else data, checkers.strict,
                          checkers.fast, empty if policies else None)

    return _check(source.display, source.path, documents, checkers, True)


def check_piece(piece: Piece, checkers: Checkers) -> FileOutcome:
    """Run every wanted checker over a piece of a large file (see
    :func:`socle.formats.pieces.split_file`), as :func:`check_source` over the whole file."""
    from socle.formats.pieces import piece_documents

    def documents(policies: bool, empty: list[tuple[int, int]]) -> Iterator[Document]:
        if policies:
            empty.extend(piece.empty)
        return piece_documents(piece, checkers.strict, checkers.fast, policies)

    return _check(piece.file, piece.path, documents, checkers, piece.whole)


def _check(name: str, path: str,
           read: Callable[[bool, list[tuple[int, int]]], Iterator[Document]],
           checkers: Checkers, whole: bool) -> FileOutcome:
    """``read(policies, empty)`` gives the documents, null ones too when ``policies``, and puts
    the (line, index) of each part conftest tests as null for want of content in ``empty``;
    ``whole``: they are all the file has (else they are some of many, never one alone)."""
    from socle.schema.validator import FileResult as VResult
    from socle.security.runner import FileResult as SResult

    out = FileOutcome(name)
    do_v, do_t, do_s = checkers.wanted(path)
    if not (do_v or do_t or do_s):
        return out
    v, s = VResult(), SResult()
    p = Report()
    held: Document | None = None  # a top-level array waits: conftest splits it when alone
    count = 0
    empty: list[tuple[int, int]] = []
    try:
        for doc in read(do_t, empty):
            count += 1
            if held is not None:
                _policy(checkers, held, p, out, False)
                held = None
            if doc.obj is None and doc.error is None and doc.format == "yaml":
                # a null YAML document (kept for the policies: conftest tests it, kubeconform
                # skips it)
                _policy(checkers, doc, p, out, False)
                continue
            if doc.error is not None:
                if do_v:
                    checkers.validator.validate(doc, v)
                else:
                    _parse_error(out, doc)
                continue
            if do_v:
                checkers.validator.validate(doc, v)
            if do_s:
                try:
                    checkers.scanner.scan_document(doc, s, 1, checkers.collect)
                except SocleError as err:
                    _error_finding(out, "security", err, doc)
            if do_t:
                if isinstance(doc.obj, list) and count == 1 and whole:
                    held = doc
                else:
                    _policy(checkers, doc, p, out, False)
        for line, index in empty:  # parts conftest tests as null for want of content
            _policy(checkers, Document(obj=None, file=name, index=index, line=line, text=""),
                    p, out, False)
        count += len(empty)
        if held is not None:
            _policy(checkers, held, p, out, count == 1)
    except (InputError, OSError) as err:
        unreadable(out, name, err)
    documents = v.documents if do_v else s.documents if do_s else p.documents
    out.documents[:0] = documents
    out.findings[:0] = [*v.findings, *s.findings, *p.findings]
    out.errors += v.errors + s.errors + p.errors
    out.facts = v.facts
    out.records = s.records
    out.pending = s.pending
    out.inventory = s.inventory
    return out


def _parse_error(out: FileOutcome, doc: Document) -> None:
    err = doc.error
    assert err is not None
    out.errors += 1
    out.findings.append(Finding("input/parse-error", err.message, Severity.HIGH, "input",
                                Resource(), doc.file, err.line or doc.line, err.column or 0,
                                doc.index))
    out.documents.append(DocumentResult(doc.file, doc.index, doc.line, Resource(),
                                        Status.ERROR, err.message))


def _policy(checkers: Checkers, doc: Document, report: Report, out: FileOutcome,
            split: bool) -> None:
    target = checkers.target  # socle.policy.conftest.Target (imported once, not per document)
    targets = ([target(doc.file, item, doc.line, i) for i, item in enumerate(doc.obj)]
               if split else [target(doc.file, doc.obj, doc.line, doc.index, doc.resource)])
    for t in targets:
        try:
            checkers.policy.check(t, report)
        except SocleError as err:
            _error_finding(out, "policy", err, doc)


# --- worker processes --------------------------------------------------------------------------

_FACTORY: Any = None  # set in the parent before forking: builds the worker's checkers
_WORKER: Any = None


def _init_worker() -> None:
    global _WORKER
    from socle.formats.yaml import quiet_native_stderr

    quiet_native_stderr().__enter__()
    assert _FACTORY is not None
    _WORKER = _FACTORY()


def _work(paths: list[str | Piece]) -> list[FileOutcome]:
    assert isinstance(_WORKER, Checkers)
    if _GC_WAS_ON:
        # the cycle collector stays paused in the workers too (inherited from the parent, see
        # check_paths) and runs here, between two batches, when little is alive (the
        # inherited objects are frozen): any cyclic garbage lives for one batch at most
        gc.collect()
    from socle.security.runner import leave_texts

    out = [_check_item(item, _WORKER) for item in paths]
    for item, result in zip(paths, out, strict=True):
        leave_texts(result.pending, item)  # (read again where phase 2 needs them)
    return out


def _check_item(item: str | Piece, checkers: Checkers) -> FileOutcome:
    """One work item: a file's path or a piece of a large file."""
    if isinstance(item, str):
        return check_source(Source(item), checkers)
    return check_piece(item, checkers)


def _pool(workers: int) -> ProcessPoolExecutor:
    from socle.core.workers import fork_pool

    # the workers inherit this process's objects (the compiled checkers), frozen by the caller
    return fork_pool(workers, _init_worker)


def _kill(pool: ProcessPoolExecutor) -> None:
    import contextlib
    import signal

    procs = dict(getattr(pool, "_processes", None) or {})
    pool.shutdown(wait=False, cancel_futures=True)
    for pid in procs:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


# --- the whole run -----------------------------------------------------------------------------

_GC_WAS_ON = True  # whether the collector was on when check_paths started (for the workers)


def check_paths(paths: list[str], options: CheckOptions) -> Report:
    """Validate, test and scan ``paths`` in one pass; one report (with the cycle collector
    paused, see :mod:`socle.core.collector`)."""
    global _GC_WAS_ON
    with collector.paused() as was_on:
        _GC_WAS_ON = was_on
        return _check_paths(paths, options)


def _check_paths(paths: list[str], options: CheckOptions) -> Report:
    global _FACTORY
    from socle.formats.yaml import quiet_native_stderr

    if options.validate is None and options.test is None and options.scan is None:
        raise UsageError("nothing to check: validate, test and scan are all turned off")
    report = Report(command="check")
    report.rules.update(RULES)
    plan = _scan_plan(options.scan, options.today) if options.scan is not None else None
    sources = list(discover(paths, ignore=compile_patterns(options.ignore_filename_patterns)))
    report.files = len(sources)
    report.stdin = len(sources) == 1 and sources[0].is_stdin
    stdin_data = Source("-").read() if any(s.is_stdin for s in sources) else None
    files = [s for s in sources if not s.is_stdin]
    engines = [o.engine for o in (options.test, options.scan) if o is not None]
    workers = (options.workers or cores()) if forkable(*engines) else 1
    # a large file or stream is cut into pieces that the workers share
    work = pieces.plan(files, stdin_data, workers, policies=options.test is not None)
    kinds = None
    if plan is not None:
        from socle.security.runner import KindScan

        kinds = KindScan(plan.cross)  # (fed as the files are read, below)
    crds: dict[Any, Any] = {}
    if options.validate is not None:
        from socle.schema.validator import RULES as V_RULES
        from socle.schema.validator import collect_crds

        report.rules.update(V_RULES)
        if options.validate.extra_checks:
            from socle.schema import checks

            report.rules.update(checks.RULES)
        # (one read of every file for its CRDs and the kinds it holds)
        crds = collect_crds(sources, stdin_data, options.validate.registry.strict, work.split,
                            kinds.feed if kinds is not None else None)
    elif kinds is not None:
        kinds.read(sources, stdin_data, work.split)
    if plan is not None and kinds is not None:
        plan.run_early(kinds.early())
    if plan is not None:
        from socle.security.runner import RULES as S_RULES

        report.rules.update(S_RULES)
        for c in plan.selection.selected.controls:
            report.rules[c.id] = Rule(c.id, c.title, c.remediation, c.help_uri, c.severity)

    def build() -> Checkers:
        return Checkers(options, crds, plan)

    timeout = options.test.timeout if options.test is not None else None
    results: list[FileOutcome] = []
    progress = Progress("checking files", work.steps(len(sources)), enabled=options.progress)
    try:
        # built once here, before the workers fork, so they inherit it (compiled policies,
        # controls and schemas) instead of each building its own
        local = build()
        if stdin_data is not None and "-" not in work.split:
            with quiet_native_stderr():
                results.append(_guarded(local, "-", stdin_data))
            progress.advance()
        if work.parallel:
            from concurrent.futures import TimeoutError as FutureTimeout
            from concurrent.futures.process import BrokenProcessPool

            from socle.formats.pieces import files_of

            _FACTORY = lambda: local  # noqa: E731

            def collect(fut: Future[list[FileOutcome]], chunk: list[str | Piece]
                        ) -> list[FileOutcome]:
                try:
                    return fut.result(timeout=(timeout * len(chunk) + 30) if timeout else None)
                except BrokenProcessPool:
                    build()  # the same error in this process, as a one-line message
                    raise InputError(f"a worker process died while checking {files_of(chunk)}"
                                     ) from None
                except FutureTimeout:
                    raise InputError(
                        f"policy evaluation took longer than {timeout:g}s per file in "
                        f"one of {files_of(chunk)} (a policy that loops or does too much "
                        "work); fix the policy or raise --timeout") from None

            with collector.frozen():  # the workers' collections leave the checkers alone
                # this process checks files too, between handing them out (see share)
                pool = _pool(workers - 1)
                try:
                    with quiet_native_stderr():
                        results.extend(share(pool, workers - 1, work.items, _work,
                                             lambda item: _guarded(local, item),
                                             collect=collect,
                                             done=lambda c: progress.advance(work.done(c))))
                    pool.shutdown()
                except BaseException:
                    # the workers are stopped here: a supervised run leaves by os._exit, which
                    # would orphan them waiting for work, holding the output pipes open
                    _kill(pool)
                    raise
                finally:
                    _FACTORY = None
        else:
            assert local is not None
            with quiet_native_stderr():
                for s in files:
                    results.append(_guarded(local, s.path))
                    progress.advance()
    finally:
        progress.close()
    _gather(report, results, options, plan, workers)
    collector.let_go((results, local, plan))  # (freeing them costs more than checking)
    return report


def _guarded(checkers: Checkers, item: str | Piece, data: bytes | None = None) -> FileOutcome:
    """One work item (``data``: a file's bytes, if read) in this process, under the policy
    time limit when ``socle check`` is supervised (see
    :func:`socle.policy.engine.supervise`)."""
    from socle.policy.engine import active_watchdog

    def run() -> FileOutcome:
        if data is not None and isinstance(item, str):
            return check_source(Source(item), checkers, data)
        return _check_item(item, checkers)

    watchdog = active_watchdog() if checkers.policy is not None else None
    if watchdog is None:
        return run()
    watchdog.arm(Source(item).display if isinstance(item, str) else item.file)
    try:
        return run()
    finally:
        watchdog.disarm()


def _gather(report: Report, results: list[FileOutcome], options: CheckOptions,
            plan: _ScanPlan | None, workers: int) -> None:
    facts: list[Any] = []
    records: list[Any] = []  # (security scores: one per resource and phase)
    inventory: list[Any] = []
    pending: list[Document] = []
    findings: list[Finding] = []
    for r in results:
        report.documents.extend(r.documents)
        report.errors += r.errors
        findings.extend(r.findings)
        facts.extend(r.facts)
        inventory.extend(r.inventory)
        pending.extend(r.pending)
        records.extend(r.records)
    # cross-document schema checks (Services that select nothing)
    if options.validate is not None and options.validate.extra_checks and facts:
        from socle.schema import checks

        findings.extend(checks.cross_check(facts))
    if plan is not None:
        from socle.security.runner import cross_phase, merge_record

        if plan.cross:
            part = cross_phase(plan.cross, plan.selection.selected.libraries, plan.inputs,
                               plan.exceptions, plan.options, inventory, pending,
                               plan.frameworks, workers)
            findings.extend(part.findings)
            report.errors += part.errors
            records.extend(part.records)
        from socle.security.exceptions import expired_file_findings
        from socle.security.runner import score

        findings.extend(expired_file_findings(plan.exceptions))
        if plan.options.scores:
            merged: dict[Any, Any] = {}
            for rec in records:
                merge_record(merged, rec)
            report.extra["scores"] = score(plan.selection, merged.values())
        report.extra["controls"] = plan.selection.selected.controls
        report.extra["frameworks"] = plan.selection.reported
        report.extra["asked_frameworks"] = [fw.name for fw in plan.selection.frameworks]
    for f in findings:
        if f.source == "security" and f.extra.get("status") == "excepted":
            report.extra.setdefault("excepted", []).append(f)
        else:
            report.findings.append(f)
    report.extra["checks"] = {"validate": options.validate is not None,
                              "test": options.test is not None,
                              "scan": options.scan is not None}
    _mark_invalid(report)


def _mark_invalid(report: Report) -> None:
    keys = {(f.file, f.document_index) for f in report.findings if f.source != "input"}
    for d in report.documents:
        if (d.file, d.index) in keys and d.status in (Status.VALID, Status.SKIPPED):
            d.status = Status.INVALID
