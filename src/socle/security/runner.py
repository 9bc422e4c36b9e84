"""``socle scan``: run the security controls over manifests, fast.

The pipeline:

1. controls are loaded and selected (frameworks, ``--controls``, ``--exclude-controls``);
2. each process compiles the Rego of every selected control once, plus one generated
   aggregator module per distinct set of controls a kind triggers
   (``data.socle_scan.g<n>.results``: control id -> its non-empty deny set; outside
   ``data.socle`` so that a control reading ``data.socle`` does not recurse into it), so each
   document costs one evaluation, and kinds no control reads cost none; a small group gets an
   engine of its own once it has seen enough documents (regorus' fixed cost per evaluation
   grows with the Rego loaded);
3. files are parsed once and evaluated on every core (forked workers, files in chunks, the
   engine built once per worker); each worker returns findings with lines already resolved;
4. cross-resource controls (``crossResource: true``) need every resource first: their
   documents come back from phase 3 with the inventory (``data.socle.inventory``), which is set
   once in a second engine; when the work is large this process and forked workers (which
   inherit it) share the documents;
5. exceptions are applied as findings are made, and scores are computed from per-resource
   tallies (see :mod:`socle.security.scoring`).
"""

from __future__ import annotations

import datetime as dt
import gc
import operator
import os
import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

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
from socle.formats.lines import position
from socle.policy.engine import DEFAULT_ENGINE, PolicyError
from socle.policy.regoc.runtime import to_json
from socle.security.controls import Control, ControlSet, default_inputs, load_controls
from socle.security.exceptions import (
    EXPIRED_RULE,
    INVALID_RULE,
    Exceptions,
    Inline,
    expired_file_findings,
    load_exceptions_file,
)
from socle.security.frameworks import Framework, bundled, resolve
from socle.security.scoring import ControlTally, Scores, compute, resource_weight

if TYPE_CHECKING:
    from concurrent.futures import Future, ProcessPoolExecutor

    from socle.formats.pieces import Piece
    from socle.policy.engine import Engine

_R = TypeVar("_R")

RULES = {
    EXPIRED_RULE: Rule(EXPIRED_RULE, "Expired exception",
                       "The exception's end date has passed: fix the resource or renew the "
                       "exception after a review.", severity=Severity.HIGH),
    INVALID_RULE: Rule(INVALID_RULE, "Invalid exception",
                       "The exception's date is not YYYY-MM-DD.", severity=Severity.HIGH),
    "control/error": Rule("control/error", "A control failed to evaluate",
                          "Fix the control's Rego (a runtime error such as conflicting "
                          "values); the run exits 2.", severity=Severity.HIGH),
    "input/parse-error": Rule("input/parse-error", "The file or document cannot be read",
                              "Fix the syntax at the reported line.", severity=Severity.HIGH),
}


@dataclass
class ScanOptions:
    controls_dirs: list[str] = field(default_factory=list)
    include: list[str] = field(default_factory=list)  # ids or names (--controls)
    exclude: list[str] = field(default_factory=list)  # ids or names (--exclude-controls)
    frameworks: list[str] = field(default_factory=list)
    framework_files: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    exceptions_file: str | None = None
    engine: str = DEFAULT_ENGINE
    workers: int = 0  # 0: one per core
    today: dt.date | None = None
    ignore_filename_patterns: tuple[str, ...] = ()
    progress: bool | None = None
    bundled: bool = True  # False: only the controls of controls_dirs
    # each finding's fix operations (extra["fix"]): the JSON, SARIF and HTML reports show
    # them and --fix applies them; a run whose report shows none leaves them out (~2.5% of
    # a check of 10,000 documents: made, sent between processes, never read)
    fixes: bool = True
    # the compliance and risk scores (report.extra["scores"]): the JSON, HTML and Markdown
    # reports, scan's text summary and --compliance-threshold use them; a run that uses none
    # makes no per-resource records for them (~3.5% of a check of 10,000 documents)
    scores: bool = True


@dataclass
class Record:
    """One resource, for scores: its kind, weight, and the controls it failed/was excepted."""

    key: tuple[str, int, tuple[str | int, ...]]
    kind: str
    weight: float
    failed: set[str] = field(default_factory=set)
    excepted: set[str] = field(default_factory=set)


@dataclass
class FileResult:
    documents: list[DocumentResult] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)
    pending: list[Document] = field(default_factory=list)  # for cross-resource controls
    inventory: list[Any] = field(default_factory=list)
    errors: int = 0


# --- selecting controls ------------------------------------------------------------------------


@dataclass
class Selection:
    all: ControlSet
    selected: ControlSet
    frameworks: list[Framework]  # asked for (scores are reported for these)
    reported: list[Framework]  # frameworks scored in the report


def _tokens(values: Iterable[str]) -> list[str]:
    return [t.strip() for v in values for t in v.split(",") if t.strip()]


_TOOL_REFERENCES = frozenset(["kubescape", "checkov", "kube-score", "kube-linter", "trivy",
                              "polaris"])


def select_controls(options: ScanOptions) -> Selection:
    loaded = load_controls(options.controls_dirs, options.bundled)
    by_key: dict[str, set[str]] = {}
    for c in loaded.controls:
        by_key.setdefault(c.id, set()).add(c.id)
        by_key.setdefault(c.name, set()).add(c.id)
    # other tools' ids (Kubescape's C-0057, Checkov's CKV_K8S_16...), through the references:
    # `kubescape scan control C-0057` becomes `socle scan --controls C-0057`
    by_reference: dict[str, set[str]] = {}
    for c in loaded.controls:
        for tool, refs in c.references.items():
            if tool in _TOOL_REFERENCES:
                for ref in refs:
                    by_reference.setdefault(str(ref).upper(), set()).add(c.id)

    def ids_of(token: str, flag: str) -> set[str]:
        found = by_key.get(token) or by_reference.get(token.upper())
        if not found:
            raise UsageError(f"unknown control {token!r} in {flag} (a socle id or name, or a "
                             "Kubescape, Checkov, Trivy, kube-score, kube-linter or Polaris "
                             "id)")
        return found

    asked = resolve(options.frameworks, options.framework_files, loaded)
    if asked:
        ids = {c.id for fw in asked for c in fw.members(loaded)}
    else:
        ids = {c.id for c in loaded.controls}
    include = _tokens(options.include)
    if include:
        wanted = {i for t in include for i in ids_of(t, "--controls")}
        ids = ids & wanted if asked else wanted
    ids -= {i for t in _tokens(options.exclude) for i in ids_of(t, "--exclude-controls")}
    selected = loaded.select(ids)
    reported = asked or [fw for fw in bundled().values() if fw.members(selected)]
    return Selection(loaded, selected, asked, reported)


# --- the engine --------------------------------------------------------------------------------


def _pointer(path: Iterable[str | int]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


_POINTERS: dict[tuple[str | int, ...], str] = {}  # findings of one control share their paths


def _pointer_of(keys: list[str | int]) -> str:
    key = tuple(keys)
    out = _POINTERS.get(key)
    if out is None:
        out = _pointer(keys)
        if len(_POINTERS) < 65536:
            _POINTERS[key] = out
    return out


def _inventory_index(by_kind: dict[str, list[Any]]) -> dict[str, dict[str, list[Any]]] | None:
    """kind -> namespace -> resources, in inventory order (``data.socle.inventory_index``, read
    by ``k8s.inventory_in``): the namespace is read as the lib reads it (``metadata.namespace``,
    "default" when unset); resources whose namespace is not a string are left out (only a
    non-string namespace could match them, and the lib scans the inventory for those). None when
    a resource's metadata is not an object (the lib's scan decides what that means)."""
    out: dict[str, dict[str, list[Any]]] = {}
    for kind, objs in by_kind.items():
        by_ns: dict[str, list[Any]] = {}
        for obj in objs:
            meta = obj.get("metadata", {})
            if not isinstance(meta, dict):
                return None
            ns = meta.get("namespace", "default")
            if isinstance(ns, str):
                by_ns.setdefault(ns, []).append(obj)
        out[kind] = by_ns
    return out


def _pod_selector_index(index: dict[str, dict[str, list[Any]]]) -> dict[str, Any]:
    """kind -> namespace -> {"by": {key: {value: [resources]}}, "any": [resources]} for the
    kinds with a ``spec.podSelector`` (NetworkPolicy): a resource whose selector has a
    matchLabels entry with a string value is filed under its first such entry (it can select
    only pods carrying that label), every other one under "any". ``k8s.pod_selector_candidates``
    reads it: the candidates for a pod are "any" plus the resources filed under its labels."""
    out: dict[str, Any] = {}
    for kind, by_ns in index.items():
        if not any(isinstance(o.get("spec"), dict) and isinstance(o["spec"].get("podSelector"),
                                                                   dict)
                   for objs in by_ns.values() for o in objs):
            continue
        kind_out: dict[str, Any] = {}
        for ns, objs in by_ns.items():
            by: dict[str, dict[str, list[Any]]] = {}
            rest: list[Any] = []
            for o in objs:
                spec = o.get("spec")
                sel = spec.get("podSelector") if isinstance(spec, dict) else None
                labels = sel.get("matchLabels") if isinstance(sel, dict) else None
                entry = None
                if isinstance(labels, dict):
                    entry = next(((k, v) for k, v in labels.items()
                                  if isinstance(k, str) and isinstance(v, str)), None)
                if entry is None:
                    rest.append(o)
                else:
                    by.setdefault(entry[0], {}).setdefault(entry[1], []).append(o)
            kind_out[ns] = {"by": by, "any": rest}
        out[kind] = kind_out
    return out


def _name_index(index: dict[str, dict[str, list[Any]]]
                ) -> dict[str, dict[str, dict[str, list[Any]]]]:
    """kind -> namespace -> name -> resources (string names only), for ``k8s.named``."""
    out: dict[str, dict[str, dict[str, list[Any]]]] = {}
    for kind, by_ns in index.items():
        kind_out = out[kind] = {}
        for ns, objs in by_ns.items():
            names: dict[str, list[Any]] = {}
            for o in objs:
                name = o.get("metadata", {}).get("name", "")
                if isinstance(name, str):
                    names.setdefault(name, []).append(o)
            kind_out[ns] = names
    return out


def _subject_index(by_kind: dict[str, list[Any]]) -> dict[str, dict[str, list[Any]]]:
    """kind -> subject name -> resources (RoleBindings, ClusterRoleBindings: whatever has
    ``subjects``), each resource once per name in inventory order, for
    ``k8s.subject_candidates``."""
    out: dict[str, dict[str, list[Any]]] = {}
    for kind, objs in by_kind.items():
        names: dict[str, list[Any]] = {}
        for o in objs:
            subjects = o.get("subjects")
            items = subjects.values() if isinstance(subjects, dict) else (
                subjects if isinstance(subjects, list) else ())
            seen: set[str] = set()
            for subject in items:
                name = subject.get("name") if isinstance(subject, dict) else None
                if isinstance(name, str) and name not in seen:
                    seen.add(name)
                    names.setdefault(name, []).append(o)
        if names:
            out[kind] = names
    return out


# groups of at most this many controls get an engine of their own (see Scanner) after this many
# documents (building one costs about what it saves on 100 documents)
_SMALL_GROUP = 16
_OWN_ENGINE_AFTER = 100


class Scanner:
    """Evaluates one set of controls over documents (one per process)."""

    def __init__(self, controls: list[Control], libraries: dict[str, str],
                 inputs: dict[str, Any], exceptions: Exceptions, engine: str = DEFAULT_ENGINE,
                 inventory: list[Any] | None = None, frameworks: dict[str, list[str]]
                 | None = None, cross_kinds: set[str] | None = None,
                 inventory_kinds: set[str] | None = None, fixes: bool = True,
                 scores: bool = True) -> None:
        self.controls = {c.id: c for c in controls}
        self.fixes = fixes  # (see ScanOptions.fixes)
        self.scores = scores  # records for the scores (see ScanOptions.scores)
        self.exceptions = exceptions
        self.cross_kinds = cross_kinds or set()  # kinds phase 2 needs back (with "*")
        self.inventory_kinds = inventory_kinds  # what phase 2 reads of the inventory (None: all)
        data: dict[str, Any] = {"inputs": inputs}
        if inventory is not None:
            data["inventory"] = inventory
            # the same resources by kind, built once here: a control that looks up one kind
            # reads data.socle.inventory_by_kind[kind] instead of filtering the whole list for
            # every document (which is quadratic on large inputs)
            by_kind: dict[str, list[Any]] = {}
            for obj in inventory:
                kind = obj.get("kind") if isinstance(obj, dict) else None
                by_kind.setdefault(kind if isinstance(kind, str) else "", []).append(obj)
            data["inventory_by_kind"] = by_kind
            data["subject_index"] = _subject_index(by_kind)
            index = _inventory_index(by_kind)
            if index is not None:
                data["inventory_index"] = index
                data["pod_selector_index"] = _pod_selector_index(index)
                data["name_index"] = _name_index(index)
        self.references: dict[str, dict[str, list[str]]] = {}
        for c in controls:
            refs = {k: list(v) for k, v in c.references.items()}
            fws = (frameworks or {}).get(c.id)
            if fws:
                refs["frameworks"] = list(fws)
            self.references[c.id] = refs
        # one aggregator module per distinct set of controls a kind triggers
        self.groups: dict[frozenset[str], tuple[str, list[Control]]] = {}
        self.by_kind: dict[str, tuple[str, list[Control]] | None] = {}
        sources: dict[str, tuple[str, str]] = {}  # aggregator rule -> (path, module)
        kinds = sorted({k for c in controls for k in c.kinds if k != "*"})
        for kind in kinds:
            self.by_kind[kind] = self._group([c for c in controls if c.applies_to(kind)],
                                             sources)
        self.default_group = self._group([c for c in controls if "*" in c.kinds], sources)
        # Engines. One engine holds every control and every aggregator. regorus pays, at every
        # evaluation, a fixed cost that grows with the Rego loaded, so a small group (a
        # ServiceAccount's 2 controls, a Role's 13) gets an engine of its own holding only its
        # controls (30-40% faster per document) once it has seen enough documents to pay for
        # building it. Not in phase 2 (the inventory would be converted once per engine).
        self._engine_name = engine
        self._libraries = libraries
        self._data = data
        self._lazy: dict[str, tuple[list[Control], tuple[str, str]]] = {}
        self._seen: dict[str, int] = {}
        self._shared = self._build(engine, libraries, controls, list(sources.values()), data)
        self._engines: dict[str, Engine] = {}
        for rule, members in self.groups.values():
            # (the compiled engine's cost does not grow with the Rego loaded: one is enough)
            if not inventory and len(members) <= _SMALL_GROUP and engine == "regorus":
                self._lazy[rule] = (members, sources[rule])
                self._seen[rule] = 0

    def _engine_for(self, rule: str) -> Engine:
        engine = self._engines.get(rule)
        if engine is not None:
            return engine
        if rule in self._lazy:
            self._seen[rule] += 1
            if self._seen[rule] > _OWN_ENGINE_AFTER:
                members, source = self._lazy.pop(rule)
                engine = self._build(self._engine_name, self._libraries, members, [source],
                                     self._data)
                self._engines[rule] = engine
                return engine
        return self._shared

    @staticmethod
    def _build(name: str, libraries: dict[str, str], controls: list[Control],
               aggregators: list[tuple[str, str]], data: dict[str, Any]) -> Engine:
        from socle.policy.engine import create_engine

        engine = create_engine(name, "v1")
        for path, source in libraries.items():
            engine.add_policy(path, source)
        for c in controls:
            engine.add_policy(c.rego_path, c.rego)
        for path, source in aggregators:
            engine.add_policy(path, source)
        engine.add_data({"socle": data})
        engine.prepare()
        return engine

    def _group(self, members: list[Control], sources: dict[str, tuple[str, str]]
               ) -> tuple[str, list[Control]] | None:
        if not members:
            return None
        key = frozenset(c.id for c in members)
        if key in self.groups:
            return self.groups[key]
        n = len(self.groups)
        entries = ",\n\t\t".join(f'"{c.id}": data.{c.package}.deny' for c in members)
        source = (f"package socle_scan.g{n}\n\nimport rego.v1\n\n"
                  "# generated by socle scan: every control this kind triggers, in one query\n"
                  f"results := {{id: r |\n\tsome id, r in {{\n\t\t{entries},\n\t}}\n"
                  "\tcount(r) > 0\n}\n")
        group = (f"socle_scan.g{n}.results", members)
        sources[group[0]] = (f"<socle scan group {n}>", source)
        self.groups[key] = group
        return group

    def group_for(self, kind: str) -> tuple[str, list[Control]] | None:
        if kind in self.by_kind:
            return self.by_kind[kind]
        return self.default_group

    def evaluate(self, doc: Document, rule: str, members: list[Control]
                 ) -> tuple[dict[str, list[Any]], list[str]]:
        """Results by control id, and the controls that failed to evaluate (with why)."""
        engine = self._engine_for(rule)
        try:
            # the compiled engine's sets unsorted (sorting findings in OPA's order of objects
            # cost ~2% of a check): _finding converts them, scan_document orders them
            unsorted = getattr(engine, "eval_rule_unsorted", None)
            value = (unsorted(rule, doc.obj) if unsorted is not None
                     else engine.eval_rule(rule, doc.obj))
        except PolicyError:
            value = None
        if isinstance(value, dict):
            return value, []
        # a control broke (or has no deny): evaluate them one by one, keep the others' results
        failed: list[str] = []
        out: dict[str, list[Any]] = {}
        for c in members:
            try:
                res = engine.eval_rule(f"{c.package}.deny", doc.obj)
            except PolicyError as err:
                failed.append(f"{c.id} ({c.name}): {err.message}")
                continue
            if res:
                out[c.id] = res
        return out, failed

    # -- documents ------------------------------------------------------------------------

    def scan_document(self, doc: Document, out: FileResult, phase: int = 1,
                      collect: bool = False) -> None:
        if doc.error is not None:
            err = doc.error
            out.errors += 1
            out.findings.append(Finding(
                "input/parse-error", err.message, Severity.HIGH, "input", Resource(),
                doc.file, err.line or doc.line, err.column or 0, doc.index))
            out.documents.append(DocumentResult(doc.file, doc.index, doc.line, Resource(),
                                                Status.ERROR, err.message))
            return
        obj = doc.obj
        if isinstance(obj, dict) and obj.get("kind") == "List" and isinstance(
                obj.get("items"), list):
            # the items share the List's text: its composed positions (only needed where the
            # fast line lookup gives up) are computed once, on demand, for all of them
            once = _Once(doc._locate)
            if doc.format == "json" and not doc.base_path:
                once.root = obj
            for i, item in enumerate(obj["items"]):
                child = Document(obj=item, file=doc.file, index=doc.index, line=doc.line,
                                 text=doc.text, format=doc.format,
                                 base_path=(*doc.base_path, "items", i), _locate=once,
                                 origin=doc.origin or doc.line)
                if doc._positions is not None:
                    child._positions = doc._positions
                child.line = position(child, [])[0]
                self.scan_document(child, out, phase, collect)
            return
        resource = doc.resource
        kind = resource.kind
        if not isinstance(obj, dict) or not kind:
            if phase == 1:
                out.documents.append(DocumentResult(doc.file, doc.index, doc.line, resource,
                                                    Status.SKIPPED, "not a Kubernetes resource"))
            return
        if collect:
            if self.inventory_kinds is None or kind in self.inventory_kinds:
                out.inventory.append(obj)
            if kind in self.cross_kinds or "*" in self.cross_kinds:
                doc._positions = None
                out.pending.append(doc)
        result = DocumentResult(doc.file, doc.index, doc.line, resource, Status.VALID)
        if phase == 1:
            out.documents.append(result)
        record = None  # (none for a run without scores: see ScanOptions.scores)
        if self.scores:
            record = Record((doc.file, doc.index, doc.base_path), kind, resource_weight(obj))
            out.records.append(record)
        inline = self.exceptions.inline(obj) if isinstance(obj.get("metadata"), dict) else None
        if inline is not None and phase == 1:
            for rule_id, message, path in inline.problems:
                line, column = position(doc, list(path))
                out.findings.append(Finding(
                    rule_id, message, Severity.HIGH, "security", resource, doc.file, line,
                    column, doc.index, _pointer(path), title=RULES[rule_id].title,
                    remediation=RULES[rule_id].help, extra={"status": "failed"}))
                result.status = Status.INVALID
        group = self.group_for(kind)
        if group is None:
            return
        rule, members = group
        found, broken = self.evaluate(doc, rule, members)
        for why in broken:
            out.errors += 1
            out.findings.append(Finding(
                "control/error", f"control failed to evaluate: {why}", Severity.HIGH, "input",
                resource, doc.file, doc.line, 0, doc.index))
        if not found:
            return
        labels: dict[str, Any] = {}
        meta = obj.get("metadata")
        if isinstance(meta, dict) and isinstance(meta.get("labels"), dict):
            labels = meta["labels"]
        for cid in sorted(found):
            control = self.controls.get(cid)
            results = found[cid]
            if control is None or not isinstance(results, list):
                continue
            exc = self.exceptions.lookup(inline or _EMPTY_INLINE, control, resource, labels)
            if exc is None:
                result.status = Status.INVALID
                if record is not None:
                    record.failed.add(cid)
            elif record is not None:
                record.excepted.add(cid)
            if len(results) == 1:
                out.findings.append(self._finding(doc, resource, control, results[0], exc))
            else:
                # in the order the control made them (see evaluate), then by place and message:
                # the same order whatever the engine
                made = [self._finding(doc, resource, control, r, exc) for r in results]
                made.sort(key=_PLACE)
                out.findings.extend(made)

    def _finding(self, doc: Document, resource: Resource, control: Control, r: Any,
                 exc: Any) -> Finding:
        # (``r`` as the control made it: Rego sets and whole floats become JSON here, where
        # read; see CompiledEngine.eval_rule_unsorted)
        if type(r) is not dict:
            r = {"msg": str(to_json(r))}
        path = r.get("path")
        keys: list[str | int] = []
        if path is not None and type(path) is not list:
            path = to_json(path)
        if isinstance(path, list):
            # (most paths hold only strings and integers: then the list itself)
            keys = path if _KEY_TYPES.issuperset(map(type, path)) else [
                p if isinstance(p, (int, str)) and not isinstance(p, bool) else str(p)
                for p in to_json(path)]
        if doc.text is None and type(doc._index) is Reread:
            _reread(doc, doc._index)  # (phase 2: read again only where a finding needs a line)
        line, column = position(doc, keys)
        extra: dict[str, Any] = {"status": "failed" if exc is None else "excepted"}
        if "evidence" in r:
            evidence = r["evidence"]
            kind = type(evidence)
            extra["evidence"] = evidence if (kind is str or kind is int or kind is bool
                                             or evidence is None) else to_json(evidence)
        fix = r.get("fix") if self.fixes else None
        if fix is not None and type(fix) is not list:
            fix = to_json(fix)
        if isinstance(fix, list) and fix:
            ops = []
            for op in fix:
                if isinstance(op, dict):
                    op = to_json(op)  # (a new object: the control's is left as it is)
                    if isinstance(op.get("path"), list):
                        op["path"] = [*doc.base_path, *op["path"]]
                        ops.append(op)
            if ops:
                extra["fix"] = ops
        if exc is not None:
            extra["exception"] = exc.to_dict()
        message = r.get("msg")
        if message is not None and type(message) is not str:
            message = to_json(message)
        return Finding(
            rule_id=control.id, title=control.title, message=str(message or control.title),
            severity=control.severity, source="security", resource=resource, file=doc.file,
            line=line, column=column, document_index=doc.index, path=_pointer_of(keys),
            remediation=control.remediation, references=self.references.get(control.id, {}),
            help_uri=control.help_uri, extra=extra)


_EMPTY_INLINE = Inline()
_KEY_TYPES = frozenset((str, int))  # a path's keys as they are (a bool is not an int here)
_PLACE = operator.attrgetter("line", "column", "message", "path")  # one control's findings


class _Once:
    """A document's position function computing its map once (shared by a List's items);
    pickled as the function (and a JSON List's value) alone, not the map (documents go back
    and forth between processes)."""

    __slots__ = ("locate", "map", "root")

    def __init__(self, locate: Any) -> None:
        self.locate = locate
        self.map: Any = None
        self.root: Any = None  # a JSON List's decoded value, for its lines (see position)

    def __call__(self, text: str) -> Any:
        if self.map is None:
            self.map = self.locate(text) if self.locate is not None else {}
        return self.map

    def __reduce__(self) -> tuple[Any, ...]:
        # (a JSON List's value goes along for the cross-resource phase's lines: its items are
        # sent anyway, as the documents' values)
        return (_Once, (self.locate,), None) if self.root is None else \
            (_once_with_root, (self.locate, self.root))


def _once_with_root(locate: Any, root: Any) -> _Once:
    once = _Once(locate)
    once.root = root
    return once


# --- one file --------------------------------------------------------------------------------


def _iter_file_documents(source: Source, data: bytes) -> Iterator[Document]:
    from socle.formats.json import manifest_documents
    from socle.formats.yaml import iter_documents

    name = source.display
    docs = manifest_documents(source.path, data, name)
    if docs is not None:
        yield from docs
        return
    yield from iter_documents(data, name)


def scan_source(source: Source, scanner: Scanner, data: bytes | None = None,
                collect: bool = False) -> FileResult:
    out = FileResult()
    name = source.display
    try:
        if data is None:
            data = source.read()
        for doc in _iter_file_documents(source, data):
            scanner.scan_document(doc, out, 1, collect)
    except (InputError, OSError) as err:
        unreadable(out, name, err)
    return out


def scan_piece(piece: Piece, scanner: Scanner, collect: bool = False) -> FileResult:
    """A piece of a large file (see :mod:`socle.formats.pieces`), as :func:`scan_source`
    scans the whole file."""
    from socle.formats.pieces import piece_documents

    out = FileResult()
    try:
        for doc in piece_documents(piece, False, True):
            scanner.scan_document(doc, out, 1, collect)
    except InputError as err:
        unreadable(out, piece.file, err)
    return out


# --- worker processes --------------------------------------------------------------------------

_FACTORY: Any = None  # set in the parent before forking; a callable building the Scanner
_WORKER: Scanner | None = None


def _init_worker() -> None:
    global _WORKER
    from socle.formats.yaml import quiet_native_stderr

    quiet_native_stderr().__enter__()
    assert _FACTORY is not None
    _WORKER = _FACTORY()


def _work(items: list[str | Piece], collect: bool) -> list[FileResult]:
    assert _WORKER is not None
    if _GC_WAS_ON:
        # the collector stays paused in the workers too (inherited) and runs here, between
        # two batches (as socle check's workers do)
        gc.collect()
    out = [_scan_item(item, _WORKER, collect) for item in items]
    for item, result in zip(items, out, strict=True):
        leave_texts(result.pending, item)  # (read again where phase 2 needs them)
    return out


def _scan_item(item: str | Piece, scanner: Scanner, collect: bool) -> FileResult:
    """One work item: a file's path or a piece of a large file."""
    if isinstance(item, str):
        return scan_source(Source(item), scanner, collect=collect)
    return scan_piece(item, scanner, collect)


# --- documents' texts left in the worker that read them -----------------------------------------


@dataclass(frozen=True, slots=True)
class Reread:
    """Where phase 2 reads a pending document's text again: it stayed in the worker process
    that read the file (see :func:`leave_texts`). ``length`` and ``digest`` (``hash`` of the
    text: forked processes share the hash seed) tell whether the file still holds it."""

    path: str
    length: int
    digest: int


def leave_texts(pending: list[Document], item: str | Piece) -> None:
    """Before a worker sends ``pending`` (read from the file at ``path``) to its parent: the
    documents' texts stay here, and a :class:`Reread` goes instead (in ``_index``, in place of
    the line index built from the text, which stays too). On the benchmark corpus the texts
    were half of what workers sent, and leaving them made ``socle check`` ~3% faster; phase 2
    reads a file again (decoding and cutting it, not parsing) only when a control's finding on
    one of its documents needs a line."""
    if not pending or not isinstance(item, str) or item == "-" or not os.path.isfile(item):
        # (a piece's texts came from this run's parent; a pipe or a device gives its bytes
        # once: their documents keep their texts)
        return
    path = item
    for doc in pending:
        text = doc.text
        if text is not None and doc.format in ("yaml", "json"):
            doc.text = None
            doc._index = Reread(path, len(text), hash(text))


_REREAD: list[Any] = [None, None]  # the last file read again: [Reread.path, its texts]


def _reread(doc: Document, ref: Reread) -> None:
    """Put back the text :func:`leave_texts` left behind (nothing when the file changed)."""
    from socle.formats.yaml import decode, split_documents

    doc._index = None
    if _REREAD[0] != ref.path:
        _REREAD[0], _REREAD[1] = ref.path, None
        try:
            if not os.path.isfile(ref.path):  # (replaced by a pipe: reading it could block)
                raise OSError(ref.path)
            whole = decode(Source(ref.path).read(), doc.file)
            _REREAD[1] = (whole, [chunk for _line, chunk in split_documents(whole)])
        except (InputError, OSError):
            pass
    texts = _REREAD[1]
    if texts is None:
        return
    # a JSON document is its file's whole text, a YAML one its part of the stream
    text: str | None = texts[0] if doc.format == "json" else (
        texts[1][doc.index] if doc.index < len(texts[1]) else None)
    if text is not None and len(text) == ref.length and hash(text) == ref.digest:
        doc.text = text


_PENDING: list[Document] = []  # phase 2's documents, set before forking (inherited, not sent)


def _work_cross_range(span: tuple[int, int]) -> FileResult:
    return _work_cross(_PENDING[span[0]:span[1]])


def _work_cross(docs: list[Document]) -> FileResult:
    assert _WORKER is not None
    out = FileResult()
    for doc in docs:
        try:
            _WORKER.scan_document(doc, out, 2)
        except InputError as err:
            out.errors += 1
            out.findings.append(Finding("input/parse-error", err.message, Severity.HIGH,
                                        "input", Resource(), err.file or doc.file,
                                        err.line or 0))
        except SocleError as err:  # a control that could not be evaluated on this document
            out.errors += 1
            out.findings.append(Finding("control/error", err.message, Severity.HIGH, "input",
                                        doc.resource, doc.file, doc.line, 0, doc.index))
    return out


def _pool(workers: int) -> ProcessPoolExecutor:
    """Forked workers (open under :func:`socle.core.collector.frozen`)."""
    from socle.core.workers import fork_pool

    return fork_pool(workers, _init_worker)


def _answer(fut: Future[_R], items: list[str | Piece] | None) -> _R:
    """A worker's answer (for ``items``, or the cross-resource phase's when None); a worker
    that died (the out-of-memory killer, a signal) is one error naming them."""
    from concurrent.futures.process import BrokenProcessPool

    from socle.formats.pieces import files_of

    try:
        return fut.result()
    except BrokenProcessPool:
        what = f"scanning {files_of(items)}" if items else "running the cross-resource controls"
        raise InputError(f"a worker process died while {what}") from None


# --- cross-resource controls that need no second phase -----------------------------------------

# escapes that could spell a letter or a digit of a kind's name (JSON's and YAML's \u00XX,
# YAML's \xXX and \U000000XX) or join two lines of one (an escaped line break in a double-quoted
# YAML string): where a file holds one, any kind may be in it
_SPELLED = re.compile(
    rb"\\(?:(?:x|u00|U000000)(?:3[0-9]|4[1-9A-Fa-f]|5[0-9Aa]|6[1-9A-Fa-f]|7[0-9Aa])|\r|\n)")
# an explicit key ("? kind", a comment may come before its ":"): any kind may follow
_EXPLICIT_KEY = re.compile(rb"(?:^|[\n{,\[])[ \t]*(?:-[ \t]+)*\?(?:[ \t]|\r|\n|$)")


_KIND_KEY = re.compile(rb"""kind["']?\s*:[ \t]*(["']?)([A-Za-z0-9]*)""")
_FIRST_WORD = re.compile(rb"""["']?([A-Za-z0-9]+)""")


def kinds_in(data: bytes | str, names: Iterable[str]) -> set[str]:
    """Which of ``names`` (kinds) a file may hold resources of, read from the values of its
    ``kind`` keys without parsing it: never fewer than it holds. Where a value could be a
    kind written otherwise (an alias, a tag, a block scalar, an escape that spells a letter,
    UTF-16), every name is taken as held."""
    wanted = set(names)
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if b"\x00" in raw or raw.startswith((b"\xff\xfe", b"\xfe\xff")) or (
            b"\\" in raw and _SPELLED.search(raw)) or (b"?" in raw and _EXPLICIT_KEY.search(raw)):
        return wanted
    if b"\r" in raw:  # (old Mac line ends: the value's line is found by its LF)
        raw = raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    values: set[bytes] = set()
    for m in _KIND_KEY.finditer(raw):
        word = m.group(2)
        if word:
            values.add(word)
            continue
        if m.group(1):
            continue  # a quoted value that does not start with a letter or digit: no kind
        after = raw[m.end():m.end() + 1]
        if after in (b"", b",", b"}", b"]", b"{", b"[", b"~"):
            continue  # nothing, or a collection
        if after not in (b"\n", b"#"):
            return wanted  # an alias, anchor, tag or block scalar
        # the value is on a later line: a block mapping or sequence (a CRD's schema of a kind
        # field), or a scalar (a kind only if that line is one word)
        at = raw.find(b"\n", m.end())
        while at >= 0:
            line = raw[at + 1:raw.find(b"\n", at + 1) if raw.find(b"\n", at + 1) >= 0
                       else len(raw)].strip()
            if line and not line.startswith(b"#"):
                break
            at = raw.find(b"\n", at + 1)
        else:
            continue
        first = _FIRST_WORD.match(line)
        if first is not None:
            values.add(first.group(1))  # (the first word of a scalar, or of a key below)
        elif line[:1] not in (b"-", b"?", b"{", b"["):
            return wanted  # not a sequence, a complex key or a flow collection
    return {n for n in wanted if n.encode() in values}


class KindScan:
    """Which kinds of those ``cross`` reads or looks at the input holds, fed every file's bytes
    (or a piece's texts) in turn; then :meth:`early`. See :func:`first_phase_controls`."""

    def __init__(self, cross: list[Control]) -> None:
        self.cross = cross
        self.names: set[str] = set()
        for c in cross:
            self.names |= c.inventory or set()
            if "*" not in c.kinds:
                self.names |= c.kinds
        self.present: set[str] = set()

    @property
    def done(self) -> bool:
        return self.present >= self.names

    def feed(self, data: bytes | str) -> None:
        if not self.done:
            self.present |= kinds_in(data, self.names - self.present)

    def read(self, sources: list[Source], stdin: bytes | None,
             split: dict[str, list[Piece]] | None = None) -> None:
        """Feed every input: a file's bytes, or the texts of the pieces it was cut into."""
        for source in sources:
            if self.done:
                break
            pieces = (split or {}).get(source.path)
            try:
                if pieces is not None:
                    for piece in pieces:
                        for _index, _line, text in piece.parts:
                            self.feed(text)
                else:
                    self.feed((stdin if source.is_stdin else source.read()) or b"")
            except OSError:
                continue  # (reported when the file is read again; none of its resources)

    def early(self) -> list[Control]:
        """The controls that can run in the first phase, on an empty inventory."""
        return runs_early(self.cross, self.present)


def runs_early(cross: list[Control], present: set[str]) -> list[Control]:
    """Those of ``cross`` that can run in the first phase, on an empty inventory, when the
    input holds resources of the kinds ``present`` (and maybe others, not named by them)."""
    return [c for c in cross if (c.inventory is not None and not c.inventory & present)
            or ("*" not in c.kinds and not c.kinds & present)]


def move_early(local: list[Control], cross: list[Control], early: list[Control]
               ) -> tuple[list[Control], list[Control]]:
    """The first and second phases' controls once those of ``cross`` in ``early`` (see
    :func:`runs_early`) have joined the first."""
    if not early:
        return local, cross
    return [*local, *early], [c for c in cross if c not in early]


def first_phase_controls(cross: list[Control], sources: list[Source], stdin: bytes | None,
                         split: dict[str, list[Piece]] | None = None) -> list[Control]:
    """The cross-resource controls that can run in the first phase, on an empty inventory:
    those that declare the kinds they read (``inventory`` in control.yaml) when the input
    holds none of them, and those with nothing to look at (none of their ``match.kinds`` in
    the input). The files are read for it (their ``kind`` keys, not parsed: ~25 ms for the
    1,000 files of the benchmark corpus, where seven of the eight bundled ones move; ``socle
    check`` looks while it reads them for CRDs)."""
    scan = KindScan(cross)
    scan.read(sources, stdin, split)
    return scan.early()


def inventory_kinds(cross: list[Control]) -> set[str] | None:
    """The kinds the second phase's controls read (None: any), the only ones the first phase
    keeps in the inventory (see :func:`first_phase_controls`)."""
    if any(c.inventory is None for c in cross):
        return None
    return set().union(*(c.inventory or () for c in cross))


# --- the whole run -----------------------------------------------------------------------------


def _framework_names(selection: Selection) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for fw in bundled().values():
        for c in fw.members(selection.selected):
            out.setdefault(c.id, []).append(fw.name)
    return out


def prepare(options: ScanOptions, today: dt.date | None = None
            ) -> tuple[Selection, dict[str, Any], Exceptions, dict[str, list[str]]]:
    """What every scan needs first (``socle scan`` and ``socle check``): the controls, their
    inputs, exceptions (expiring against ``options.today``, else ``today``, else the real
    date), framework names."""
    selection = select_controls(options)
    inputs = {**default_inputs(selection.all), **options.inputs}
    rules = load_exceptions_file(options.exceptions_file) if options.exceptions_file else []
    exceptions = Exceptions(selection.all.controls, rules, options.today or today)
    return selection, inputs, exceptions, _framework_names(selection)


_GC_WAS_ON = True  # whether the collector was on when scan_paths started (for the workers)


def scan_paths(paths: list[str], options: ScanOptions) -> Report:
    """Scan ``paths``: one report (with the cycle collector paused, as ``socle check`` and
    ``socle validate`` run: see :mod:`socle.core.collector`; a full collection walked the
    run's heap in the middle of sorting the findings, ~0.35 s of a 2.3 s scan)."""
    global _GC_WAS_ON
    with collector.paused() as was_on:
        _GC_WAS_ON = was_on
        return _scan_paths(paths, options)


def _scan_paths(paths: list[str], options: ScanOptions) -> Report:
    global _FACTORY
    from socle.formats.yaml import quiet_native_stderr

    selection, inputs, exceptions, fw_names = prepare(options)
    controls = selection.selected
    local = [c for c in controls.controls if not c.cross_resource]
    cross = [c for c in controls.controls if c.cross_resource]

    report = Report(command="scan")
    report.rules.update(RULES)
    for c in controls.controls:
        report.rules[c.id] = Rule(c.id, c.title, c.remediation, c.help_uri, c.severity)
    sources = list(discover(paths, ignore=compile_patterns(options.ignore_filename_patterns)))
    report.files = len(sources)
    report.stdin = len(sources) == 1 and sources[0].is_stdin
    stdin_data = Source("-").read() if any(s.is_stdin for s in sources) else None
    files = [s for s in sources if not s.is_stdin]

    from socle.formats.pieces import plan

    results: list[FileResult] = []
    workers = (options.workers or cores()) if forkable(options.engine) else 1
    work = plan(files, stdin_data, workers)  # (a large file or stream: pieces)
    # (those that read kinds the input does not hold: the first phase can run them)
    local, cross = move_early(local, cross,
                              first_phase_controls(cross, sources, stdin_data, work.split))
    cross_kinds = {k for c in cross for k in c.kinds}
    collect = bool(cross)

    def phase1() -> Scanner:
        # (on an empty inventory: what a cross-resource control run here sees)
        return Scanner(local, controls.libraries, inputs, exceptions, options.engine,
                       inventory=[], frameworks=fw_names, cross_kinds=cross_kinds,
                       inventory_kinds=inventory_kinds(cross), fixes=options.fixes,
                       scores=options.scores)

    progress = Progress("scanning files", work.steps(len(sources)), enabled=options.progress)
    try:
        # built once here, before the workers fork, so they inherit the compiled controls
        scanner = phase1()
        if stdin_data is not None and "-" not in work.split:
            with quiet_native_stderr():
                results.append(scan_source(Source("-"), scanner, stdin_data, collect))
            progress.advance()
        if work.parallel:
            from functools import partial

            _FACTORY = lambda: scanner  # noqa: E731
            try:
                # this process scans files too, between handing them out (see share)
                with collector.frozen(), _pool(workers - 1) as pool, quiet_native_stderr():
                    results.extend(share(pool, workers - 1, work.items,
                                         partial(_work, collect=collect),
                                         lambda item: _scan_item(item, scanner, collect),
                                         collect=_answer,
                                         done=lambda c: progress.advance(work.done(c))))
            finally:
                _FACTORY = None
        else:
            assert scanner is not None
            with quiet_native_stderr():
                for s in files:
                    results.append(scan_source(s, scanner, collect=collect))
                    progress.advance()
    finally:
        progress.close()

    if cross:
        inventory = [o for r in results for o in r.inventory]
        pending = [d for r in results for d in r.pending]
        results.append(cross_phase(cross, controls.libraries, inputs, exceptions, options,
                                   inventory, pending, fw_names, workers))

    _finish(report, results, selection, exceptions, options.scores)
    collector.let_go((results, scanner))  # (freeing them costs more than scanning them)
    return report


def merge_record(records: dict[Any, Record], rec: Record) -> None:
    """Add ``rec`` to ``records`` (by key): a resource seen by both phases is one record."""
    known = records.get(rec.key)
    if known is None:
        records[rec.key] = rec
    else:
        known.failed |= rec.failed
        known.excepted |= rec.excepted


def _finish(report: Report, results: list[FileResult], selection: Selection,
            exceptions: Exceptions, scores: bool = True) -> Report:
    """Merge the results into the report: findings, excepted ones, per-resource scores."""
    controls = selection.selected
    records: dict[Any, Record] = {}
    for r in results:
        report.documents.extend(r.documents)
        report.errors += r.errors
        for f in r.findings:
            if f.extra.get("status") == "excepted":
                report.extra.setdefault("excepted", []).append(f)
            else:
                report.findings.append(f)
        for rec in r.records:
            merge_record(records, rec)
    _mark_invalid(report)
    report.findings.extend(expired_file_findings(exceptions))
    if scores:
        report.extra["scores"] = score(selection, records.values())
    report.extra["controls"] = controls.controls
    report.extra["frameworks"] = selection.reported
    return report


def _cluster_object(obj: dict[str, Any]) -> dict[str, Any]:
    """A live object as its manifest would read: no ``status``, no ``metadata.managedFields``."""
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = out.get("metadata")
    if isinstance(meta, dict) and "managedFields" in meta:
        out["metadata"] = {k: v for k, v in meta.items() if k != "managedFields"}
    return out


def scan_objects(objects: list[dict[str, Any]], options: ScanOptions,
                 source: str = "cluster") -> Report:
    """Scan resources read from somewhere other than files (a live cluster) as
    :func:`scan_paths` scans documents: every object is a document of ``source`` (its index in
    ``objects``, line 0), cross-resource controls see all of them as the inventory. ``status``
    and ``metadata.managedFields`` are dropped first. Runs in this process (no workers)."""
    from socle.formats.yaml import quiet_native_stderr

    selection, inputs, exceptions, fw_names = prepare(options)
    controls = selection.selected
    local = [c for c in controls.controls if not c.cross_resource]
    cross = [c for c in controls.controls if c.cross_resource]
    present = {o["kind"] for o in objects if isinstance(o, dict) and isinstance(o.get("kind"), str)}
    local, cross = move_early(local, cross, runs_early(cross, present))  # (the objects' kinds)
    cross_kinds = {k for c in cross for k in c.kinds}

    report = Report(command="scan")
    report.rules.update(RULES)
    for c in controls.controls:
        report.rules[c.id] = Rule(c.id, c.title, c.remediation, c.help_uri, c.severity)
    out = FileResult()
    scanner = Scanner(local, controls.libraries, inputs, exceptions, options.engine,
                      inventory=[], frameworks=fw_names, cross_kinds=cross_kinds,
                      fixes=options.fixes, scores=options.scores)
    with quiet_native_stderr():
        for i, obj in enumerate(objects):
            doc = Document(obj=_cluster_object(obj), file=source, index=i, line=0, text=None,
                           format="json")
            scanner.scan_document(doc, out, 1, collect=bool(cross))
    results = [out]
    if cross:
        results.append(cross_phase(cross, controls.libraries, inputs, exceptions, options,
                                   out.inventory, out.pending, fw_names, 1))
    return _finish(report, results, selection, exceptions, options.scores)


# the second phase forks its workers when what is left would take this process longer than
# this (s): a fork of a large heap and two processes side by side cost ~0.1 s (5,959 documents
# of the benchmark corpus: 0.27 s alone, 0.23 s with a fork; 3,601 lighter ones: 0.083 s
# alone, 0.097 s with a fork)
_FORK_PAYS_AFTER = 0.15


def cross_phase(cross: list[Control], libraries: dict[str, str], inputs: dict[str, Any],
                exceptions: Exceptions, options: ScanOptions, inventory: list[Any],
                pending: list[Document], fw_names: dict[str, list[str]], workers: int
                ) -> FileResult:
    """Phase 2: the cross-resource controls over the documents phase 1 sent back, with the
    whole input's inventory as data (``socle scan`` and ``socle check`` share it); the
    engine, fix operations and scores as ``options`` say."""
    global _FACTORY, _WORKER, _PENDING

    scanner = Scanner(cross, libraries, inputs, exceptions, options.engine,
                      inventory=inventory, frameworks=fw_names, fixes=options.fixes,
                      scores=options.scores)  # (built before the workers fork)
    _REREAD[:] = [None, None]  # (files are read again as they are now)
    saved, _WORKER = _WORKER, scanner
    try:
        if workers < 2 or len(pending) <= 400:
            return _work_cross(pending)
        # this process takes spans from the end while workers - 1 forked ones take them from
        # the start, until they meet: one fork fewer (~20-50 ms for a large heap), and a
        # span done here is not pickled (two workers beside an idle parent took as long as
        # this process alone)
        size = max(50, len(pending) // (workers * 8))
        spans = [(i, i + size) for i in range(0, len(pending), size)]
        _FACTORY = lambda: scanner  # noqa: E731
        _PENDING = pending  # the workers inherit the documents: only their ranges are sent
        parts: list[FileResult | None] = [None] * len(spans)
        # the last span first, here: what it took tells whether the rest pays for a fork
        began = time.perf_counter()
        parts[-1] = _work_cross_range(spans[-1])
        if (time.perf_counter() - began) * (len(spans) - 1) < _FORK_PAYS_AFTER:
            for i in range(len(spans) - 1):
                parts[i] = _work_cross_range(spans[i])
        else:
            with collector.frozen(), _pool(workers - 1) as pool:
                futures = [pool.submit(_work_cross_range, span) for span in spans[:-1]]
                for i in range(len(spans) - 2, -1, -1):
                    if not futures[i].cancel():
                        break  # a worker has it, and every span before it
                    parts[i] = _work_cross_range(spans[i])
                for i, fut in enumerate(futures):
                    if parts[i] is None:
                        parts[i] = _answer(fut, None)
        out = FileResult()
        for part in parts:  # in the documents' order, whoever did them
            assert part is not None
            out.findings.extend(part.findings)
            out.records.extend(part.records)
            out.errors += part.errors
        return out
    finally:
        _WORKER = saved
        _FACTORY = None
        _PENDING = []
        collector.let_go(scanner)  # (its inventory indexes)


def _mark_invalid(report: Report) -> None:
    keys = {(f.file, f.document_index) for f in report.findings if f.source == "security"}
    for d in report.documents:
        if (d.file, d.index) in keys and d.status is Status.VALID:
            d.status = Status.INVALID


def score(selection: Selection, records: Iterable[Record]) -> Scores:
    controls = selection.selected.controls
    tallies: dict[str, ControlTally] = {c.id: ControlTally() for c in controls}
    # per kind: its resources' weights and the ids of the controls it is relevant to. A
    # resource failed or was excepted by few controls: those are looked at, not every relevant
    # one; each control gets the weights of its kinds' resources in one update per kind.
    by_kind: dict[str, tuple[dict[Any, float], set[str]]] = {}
    for rec in records:
        entry = by_kind.get(rec.kind)
        if entry is None:
            entry = by_kind[rec.kind] = ({}, {c.id for c in controls if c.applies_to(rec.kind)})
        key = rec.key
        entry[0][key] = rec.weight
        ids = entry[1]
        for cid in rec.failed:
            if cid in ids:
                tallies[cid].failed.add(key)
        for cid in rec.excepted:
            if cid in ids:
                tallies[cid].excepted.add(key)
    for weights, ids in by_kind.values():
        for cid in ids:
            tallies[cid].weights.update(weights)
    frameworks = {fw.name: fw.members(selection.selected) for fw in selection.reported}
    return compute(tallies, controls, frameworks)
