"""Validating documents: kind filters, schema lookup, JSON-schema errors with lines, extra checks.

:func:`validate_paths` is the library entry point behind ``socle validate``: it finds the
files, registers CRDs found anywhere in the input, then validates every file on all cores
(one process per core, files in chunks, a large file or stream in pieces of whole documents;
each worker keeps no document after its file or piece is done, so memory stays bounded
whatever the input size).
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

from socle.core import collector
from socle.core.document import Document
from socle.core.errors import InputError
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
from socle.core.workers import cores, share
from socle.formats.pieces import Piece, files_of, piece_documents, plan
from socle.schema.crd import SchemaKey, is_crd, schemas_from_crd
from socle.schema.registry import RegistryOptions, SchemaRegistry

RULES: dict[str, Rule] = {
    "input/parse-error": Rule("input/parse-error", "The file or document cannot be read",
                              "Fix the syntax at the reported line.", severity=Severity.HIGH),
    "input/missing-kind": Rule("input/missing-kind", "Document has no apiVersion or kind",
                               "Every Kubernetes object needs apiVersion and kind.",
                               severity=Severity.HIGH),
    "schema/missing": Rule("schema/missing", "No schema found for this kind",
                           "Pass -schema-location for custom resources, include the CRD in the "
                           "input, or use -ignore-missing-schemas.", severity=Severity.HIGH),
    "schema/rejected": Rule("schema/rejected", "Kind is prohibited (-reject)",
                            "Remove the resource or change -reject.", severity=Severity.HIGH),
    "yaml/duplicate-key": Rule("yaml/duplicate-key", "A key appears twice in one mapping",
                               "Kubernetes keeps only the last value; remove the duplicate.",
                               severity=Severity.HIGH),
}


@dataclass
class ValidateOptions:
    registry: RegistryOptions = field(default_factory=RegistryOptions)
    ignore_missing_schemas: bool = False
    skip: frozenset[str] = frozenset()
    reject: frozenset[str] = frozenset()
    ignore_filename_patterns: tuple[str, ...] = ()
    extra_checks: bool = True
    workers: int = 0  # 0: one per core
    fast_yaml: bool = True
    progress: bool | None = None


@dataclass
class FileResult:
    documents: list[DocumentResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    facts: list[Any] = field(default_factory=list)
    errors: int = 0


# --- one document ------------------------------------------------------------------------------


def _kind_matches(filters: frozenset[str], api_version: str, kind: str) -> bool:
    """kubeconform's -skip/-reject: a kind (``Deployment``) or a GVK (``apps/v1/Deployment``)."""
    return kind in filters or f"{api_version}/{kind}" in filters


_UNEXPECTED = re.compile(r"\('([^']*)' was unexpected\)|'([^']*)' was unexpected")
_REQUIRED = re.compile(r'^"([^"]*)" is a required property')


def _camel_to_kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _error_kind(err: Any) -> str:
    kind = type(getattr(err, "kind", None)).__name__
    if kind == "Custom":  # (socle's own keywords: GoPattern)
        return "pattern"
    return _camel_to_kebab(kind) if kind and kind != "NoneType" else "invalid"


def _own_line(doc: Document) -> int:
    """The line of a document, or of a List's item (looked up only for a finding)."""
    if not doc.base_path:
        return doc.line
    from socle.formats.lines import position

    return position(doc, [])[0]


def _is_list(obj: Any) -> bool:
    """Whether kubeconform reads a document as a List: kind ``List`` in any case, with an
    apiVersion."""
    if not isinstance(obj, dict):
        return False
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    return (isinstance(kind, str) and kind.lower() == "list" and isinstance(api_version, str)
            and api_version != "")


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def schema_findings(doc: Document, validator: Any) -> list[Finding]:
    from socle.formats.lines import position  # (~3 ms of patterns; a run with findings only)

    findings = []
    resource = doc.resource
    for err in validator.iter_errors(doc.obj):
        path: list[str | int] = list(err.instance_path)
        message = err.message
        key_path = list(path)
        m = _UNEXPECTED.search(message)
        if m:  # point at the unexpected key itself
            key_path.append(m.group(1) or m.group(2))
        line, column = position(doc, key_path)
        pointer = _pointer(path)
        findings.append(Finding(
            rule_id=f"schema/{_error_kind(err)}",
            message=f"{pointer or '/'}: {message}",
            severity=Severity.HIGH, source="schema", resource=resource, file=doc.file,
            line=line, column=column, document_index=doc.index, path=_pointer(key_path),
        ))
    return findings


class DocumentValidator:
    """Validates documents one by one with one registry (one per process)."""

    def __init__(self, options: ValidateOptions, registry: SchemaRegistry) -> None:
        from socle.formats.yaml import DuplicateKeyError

        self.options = options
        self.registry = registry
        self._duplicate = DuplicateKeyError
        self._filtered = bool(options.skip or options.reject)
        self.extra: Any = None
        if options.extra_checks:
            from socle.schema import checks

            self.extra = checks

    def validate(self, doc: Document, out: FileResult) -> None:
        if doc.error is not None:
            err = doc.error
            duplicate = isinstance(err, self._duplicate)
            rule = "yaml/duplicate-key" if duplicate else "input/parse-error"
            out.findings.append(Finding(
                rule_id=rule, message=err.message, severity=Severity.HIGH,
                source="schema" if duplicate else "input", file=doc.file,
                line=err.line or doc.line, column=err.column or 0, document_index=doc.index))
            status = Status.INVALID if duplicate else Status.ERROR
            out.documents.append(DocumentResult(doc.file, doc.index, doc.line, Resource(),
                                                status, err.message))
            if not duplicate:
                out.errors += 1
            return
        obj = doc.obj
        if not doc.base_path and _is_list(obj):
            # as kubeconform reads a List: its items, one level (a List among them is a
            # resource of kind List), none when "items" is missing or not a list
            items = obj.get("items")
            for i, item in enumerate(items if isinstance(items, list) else ()):
                child = Document(obj=item, file=doc.file, index=doc.index, line=doc.line,
                                 text=doc.text, format=doc.format,
                                 base_path=(*doc.base_path, "items", i), _locate=doc._locate,
                                 origin=doc.origin or doc.line)
                # positions are computed only if a finding needs them (once per List)
                child._positions = doc._positions
                self.validate(child, out)
                if child._positions is not None:
                    doc._positions = child._positions
            return
        resource = doc.resource
        result = DocumentResult(doc.file, doc.index, doc.line, resource, Status.VALID)
        out.documents.append(result)
        api_version, kind = resource.api_version, resource.kind
        if not isinstance(obj, dict) or not api_version or not kind:
            missing = " and ".join(k for k, v in (("apiVersion", api_version), ("kind", kind))
                                   if not v)
            what = "not a mapping" if not isinstance(obj, dict) else f"missing {missing}"
            result.status, result.reason = Status.ERROR, what
            out.errors += 1
            out.findings.append(Finding(
                "input/missing-kind", f"document is {what}" if what.startswith("not")
                else f"document has no {missing}", Severity.HIGH, "input", resource,
                doc.file, _own_line(doc), 0, doc.index))
            return
        if self.extra is not None:
            # every workload and Service counts for cross-document checks, with or without a
            # schema (a Service may select an Argo Rollout whose schema is not at hand)
            fact = self.extra.facts(doc)
            if fact is not None:
                out.facts.append(fact)
        if self._filtered:
            if _kind_matches(self.options.skip, api_version, kind):
                result.status, result.reason = Status.SKIPPED, "skipped by -skip"
                return
            if _kind_matches(self.options.reject, api_version, kind):
                result.status, result.reason = Status.INVALID, "prohibited by -reject"
                out.findings.append(Finding(
                    "schema/rejected", f"prohibited resource kind {kind}", Severity.HIGH,
                    "schema", resource, doc.file, _own_line(doc), 0, doc.index))
                return
        if is_crd(obj):
            self.registry.add_crd_schemas(schemas_from_crd(obj))
        validator = self.registry.validator(api_version, kind)
        if validator is None:
            if self.options.ignore_missing_schemas:
                result.status, result.reason = Status.SKIPPED, "no schema found"
                return
            result.status, result.reason = Status.ERROR, "no schema found"
            out.errors += 1
            out.findings.append(Finding(
                "schema/missing",
                f"could not find schema for {kind} ({api_version})", Severity.HIGH, "schema",
                resource, doc.file, _own_line(doc), 0, doc.index))
            return
        found: list[Finding] = []
        if not validator.is_valid(obj):
            found = schema_findings(doc, validator)
        if self.extra is not None:
            found.extend(self.extra.check_document(doc))
        if found:
            result.status = Status.INVALID
            out.findings.extend(found)


# --- one file --------------------------------------------------------------------------------


def _iter_file_documents(source: Source, data: bytes, options: ValidateOptions,
                         strict: bool) -> Iterator[Document]:
    from socle.formats.json import manifest_documents
    from socle.formats.yaml import iter_documents

    name = source.display
    docs = manifest_documents(source.path, data, name, strict)
    if docs is not None:
        yield from docs
        return
    yield from iter_documents(data, name, strict=strict, fast=options.fast_yaml)


def validate_source(source: Source, validator: DocumentValidator,
                    data: bytes | None = None) -> FileResult:
    out = FileResult()
    name = source.display
    try:
        if data is None:
            data = source.read()
        for doc in _iter_file_documents(source, data, validator.options,
                                        validator.registry.options.strict):
            validator.validate(doc, out)
    except (InputError, OSError) as err:
        unreadable(out, name, err)
    return out


# --- large files, in pieces (see socle.formats.pieces) ---------------------------------------


def validate_piece(piece: Piece, validator: DocumentValidator) -> FileResult:
    """A piece's documents, as :func:`validate_source` validates a whole file's."""
    out = FileResult()
    try:
        for doc in piece_documents(piece, validator.registry.options.strict,
                                   validator.options.fast_yaml):
            validator.validate(doc, out)
    except InputError as err:
        unreadable(out, piece.file, err)
    return out


# --- worker processes --------------------------------------------------------------------------

_WORKER: DocumentValidator | None = None


def _init_worker(options: ValidateOptions, crds: dict[SchemaKey, dict[str, Any]]) -> None:
    global _WORKER
    from socle.formats.yaml import quiet_native_stderr

    # rapidyaml prints its own error text on fd 2; a worker reports through return values only
    quiet_native_stderr().__enter__()
    gc.enable()  # (paused in the parent, which forked this process while collecting)
    if _WORKER is None:  # forked workers inherit the parent's (schemas already loaded)
        _WORKER = DocumentValidator(options, SchemaRegistry(options.registry, crds))


def _work(items: list[str | Piece]) -> list[FileResult]:
    assert _WORKER is not None
    return [_validate_item(p, _WORKER) for p in items]


def _validate_item(item: str | Piece, validator: DocumentValidator) -> FileResult:
    """One work item: a file's path or a piece of a large file."""
    if isinstance(item, str):
        return validate_source(Source(item), validator)
    return validate_piece(item, validator)


# --- CRDs in the input -----------------------------------------------------------------------


def collect_crds(sources: list[Source], stdin: bytes | None, strict: bool,
                 split: dict[str, list[Piece]] | None = None,
                 seen: Callable[[bytes | str], object] | None = None
                 ) -> dict[SchemaKey, dict[str, Any]]:
    """Schemas of every CustomResourceDefinition in the input, found before validation starts
    so that custom resources validate whichever file declares their CRD. ``split``: files
    already cut into pieces (by path), read from them rather than again from the file.
    ``seen`` is given every file's bytes (a piece's texts) as they are read: another look
    over the whole input (``socle check``'s, for the kinds it holds) without a second read."""
    from socle.formats.yaml import quiet_native_stderr

    out: dict[SchemaKey, dict[str, Any]] = {}
    with quiet_native_stderr():
        _collect_crds(sources, stdin, out, split or {}, seen)
    return out


def _collect_crds(sources: list[Source], stdin: bytes | None,
                  out: dict[SchemaKey, dict[str, Any]], split: dict[str, list[Piece]],
                  seen: Callable[[bytes | str], object] | None) -> None:
    for source in sources:
        for doc in _crd_candidates(source, stdin, split.get(source.path), seen):
            if doc.error is None and is_crd(doc.obj):
                out.update(schemas_from_crd(doc.obj))


def _crd_candidates(source: Source, stdin: bytes | None, pieces: list[Piece] | None,
                    seen: Callable[[bytes | str], object] | None = None) -> list[Document]:
    """The documents of a file that mention a CRD (only those are parsed twice), from its
    pieces when it was cut into some."""
    from socle.formats import json as json_format
    from socle.formats.yaml import decode, load_document, split_documents

    if pieces is not None:
        if seen is not None:
            for piece in pieces:
                for _i, _line, chunk in piece.parts:
                    seen(chunk)
        return [load_document(chunk, source.display, i, line)
                for piece in pieces for i, line, chunk in piece.parts
                if "CustomResourceDefinition" in chunk]
    try:
        data = stdin if source.is_stdin else source.read()
    except OSError:
        return []
    if data is not None and seen is not None:
        seen(data)
    if data is None or b"CustomResourceDefinition" not in data:
        return []
    try:
        text = decode(data, source.display)
    except InputError:
        return []  # reported when the file is validated
    if source.path.lower().endswith(".json"):
        return [json_format.load_document(text, source.display)]
    return [load_document(chunk, source.display, i, line)
            for i, (line, chunk) in enumerate(split_documents(text))
            if "CustomResourceDefinition" in chunk]


# --- the whole run -----------------------------------------------------------------------------


def validate_paths(paths: list[str], options: ValidateOptions) -> Report:
    from socle.formats.yaml import quiet_native_stderr

    report = Report(command="validate")
    report.rules.update(RULES)
    passed_over: list[str] = []

    def named(path: str) -> bool:
        # a file named on the command line that is not .yaml, .yml or .json: kubeconform skips
        # it (`kubeconform $(git diff --name-only)` passes over README.md); noted in the report
        passed_over.append(path)
        return False

    sources = list(discover(paths, ignore=compile_patterns(options.ignore_filename_patterns),
                            named=named))
    if passed_over:
        report.extra["passed_over"] = passed_over
    report.files = len(sources)
    report.stdin = len(sources) == 1 and sources[0].is_stdin
    stdin_data = None
    if any(s.is_stdin for s in sources):
        stdin_data = Source("-").read()
    files = [s for s in sources if not s.is_stdin]
    workers = options.workers or cores()
    work = plan(files, stdin_data, workers)  # (large files cut into pieces here)
    crds = collect_crds(sources, stdin_data, options.registry.strict, work.split)
    registry = SchemaRegistry(options.registry, crds)
    validator = DocumentValidator(options, registry)
    if validator.extra is not None:
        report.rules.update(validator.extra.RULES)
    results: list[FileResult] = []
    progress = Progress("validating files", work.steps(len(sources)), enabled=options.progress)
    try:
        if stdin_data is not None and "-" not in work.split:
            with quiet_native_stderr():
                results.append(validate_source(Source("-"), validator, stdin_data))
            progress.advance()
        if work.parallel:
            from socle.core.workers import ForkPool, WorkerLost

            global _WORKER
            _WORKER = validator  # inherited through fork

            # this process validates files too, between handing them out (see share); its
            # collector is paused: the results all stay alive (no garbage to find), walking
            # them over and over cost as much as unpickling them, and validating leaves no
            # cycles behind (~350 objects for the collector after 10,000 documents)
            def collect(task: Any, chunk: list[str | Piece]) -> list[FileResult]:
                try:
                    return cast("list[FileResult]", task.result())
                except WorkerLost as err:  # (killed: out of memory, a signal)
                    raise InputError(f"{err} while validating {files_of(chunk)}") from None

            with collector.paused(), quiet_native_stderr(), \
                    ForkPool(workers - 1, _init_worker, (options, crds)) as pool:
                try:
                    results.extend(share(pool, workers - 1, work.items, _work,
                                         lambda item: _validate_item(item, validator),
                                         collect=collect,
                                         done=lambda c: progress.advance(work.done(c))))
                finally:
                    _WORKER = None
        else:
            # (the collector paused as in a parallel run: every result stays alive to the
            # end, and collecting walked them over and over, ~4% of a run on one core)
            with collector.paused(), quiet_native_stderr():
                for s in files:
                    results.append(validate_source(s, validator))
                    progress.advance()
    finally:
        progress.close()
    facts = []
    for r in results:
        report.documents.extend(r.documents)
        report.findings.extend(r.findings)
        report.errors += r.errors
        facts.extend(r.facts)
    if validator.extra is not None and facts:
        cross = validator.extra.cross_check(facts)
        report.findings.extend(cross)
        _mark_invalid(report, cross)
    collector.let_go((results, facts, validator))  # (freeing them costs more than keeping)
    return report


def _mark_invalid(report: Report, findings: list[Finding]) -> None:
    keys = {(f.file, f.document_index) for f in findings}
    for d in report.documents:
        if (d.file, d.index) in keys and d.status is Status.VALID:
            d.status = Status.INVALID
