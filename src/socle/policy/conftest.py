"""The conftest-compatible runner behind ``socle test``.

Semantics follow conftest:

* policies: every ``*.rego`` under each ``--policy`` path (files or folders, recursively);
* rules: in each namespace (``main`` by default), rules named ``deny``/``violation`` with
  optional ``_suffix`` parts are failures, ``warn`` (``_suffix``) warnings. A value is a set of
  strings, or of objects with ``msg`` and any other keys (metadata); a boolean rule is a pass,
  true or false, as conftest reads it;
* exceptions: ``exception contains rules`` (v0 ``exception[rules]``) where ``rules`` lists
  rule names without the ``deny_``/``violation_``/``warn_`` prefix; an excepted rule's results
  are dropped and, as in conftest, the input gets one exception per time a group lists the
  rule, whether or not the rule had results (shown unless ``--suppress-exceptions``);
* inputs: each file is parsed with ``socle.formats`` (by extension, or ``--parser``); every
  document of a multi-document file is checked on its own, and so is every element of a file
  whose top-level value is an array (conftest does the same); ``--combine`` checks all files at
  once as ``[{"path": ..., "contents": ...}]``, one entry per document;
* builtins ``parse_config(parser, text)``, ``parse_config_file(path)`` and
  ``parse_combined_config_files(paths)``.

The engine is built once; each document costs one input swap and one evaluation per rule.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from socle.core.document import Document
from socle.core.errors import InputError, SocleError, UsageError
from socle.core.finding import DocumentResult, Finding, Report, Resource, Severity, Status
from socle.core.sources import Source, special, walked
from socle.policy.engine import DEFAULT_ENGINE, Engine, PolicyError, create_engine
from socle.policy.v0 import package_of, rule_names

FAILURE = re.compile(r"^(deny|violation)(_[a-zA-Z0-9]+)*$")
WARNING = re.compile(r"^warn(_[a-zA-Z0-9]+)*$")
DATA_EXTENSIONS = (".json", ".yaml", ".yml")


@dataclass
class TestOptions:
    """Options of ``socle test`` (conftest's flags)."""

    __test__ = False  # not a pytest class

    policies: list[str] = field(default_factory=lambda: ["policy"])
    namespaces: list[str] = field(default_factory=lambda: ["main"])
    all_namespaces: bool = False
    data: list[str] = field(default_factory=list)
    combine: bool = False
    parser: str | None = None
    fail_on_warn: bool = False
    no_fail: bool = False
    suppress_exceptions: bool = False
    ignore: str | None = None
    rego_version: str = "v1"
    engine: str = DEFAULT_ENGINE
    strict: bool = False
    show_builtin_errors: bool = False
    trace: bool = False
    timeout: float | None = None
    stdin_filename: str | None = None  # the name standard input goes by in the report


# --- loading ----------------------------------------------------------------------------------

def _walk(path: str, suffixes: tuple[str, ...]) -> list[str]:
    if os.path.isfile(path):
        return [path]
    out: list[str] = []
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        out.extend(os.path.join(root, f) for f in sorted(files) if f.endswith(suffixes))
    return out


def policy_files(paths: Iterable[str]) -> list[str]:
    """Every ``.rego`` file under the given paths; a missing path is a usage error."""
    out: list[str] = []
    for p in paths:
        if not os.path.exists(p):
            raise UsageError(f"policy path {p!r} does not exist")
        out.extend(f for f in _walk(p, (".rego",)) if f not in out)
    return out


def read_policies(paths: Iterable[str]) -> dict[str, str]:
    """``{file: source}`` of every policy file under the given paths, as written."""
    out: dict[str, str] = {}
    for f in policy_files(paths):
        try:
            # (a byte order mark, as some Windows editors write one, is dropped)
            with open(f, encoding="utf-8-sig") as fh:
                out[f] = fh.read()
        except (OSError, UnicodeDecodeError) as err:
            raise PolicyError(f"cannot read policy: {err}", f) from None
    return out


def load_policies(engine: Engine, paths: Iterable[str],
                  sources: dict[str, str] | None = None, bind_files: bool = True) -> list[str]:
    """Add every policy to the engine. With ``bind_files`` (``register_builtins(engine,
    bind_files=True)`` too), ``parse_config_file`` calls resolve against their policy's folder
    as in conftest; without, against the current folder (or whatever the engine wraps)."""
    if sources is None:
        sources = read_policies(paths)
    for f, source in sources.items():
        engine.add_policy(f, bind_file_builtins(source, f) if bind_files else source)
    return list(sources)


def _merge(dst: dict[str, Any], src: dict[str, Any]) -> None:
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v


def load_data(paths: Iterable[str]) -> dict[str, Any]:
    """Data files (JSON/YAML) merged into one document; files in sub-folders of a folder given
    go under the sub-folder names (``d/x/data.json`` -> ``data.x``), as OPA's loader does."""
    out: dict[str, Any] = {}
    for root in paths:
        if not os.path.exists(root):
            raise UsageError(f"data path {root!r} does not exist")
        for f in _walk(root, DATA_EXTENSIONS):
            docs = parse_file(f)
            for doc in docs:
                if doc.error is not None:
                    raise doc.error
                if doc.obj is None:
                    continue
                if not isinstance(doc.obj, dict):
                    raise InputError("data file must hold an object", f, doc.line)
                value: dict[str, Any] = doc.obj
                if os.path.isdir(root):
                    rel = os.path.relpath(os.path.dirname(f), root)
                    if rel != ".":
                        for part in reversed(rel.split(os.sep)):
                            value = {part: value}
                _merge(out, value)
    return out


def parse_file(path: str, parser: str | None = None, name: str | None = None
               ) -> list[Document]:
    """The documents of ``path`` (``-``: standard input), named ``name`` if given."""
    from socle import formats

    try:
        data = Source(path).read()  # (stdin, files, pipes: a stream that never ends stops)
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", path) from None
    if not parser and path == "-":
        parser = "yaml"  # (conftest's default for standard input: `helm template . | ... -`)
    try:
        if parser:
            fn = formats.get(parser).parse
        else:
            found = formats.parser_for(path)
            if found is None:
                raise InputError(f"no parser for this file; use --parser (one of "
                                 f"{', '.join(formats.names())})", path)
            fn = found
    except KeyError as err:
        raise UsageError(str(err.args[0])) from None
    docs: list[Document] = fn(data, name or path)
    return docs


def input_files(paths: Iterable[str], parser: str | None = None,
                ignore: str | None = None) -> list[str]:
    """Files to test: named files as given, folders walked for files with a known format."""
    from socle import formats

    pattern = None
    if ignore:
        try:
            pattern = re.compile(ignore)
        except re.error as err:
            raise UsageError(f"invalid --ignore pattern {ignore!r}: {err}") from None
    out: list[str] = []
    for p in paths:
        if p == "-":
            out.append(p)
            continue
        if not os.path.exists(p):
            raise UsageError(f"{p}: no such file or folder")
        if not os.path.isdir(p):  # (a file, or a named pipe: <(helm template ...))
            if not (pattern and pattern.search(p)):
                out.append(p)
            continue
        for root, dirs, files in os.walk(p):
            dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                             and not (pattern and pattern.search(walked(root, d))))
            for name in sorted(files):
                full = walked(root, name)  # (as conftest names it, and matches --ignore)
                if (pattern and pattern.search(full)) or special(full):
                    continue
                if parser or formats.name_for_path(full):
                    out.append(full)
    return out


# --- custom builtins ---------------------------------------------------------------------------

def _value_of(docs: list[Document], path: str) -> Any:
    for d in docs:
        if d.error is not None:
            raise d.error
    objs = [d.obj for d in docs]
    return objs[0] if len(objs) == 1 else objs


def parse_config(parser: str, content: str) -> Any:
    from socle import formats

    try:
        fn = formats.get(parser).parse
    except KeyError as err:
        raise ValueError(str(err.args[0])) from None
    return _value_of(fn(content.encode("utf-8"), "-"), "-")


def resolve_from_policy(policy_dir: str, path: str) -> str:
    """Where conftest looks for ``path``: joined to the calling policy's folder and cleaned
    (Go's ``filepath.Join``), so an absolute path is read below that folder too."""
    joined = f"{policy_dir}/{path}" if policy_dir else path
    return posixpath.normpath(joined) if joined else "."


def parse_config_file(path: str) -> Any:
    """The file's value; ``path`` as given (relative to the current folder)."""
    return _value_of(parse_file(path), path)


def parse_config_file_at(policy_dir: str, path: str) -> Any:
    """``parse_config_file`` as a policy in ``policy_dir`` calls it (conftest's resolution)."""
    return parse_config_file(resolve_from_policy(policy_dir, path))


def combined_entries(path: str, value: Any) -> list[dict[str, Any]]:
    """conftest's combined input for one file: ``{"path", "contents"}`` per document (a
    multi-document file, or a file whose value is a list, gives one entry per element)."""
    if isinstance(value, list):
        return [{"path": path, "contents": v} for v in value]
    return [{"path": path, "contents": value}]


def parse_combined_config_files(paths: list[str]) -> Any:
    """conftest's combined value of several files, ordered by path as conftest orders it."""
    entries = [e for p in paths for e in combined_entries(p, parse_config_file(p))]
    return sorted(entries, key=lambda e: str(e["path"]).encode("utf-8"))


def parse_combined_config_files_at(policy_dir: str, paths: list[str]) -> Any:
    return parse_combined_config_files([resolve_from_policy(policy_dir, p) for p in paths])


FILE_BUILTINS = ("parse_config_file", "parse_combined_config_files")
BOUND_PREFIX = "socle.conftest."
_REGO_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|#[^\n]*|[A-Za-z_][A-Za-z0-9_]*'
                         r"|\.|[^\sA-Za-z_]")


def bind_file_builtins(source: str, path: str) -> str:
    """Calls of ``parse_config_file(p)`` and ``parse_combined_config_files(ps)`` become calls
    that carry the policy's folder, which conftest resolves relative paths against (its
    builtins read the caller's location). Lines do not move."""
    if not any(name in source for name in FILE_BUILTINS):
        return source
    folder = json.dumps(posixpath.dirname(path.replace(os.sep, "/")))
    out: list[str] = []
    pos = 0
    prev = ""
    for m in _REGO_TOKEN.finditer(source):
        tok = m.group(0)
        if tok in FILE_BUILTINS and prev != ".":
            rest = source[m.end():]
            stripped = rest.lstrip(" \t")
            if stripped.startswith("("):
                gap = len(rest) - len(stripped)
                out.append(source[pos:m.start()])
                out.append(f"{BOUND_PREFIX}{tok}({folder}, ")
                pos = m.end() + gap + 1
        if not tok.startswith("#"):
            prev = tok
    out.append(source[pos:])
    return "".join(out)


def register_builtins(engine: Engine, bind_files: bool = True) -> None:
    engine.add_builtin("parse_config", 2, parse_config)
    engine.add_builtin("parse_config_file", 1, parse_config_file)
    engine.add_builtin("parse_combined_config_files", 1, parse_combined_config_files)
    if bind_files:
        engine.add_builtin(BOUND_PREFIX + "parse_config_file", 2, parse_config_file_at)
        engine.add_builtin(BOUND_PREFIX + "parse_combined_config_files", 2,
                           parse_combined_config_files_at)


# --- rules -------------------------------------------------------------------------------------


def select_namespaces(patterns: Sequence[str], known: Iterable[str]) -> list[str]:
    """The namespaces ``-n`` names: each pattern as written, or, with a wildcard (``*``, ``?``,
    ``[...]``), every package of the policies it matches as Go's ``path.Match`` matches, which
    conftest uses: ``*`` across dots too (``-n 'k8s.*'`` takes ``k8s.simple`` and
    ``k8s.simple.deployment``), ``[^a]`` for a negated class, ``\\`` to escape."""
    out: list[str] = []
    for pattern in patterns:
        if any(c in pattern for c in "*?["):  # (a backslash alone leaves it a name)
            matches = _go_pattern(pattern).fullmatch
            out.extend(ns for ns in sorted(known) if matches(ns) and ns not in out)
        elif pattern not in out:
            out.append(pattern)
    return out


def _go_pattern(pattern: str) -> re.Pattern[str]:
    """Go's ``path.Match`` pattern as a regular expression; UsageError for one Go refuses."""
    def bad() -> UsageError:
        return UsageError(f"namespace pattern {pattern!r}: syntax error in pattern")

    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            if i >= n:
                raise bad()
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            negate = i < n and pattern[i] == "^"
            i += negate
            ranges: list[str] = []
            while True:
                if i >= n:
                    raise bad()
                if pattern[i] == "]" and ranges:
                    i += 1
                    break
                lo, i = _class_char(pattern, i, bad)
                hi = lo
                if i < n and pattern[i] == "-":
                    hi, i = _class_char(pattern, i + 1, bad)
                if hi < lo:  # (Go: a range backwards matches nothing; no error)
                    ranges.append("")
                    continue
                ranges.append(re.escape(lo) if lo == hi else f"{re.escape(lo)}-{re.escape(hi)}")
            body = "".join(ranges)
            out.append(f"[{'^' if negate else ''}{body}]" if body else "." if negate else "(?!)")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out), re.DOTALL)


def _class_char(pattern: str, i: int, bad: Callable[[], UsageError]) -> tuple[str, int]:
    """One character of a ``[...]`` class at ``i`` (``\\`` escapes), and where the next is."""
    if i >= len(pattern) or pattern[i] in "-]":
        raise bad()
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise bad()
    return pattern[i], i + 1


def discover_rules(modules: dict[str, str]) -> dict[str, dict[str, int]]:
    """namespace -> {rule name: number of definitions} for failure, warning and exception rules.
    Every package appears, even one without such rules."""
    out: dict[str, dict[str, int]] = {}
    for source in modules.values():
        pkg = package_of(source)
        if not pkg:
            continue
        rules = out.setdefault(pkg, {})
        for name, _line in rule_names(source):
            if FAILURE.match(name) or WARNING.match(name) or name == "exception":
                rules[name] = rules.get(name, 0) + 1
    return out


def strip_failure_prefix(rule: str) -> str:
    for prefix in ("deny_", "violation_"):
        if rule.startswith(prefix):
            return rule[len(prefix):]
    return rule


def exception_name(rule: str) -> str:
    """The name an exception rule lists to excuse ``rule``, as conftest derives it: the bare
    ``deny``/``violation``/``warn`` give ``""``; otherwise the ``violation_``, ``deny_`` and
    ``warn_`` prefixes are removed in that order (``warn_x`` is excused by ``"x"`` too)."""
    if rule in ("deny", "violation", "warn"):
        return ""
    for prefix in ("violation_", "deny_", "warn_"):
        rule = rule.removeprefix(prefix)
    return rule


def _messages(value: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
    """(message, metadata) pairs of one rule's value."""
    if value is None or isinstance(value, bool):
        return []  # conftest reads a boolean rule as a pass, true or false
    items = value if isinstance(value, list) else [value]
    out: list[tuple[str, dict[str, Any]]] = []
    for item in items:
        if isinstance(item, str):
            out.append((item, {}))
        elif isinstance(item, dict):
            if "msg" not in item:
                raise PolicyError(f"rule {where} returned an object without a msg field: "
                                  f"{json.dumps(item, sort_keys=True)[:200]}")
            meta = {k: v for k, v in item.items() if k != "msg"}
            msg = item["msg"]
            out.append((msg if isinstance(msg, str) else json.dumps(msg), meta))
    return out


def _references(meta: dict[str, Any]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in meta.items():
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            out[k] = list(v)
        elif isinstance(v, str):
            out[k] = [v]
        else:
            out[k] = [json.dumps(v, sort_keys=True)]
    return out


BATCH_PACKAGE = "socle_batch__"
BATCH_FILE = "<socle: batch of conftest rules>"
_SAFE_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def batch_module(queries: list[str], rego_version: str) -> str:
    """A module whose ``out`` maps each rule path to ``[value]``, or ``[]`` when undefined."""
    items = ",\n".join(f'\t"{q}": [x | x := data.{q}]' for q in queries)
    head = "out = " if rego_version == "v0" else "out := "
    return f"package {BATCH_PACKAGE}\n\n{head}{{\n{items},\n}}\n"


@dataclass
class Target:
    """One value to check: a document, an element of a top-level array, or the combination."""

    file: str
    obj: Any
    line: int = 1
    index: int = 0
    resource: Resource | None = None  # (the document's, when the caller has it)


class Runner:
    """Policies compiled once, then :meth:`check` per input."""

    def __init__(self, options: TestOptions, engine: Engine | None = None) -> None:
        self.options = options
        self.engine = engine or create_engine(
            tracing_engine(options.engine) if options.trace else options.engine,
            options.rego_version, options.timeout,
            strict_builtin_errors=options.show_builtin_errors)
        self.tracing = bool(options.trace and hasattr(self.engine, "trace"))
        if self.tracing:
            self.engine.trace = True  # type: ignore[attr-defined]
        # conftest's path resolution for parse_config_file; an engine handed in by a caller
        # (the webhook confines file reads to its snapshot) keeps the plain builtins it wraps
        bind = engine is None
        register_builtins(self.engine, bind_files=bind)
        sources = read_policies(options.policies)
        self.policy_files = load_policies(self.engine, options.policies, sources, bind)
        if not self.policy_files:
            raise UsageError("no policies found in " + ", ".join(options.policies))
        if options.data:
            self.engine.add_data(load_data(options.data))
        if options.strict:  # before OPA compiles, so both engines report the same problems
            from socle.policy import strict

            strict.check(sources, options.rego_version)
        self.engine.prepare()
        rules = discover_rules(self.engine.modules())
        namespaces = list(rules) if options.all_namespaces else \
            select_namespaces(options.namespaces, rules)
        self.namespaces = namespaces
        self.rules: dict[str, dict[str, int]] = {
            ns: {r: n for r, n in rules.get(ns, {}).items() if r != "exception"}
            for ns in namespaces}
        self.has_exception = {ns: "exception" in rules.get(ns, {}) for ns in namespaces}
        # per namespace, (rule, id, data path, is a failure, exception name) of its rules in
        # order: worked out here, not for every document
        self._tables: dict[str, list[tuple[str, str, str, bool, str]]] = {
            ns: [(rule, f"{ns}.{rule}", f"data.{ns}.{rule}", bool(FAILURE.match(rule)),
                  exception_name(rule)) for rule in sorted(self.rules[ns])]
            for ns in namespaces}
        self.queries: list[str] = []
        for ns in namespaces:
            if self.has_exception[ns]:
                self.queries.append(f"{ns}.exception")
            self.queries.extend(f"{ns}.{r}" for r in sorted(self.rules[ns]))
        self._batch = False
        if not self.tracing and self.queries and all(_SAFE_PATH.match(q) for q in self.queries):
            # one evaluation per document: a generated rule gathers every rule's value
            self.engine.add_policy(BATCH_FILE, batch_module(self.queries,
                                                            options.rego_version))
            self.engine.prepare()
            self._batch = True

    def check(self, target: Target, report: Report) -> None:
        if self.tracing:  # one query per rule, each trace printed as conftest does
            values = {}
            for q in self.queries:
                values[q] = self.engine.eval_rule(q, target.obj)
                self._print_trace(target.file, q)
        elif self._batch:
            got = self.engine.eval_rule(f"{BATCH_PACKAGE}.out", target.obj)
            # each rule's [value], or [] when undefined
            values = {}
            if isinstance(got, dict):
                for k, v in got.items():
                    if v:
                        x = v[0]
                        # (no results, no exceptions: as good as undefined)
                        if not (x == [] or x is None or x is True or x is False):
                            values[k] = x
        else:
            values = self.engine.eval_rules(self.queries, target.obj) if self.queries else {}
        self._flush_diagnostics(target)
        resource = target.resource if target.resource is not None else Resource.of(target.obj)
        failed = False
        for ns in self.namespaces if values else ():  # (no values: nothing to report)
            # name -> how often exception lists it: conftest queries
            # `data.ns.exception[_][_] == name` and reports one exception per solution,
            # whether or not the rule has results
            excepted: dict[str, int] = {}
            if self.has_exception[ns]:
                exc = values.get(ns + ".exception")
                for group in exc if isinstance(exc, list) else []:
                    if isinstance(group, list):
                        for x in group:
                            if isinstance(x, str):
                                excepted[x] = excepted.get(x, 0) + 1
            for rule, rid, where, is_failure, exc_name in self._tables[ns]:
                value = values.get(rid)
                if value is None or value == [] or value is True or value is False:
                    if not excepted:  # (most rules of most documents: nothing to report)
                        continue
                    results = []
                else:
                    results = _messages(value, where)
                times = excepted.get(exc_name, 0) if excepted else 0
                if times:
                    if not self.options.suppress_exceptions:
                        for _ in range(times):
                            report.add(Finding(
                                rule_id=rid, severity=Severity.INFO, source="policy",
                                message=f"{rule} is excepted by data.{ns}.exception",
                                resource=resource, file=target.file, line=target.line,
                                document_index=target.index, title="exception"))
                    continue
                for msg, meta in results:
                    sev = Severity.HIGH if is_failure else Severity.MEDIUM
                    if is_failure or self.options.fail_on_warn:
                        failed = True
                    report.add(Finding(
                        rule_id=rid, severity=sev, source="policy", message=msg or rule,
                        resource=resource, file=target.file, line=target.line,
                        document_index=target.index, references=_references(meta),
                        title="failure" if is_failure else "warning"))
        report.documents.append(DocumentResult(
            target.file, target.index, target.line, resource,
            Status.INVALID if failed else Status.VALID))

    def _flush_diagnostics(self, target: Target) -> None:
        prints = self.engine.take_prints()
        for p in prints:
            print(p, file=sys.stderr)

    def _print_trace(self, file: str, query: str) -> None:
        trace = getattr(self.engine, "last_trace", None) or []
        for line in trace_lines(file, query, trace):
            print(line, file=sys.stderr)
        self.engine.last_trace = []  # type: ignore[attr-defined]

    def count_tests(self) -> int:
        return sum(sum(r.values()) for r in self.rules.values())


_TRACE_NOTED: list[bool] = []


def tracing_engine(name: str) -> str:
    """The engine a ``--trace`` run uses: OPA, the only one with a tracer. Switching from
    another engine is said once on standard error; without OPA it is a usage error."""
    from socle.policy.engine import available

    if name == "opa":
        return name
    if not available("opa"):
        raise UsageError(f"--trace needs the opa engine (the {name} engine has no tracer); "
                         "install opa-golib-python-bindings as docs/test.md shows")
    if not _TRACE_NOTED:
        _TRACE_NOTED.append(True)
        print(f"socle test: --trace: evaluating with the opa engine (the {name} engine has "
              "no tracer)", file=sys.stderr)
    return "opa"


def trace_lines(file: str, query: str, events: list[Any]) -> list[str]:
    """OPA's trace of one query, as conftest prints it: a ``file: ... | query: ...`` header,
    then one ``TRAC`` line per event, indented by query depth."""
    out = [f"file: {file} | query: data.{query}"]
    depth: dict[int, int] = {}
    for ev in events:
        if not isinstance(ev, dict):
            continue
        qid = int(ev.get("query_id") or 0)
        parent = int(ev.get("parent_id") or 0)
        if qid not in depth:
            depth[qid] = 0 if qid == parent else depth.get(parent, 0) + 1
        text = f"{ev.get('op', '')} {ev.get('node', '')}".rstrip()
        if ev.get("message"):
            text += f" {ev['message']}"
        out.append(f"TRAC {'| ' * depth[qid]}{text}".rstrip())
    return out


def targets(path: str, docs: list[Document]) -> Iterator[Target]:
    """What conftest checks in one file: each document, each element of a top-level array."""
    if len(docs) == 1 and isinstance(docs[0].obj, list):
        d = docs[0]
        for i, item in enumerate(d.obj):
            yield Target(d.file, item, d.line, i)
        return
    for d in docs:
        yield Target(d.file, d.obj, d.line, d.index)


def _error(report: Report, err: SocleError, file: str) -> None:
    report.errors += 1
    report.add(Finding(rule_id="input/parse-error", severity=Severity.HIGH, source="input",
                       message=err.message, file=err.file or file, line=err.line or 0,
                       column=err.column or 0))


def run(paths: list[str], options: TestOptions, runner: Runner | None = None) -> Report:
    """Check every input; unusable inputs are counted in ``report.errors`` (exit 2). The
    cycle collector is paused meanwhile (its full collections walked the growing report and
    the compiled policies again and again: ~5% of a large run), the young objects collected
    every few hundred files."""
    from socle.core import collector

    with collector.paused():
        return _run(paths, options, runner)


def _run(paths: list[str], options: TestOptions, runner: Runner | None) -> Report:
    from socle.core import collector
    from socle.policy import engine as engine_mod

    runner = runner or Runner(options)
    report = Report(command="test")
    if not runner.queries:  # (conftest says "0 tests"; socle's report would say nothing)
        report.extra["no_rules"] = ["(any)"] if options.all_namespaces else \
            list(options.namespaces)
    files = input_files(paths, options.parser, options.ignore)
    if not files:
        raise UsageError("no input files found in " + ", ".join(paths))
    watchdog = engine_mod.active_watchdog()

    def named(f: str) -> str:  # (conftest's --stdin-filename)
        return options.stdin_filename if f == "-" and options.stdin_filename else f

    if options.combine:
        combined = []
        for f in files:
            try:
                docs = parse_file(f, options.parser, named(f))
                combined.extend(combined_entries(named(f), _value_of(docs, named(f))))
            except SocleError as err:
                _error(report, err, named(f))
        report.files = len(files)
        if watchdog:
            watchdog.arm("the combined input")
        runner.check(Target("Combined", combined, 0, 0), report)
        if watchdog:
            watchdog.disarm()
        return report
    for f in collector.collecting(files):
        report.files += 1
        try:
            docs = parse_file(f, options.parser, named(f))
        except SocleError as err:
            _error(report, err, named(f))
            continue
        bad = [d for d in docs if d.error is not None]
        for d in bad:
            assert d.error is not None
            _error(report, d.error, named(f))
        if bad:
            continue
        if watchdog:
            watchdog.arm(f)
        for t in targets(f, docs):
            runner.check(t, report)
        if watchdog:
            watchdog.disarm()
    return report


def exit_code(report: Report, options: TestOptions) -> int:
    if report.errors:
        return 2
    if options.no_fail:
        return 0
    threshold = Severity.MEDIUM if options.fail_on_warn else Severity.HIGH
    if any(f.source == "policy" and f.severity >= threshold for f in report.findings):
        return 1
    return 0


__all__ = [
    "FAILURE",
    "WARNING",
    "Runner",
    "Target",
    "TestOptions",
    "bind_file_builtins",
    "combined_entries",
    "discover_rules",
    "exception_name",
    "exit_code",
    "input_files",
    "load_data",
    "load_policies",
    "parse_combined_config_files",
    "parse_config",
    "parse_config_file",
    "parse_file",
    "policy_files",
    "read_policies",
    "register_builtins",
    "resolve_from_policy",
    "run",
    "strip_failure_prefix",
    "targets",
    "trace_lines",
    "tracing_engine",
]
