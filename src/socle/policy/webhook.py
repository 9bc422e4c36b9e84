"""``socle webhook``: the same policies at admission (a validating admission webhook).

One policy folder holds any mix of

* Gatekeeper ConstraintTemplates and Constraints (``*.yaml``, ``*.yml``, ``*.json``; Namespace
  objects there serve ``namespaceSelector``): ``deny`` denies, ``warn`` becomes a warning,
  ``dryrun`` is allowed and logged;
* socle control folders (``control.yaml`` + ``policy.rego``, a ``lib/`` beside them), plus the
  bundled controls of ``--framework``: findings at or above ``--severity-threshold`` deny;
* conftest policies (every other ``*.rego``, package ``main``): ``deny``/``violation`` deny,
  ``warn`` warns.

Design:

* The folder is copied to a private **snapshot** (regular files only; a symlink is followed only
  when it stays inside the folder, which is how ConfigMap volumes look). Everything is compiled
  from the snapshot, so a request can never make the server read another file:
  ``parse_config_file`` is confined to the snapshot.
* **Server processes** (``--workers``, one per core; plain ``python -c`` children, each
  compiles the snapshot once) all accept on one listening socket that the supervisor (the
  calling process) owns, and each does TLS, HTTP/1.1 (keep-alive, pipelining, TCP_NODELAY)
  and evaluation itself: no hand-over, no interpreter lock shared with another process. Each
  runs one non-blocking event loop: handshakes, heads and bodies are read as they come, with
  ``--read-timeout`` per connection (a slow client holds nothing), and only complete requests
  are evaluated, one at a time, in the main thread.
* **Budget**: a SIGALRM timer interrupts an evaluation in Python at the deadline; the review
  is answered per the failure policy and the process, whose policy state may be half updated,
  finishes its connections and is replaced. A native call (regorus, including the rules the
  compiled engine leaves to it) cannot be interrupted: the supervisor kills a process still
  busy :data:`KILL_GRACE` seconds past the deadline and starts another; that process's
  connections drop and the API server applies the webhook's ``failurePolicy``.
* **Metrics** are counted in a shared memory file (one slot per process, summed at each
  scrape by whichever process serves ``/metrics``); the supervisor's part (reloads, policies,
  audit) is a small JSON file beside it.
* **Reload**: the folder's files are polled every ``--reload-interval`` seconds; on a change a
  new snapshot and a new generation of server processes are started; when all are ready they
  start accepting, then the old generation stops accepting, answers its requests in flight
  (and the next request of each kept-alive connection, with ``Connection: close``) and exits.
  A policy that fails to load keeps the old generation and logs why.
* **Audit** (``--audit-interval``): a child process reads the live cluster, evaluates the same
  policies over every object (Gatekeeper's audit semantics, ``socle scan --cluster`` for the
  controls), writes the report atomically and hands a summary back for ``/metrics``.
"""

from __future__ import annotations

import bisect
import contextlib
import dataclasses
import fnmatch
import http
import json
import logging
import math
import os
import shutil
import socket
import ssl
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from socle.core.errors import SocleError, UsageError
from socle.core.workers import cores
from socle.policy.engine import DEFAULT_ENGINE
from socle.policy.regoc.runtime import Halt

log = logging.getLogger("socle.webhook")

# --- settings: one source of truth for the server and the generated configuration -----------

FAILURE_POLICIES = ("Fail", "Ignore")
DEFAULT_FAILURE_POLICY = "Fail"
DEFAULT_TIMEOUT_SECONDS = 3  # the ValidatingWebhookConfiguration's timeoutSeconds (1..30)
DEFAULT_EXCLUDED_NAMESPACES = ("kube-system",)
DEFAULT_PORT = 8443
DEFAULT_MAX_BODY = 3 * 1024 * 1024  # an object and its old version at the 1.5 MiB etcd limit
SEVERITIES = ("critical", "high", "medium", "low", "info")


def server_budget(timeout_seconds: float) -> float:
    """The server's per-request budget for an API-server timeout: it answers (per the failure
    policy) before the API server gives up on it."""
    return max(0.2, round(timeout_seconds - 0.5, 3) if timeout_seconds > 1 else
               timeout_seconds * 0.5)


@dataclass
class Settings:
    """What the server does; ``socle webhook manifests`` renders the same values."""

    policy: str = "policy"
    framework: list[str] = field(default_factory=list)
    severity_threshold: str = "high"
    warn_threshold: str | None = None
    failure_policy: str = DEFAULT_FAILURE_POLICY
    timeout: float = server_budget(DEFAULT_TIMEOUT_SECONDS)
    exclude_namespaces: list[str] = field(
        default_factory=lambda: list(DEFAULT_EXCLUDED_NAMESPACES))
    exclude_users: list[str] = field(default_factory=list)
    exclude_groups: list[str] = field(default_factory=list)
    honour_inline_exceptions: bool = False
    workers: int = 0  # 0: one per core
    max_body: int = DEFAULT_MAX_BODY
    read_timeout: float = 10.0
    max_connections: int = 256
    reload_interval: float = 5.0
    start_timeout: float = 120.0
    engine: str = DEFAULT_ENGINE  # any name of socle.policy.engine.ENGINES
    audit_interval: float = 0.0  # seconds between audits of the live cluster; 0: no audit
    audit_output: str | None = None  # the last audit's JSON report, written atomically
    audit_violations_limit: int = 20  # violations listed per constraint (all are counted)
    kubeconfig: str | None = None  # audit: kubeconfig file (default: in-cluster, $KUBECONFIG)
    kube_context: str | None = None

    def check(self) -> None:
        from socle.policy.engine import ENGINES

        if self.engine not in ENGINES:
            raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, not "
                             f"{self.engine!r}")
        if self.audit_interval < 0:
            raise UsageError("--audit-interval must not be negative")
        if self.audit_output and not self.audit_interval:
            raise UsageError("--audit-output needs --audit-interval")
        if self.audit_output:
            parent = os.path.dirname(os.path.abspath(self.audit_output))
            if not os.path.isdir(parent):
                raise UsageError(f"--audit-output: folder {parent!r} not found")
        if self.audit_violations_limit < 0:
            raise UsageError("--audit-violations-limit must not be negative")
        if self.failure_policy not in FAILURE_POLICIES:
            raise UsageError(f"--failure-policy must be Fail or Ignore, not "
                             f"{self.failure_policy!r}")
        for name, value in (("--severity-threshold", self.severity_threshold),
                            ("--warn-threshold", self.warn_threshold)):
            if value is not None and value.lower() not in SEVERITIES:
                raise UsageError(f"{name}: {value!r} is not one of {', '.join(SEVERITIES)}")
        if not self.timeout > 0:
            raise UsageError("--timeout must be more than 0 seconds")
        if not 0 <= self.workers <= 24:
            raise UsageError("--workers must be from 0 (one per core) to 24")
        if self.max_connections < 1:
            raise UsageError("--max-connections must be at least 1")
        if self.max_body < 1024:
            raise UsageError("--max-body-bytes must be at least 1024")
        if not os.path.isdir(self.policy):
            raise UsageError(f"policy folder {self.policy!r} not found")


# --- the policy folder ------------------------------------------------------------------------

_POLICY_SUFFIXES = (".rego", ".yaml", ".yml", ".json")
_MAX_POLICY_FILE = 8 * 1024 * 1024


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def policy_files(folder: str) -> list[tuple[str, str]]:
    """(relative path, real path) of every policy file of ``folder``: hidden names are skipped
    (``..data`` of a ConfigMap volume is reached through its symlinks), and a symlink counts only
    when it resolves inside the folder."""
    root = os.path.realpath(folder)
    out: list[tuple[str, str]] = []
    for dirpath, dirs, files in os.walk(folder, followlinks=False):
        keep = []
        for d in sorted(dirs):
            full = os.path.join(dirpath, d)
            if d.startswith("."):
                continue
            if os.path.islink(full):
                real = os.path.realpath(full)
                if _inside(real, root) and os.path.isdir(real):
                    # walk a linked folder inside the root by its files below
                    for sub_rel, sub_real in policy_files(full):
                        rel = os.path.relpath(os.path.join(full, sub_rel), folder)
                        if _inside(os.path.realpath(sub_real), root):
                            out.append((rel, sub_real))
                continue
            keep.append(d)
        dirs[:] = keep
        for name in sorted(files):
            if name.startswith(".") or not name.endswith(_POLICY_SUFFIXES):
                continue
            full = os.path.join(dirpath, name)
            real = os.path.realpath(full)
            if not _inside(real, root):
                log.warning("%s: a symlink out of the policy folder; ignored", full)
                continue
            try:
                st = os.stat(real)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                out.append((os.path.relpath(full, folder), real))
    return sorted(out)


def fingerprint(folder: str) -> tuple[Any, ...]:
    """What changes when a policy file changes (names, inodes, sizes, mtimes)."""
    out = []
    for rel, real in policy_files(folder):
        try:
            st = os.stat(real)
        except OSError:
            continue
        out.append((rel, st.st_ino, st.st_size, st.st_mtime_ns))
    return tuple(out)


def snapshot(folder: str) -> str:
    """A private copy of the policy files of ``folder`` (a new temporary folder)."""
    dest = tempfile.mkdtemp(prefix="socle-webhook-")
    try:
        for rel, real in policy_files(folder):
            if os.path.getsize(real) > _MAX_POLICY_FILE:
                raise UsageError(f"{os.path.join(folder, rel)}: policy file larger than "
                                 f"{_MAX_POLICY_FILE // (1024 * 1024)} MiB")
            target = os.path.join(dest, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            shutil.copyfile(real, target)
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


# --- compiled policies (in a worker) ------------------------------------------------------------


_BATCH_RULE = "socle_webhook_batch.results"
_BATCH = """package socle_webhook_batch

results := {{name: vs |
\tp := input.socle_constraints[name]
\tvs := [v | data.{pkg}.violation[v] with input.parameters as p]
}}
"""


_MERGED_RULE = "socle_webhook_all.results"


def _merge(templates: list[Any], inventory: list[Any], version: str, engine_name: str) -> Any:
    """One engine for several templates of one Rego version, with one query for all of them;
    None when their packages clash (then each template keeps its own engine) or the merged
    engine does not evaluate."""
    from socle.policy import gatekeeper as gk
    from socle.policy.engine import create_engine
    from socle.policy.v0 import package_of

    packages = [package_of(m) for t in templates for m in (t.rego, *t.libs)]
    if len(packages) != len(set(packages)) or any(
            not p or p.startswith("socle_webhook") for p in packages):
        return None
    rules = []
    for i, t in enumerate(templates):
        rules.append(f"r{i} := {{name: vs |\n\tp := input.socle_constraints[\"{t.kind}\"][name]\n"
                     f"\tvs := [v | data.{t.package}.violation[v] with input.parameters as p]\n}}")
    entries = ", ".join(f'"{t.kind}": r{i}' for i, t in enumerate(templates))
    module = "package socle_webhook_all\n\n" + "\n\n".join(rules) + \
        f"\n\nresults := {{{entries}}}\n"
    try:
        engine = create_engine(engine_name, version)
        for t in templates:
            engine.add_policy(f"{t.file}[{t.name}]", t.rego)
            for i, lib in enumerate(t.libs):
                engine.add_policy(f"{t.file}[{t.name}.libs[{i}]]", lib)
        engine.add_policy("<socle webhook: all templates>", module)
        engine.add_data({"inventory": gk.build_inventory(inventory)})
        engine.eval_rule(_MERGED_RULE, {"review": {}, "socle_constraints": {}})
    except SocleError as err:
        log.debug("templates kept apart: %s", err)
        return None
    return engine


def _violations_of(constraints: list[Any], got: dict[str, Any]) -> list[Any]:
    from socle.policy import gatekeeper as gk

    out = []
    for c in constraints:
        found = []
        for item in got.get(c.name) or []:
            if isinstance(item, dict):
                msg = item.get("msg")
                found.append(gk.Violation(c, msg if isinstance(msg, str) else str(msg),
                                          item.get("details")))
            else:
                found.append(gk.Violation(c, str(item)))
        found.sort(key=lambda v: v.message)
        out.extend(found)
    return out


@dataclass
class Decision:
    deny: list[str] = field(default_factory=list)
    warn: list[str] = field(default_factory=list)
    dryrun: list[str] = field(default_factory=list)
    error: str | None = None


class _ConfinedEngine:
    """An engine whose file-reading builtins only see the policy snapshot."""

    def __init__(self, inner: Any, root: str) -> None:
        self._inner = inner
        self._root = os.path.realpath(root)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None:
        # (the wrappers hold the root, never self: the engine holds its builtins, and a
        # builtin holding the engine made a cycle only the collector frees, on whatever
        # thread it runs, where the regorus binding refuses to drop an engine and leaks it)
        root = self._root
        if name == "parse_config_file":
            def one(path: Any) -> Any:
                return fn(_confine(root, path))
            self._inner.add_builtin(name, arity, one)
        elif name == "parse_combined_config_files":
            def many(paths: Any) -> Any:
                if not isinstance(paths, list):
                    raise Halt("paths must be an array")
                return fn([_confine(root, p) for p in paths])
            self._inner.add_builtin(name, arity, many)
        else:
            self._inner.add_builtin(name, arity, fn)


def _confine(root: str, path: Any) -> str:
    """``path`` inside the policy snapshot ``root``, or a Halt (an error, never undefined:
    it fails closed)."""
    if not isinstance(path, str):
        raise Halt("a path must be a string")
    full = os.path.realpath(os.path.join(root, path))
    if not _inside(full, root):
        raise Halt(f"{path!r} is outside the policy folder")
    return full


def _one_line(text: str, limit: int = 1000) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


class PolicySet:
    """Every engine of a policy snapshot, compiled once; :meth:`evaluate` per request."""

    def __init__(self, root: str, settings: Settings, display: str | None = None,
                 cluster_objects: list[dict[str, Any]] | None = None) -> None:
        """``cluster_objects``: live objects (the audit) for ``data.inventory`` and the
        Namespaces of ``namespaceSelector``, besides the folder's Namespaces."""
        from socle.core.finding import Severity

        self.root = root
        self.engine = settings.engine
        self.cluster_objects = cluster_objects
        self.display = display or root
        self.settings = settings
        self.deny_at = Severity.parse(settings.severity_threshold)
        self.warn_at = Severity.parse(settings.warn_threshold) if settings.warn_threshold \
            else None
        files = [rel for rel, _ in policy_files(root)]
        control_dirs = sorted({os.path.dirname(f) for f in files
                               if os.path.basename(f) == "control.yaml"})
        control_roots = sorted({os.path.dirname(d) for d in control_dirs})

        def in_controls(rel: str) -> bool:
            return any(rel.startswith(d + os.sep) for d in control_dirs) or any(
                rel.startswith(os.path.join(r, "lib") + os.sep) for r in control_roots)

        manifests = [f for f in files if f.endswith((".yaml", ".yml", ".json"))
                     and not in_controls(f)]
        rego = [f for f in files if f.endswith(".rego") and not in_controls(f)]
        try:
            self._load_gatekeeper([os.path.join(root, f) for f in manifests])
            self._load_controls([os.path.join(root, r) if r else root for r in control_roots])
            self._load_conftest([os.path.join(root, f) for f in rego])
        except SocleError as err:
            raise UsageError(self._shown(str(err))) from None

    def _shown(self, text: str) -> str:
        return text.replace(self.root.rstrip(os.sep) + os.sep, self.display.rstrip(os.sep)
                            + os.sep).replace(self.root, self.display)

    # -- loading -------------------------------------------------------------------------------

    def _load_gatekeeper(self, paths: list[str]) -> None:
        from socle.policy import gatekeeper as gk

        self.gatekeeper: Any = None
        self.namespaces: dict[str, dict[str, Any]] = {}
        self.descriptions: dict[str, str] = {}
        if not paths:
            return
        client = gk.Client(self.engine, None, True)
        docs = list(gk.read_documents(paths))
        for d in docs:
            if gk.is_template(d.obj):
                client.add_template(gk.parse_template(d))
        for d in docs:
            if gk.is_constraint(d.obj):
                client.add_constraint_doc(d)
        client.add_data(d.obj for d in docs if d.obj.get("kind") == "Namespace"
                        and d.obj.get("apiVersion") == "v1")
        if self.cluster_objects:
            client.add_data(self.cluster_objects)
        client.compile_all()
        self.descriptions = {t.kind: t.description for t in client.templates.values()}
        # one evaluation per template and request, whatever the number of its constraints:
        # each template's engine gets a module that evaluates ``violation`` once per matching
        # constraint, with that constraint's parameters
        self.batched: dict[str, Any] = {}
        self.merged: list[tuple[Any, set[str]]] = []
        # the compiled engine: a template whose ``violation`` compiles to Python is called
        # directly once per matching constraint (a Python call each; ``with``, which the
        # batches need, is left to regorus by the compiler, and is slower than the calls)
        self.direct: dict[str, tuple[Any, str]] = {}
        rego = [t for t in client.templates.values() if t.engine(True) == "Rego" and t.package]
        if self.engine == "compiled":
            for t in rego:
                engine = client._compiled(t)
                rule = f"{t.package}.violation"
                fallbacks = getattr(engine, "fallback_rules", None)
                if callable(fallbacks) and rule not in fallbacks():
                    self.direct[t.kind] = (engine, rule)
            rego = [t for t in rego if t.kind not in self.direct]
        for version in ("v0", "v1"):
            group = [t for t in rego if t.rego_version == version]
            engine = _merge(group, client.inventory_objects, version, self.engine) \
                if len(group) > 1 else None
            if engine is not None:
                self.merged.append((engine, {t.kind for t in group}))
                continue
            for t in group:
                engine = client._compiled(t)
                engine.add_policy(f"<socle webhook: {t.name}>", _BATCH.format(pkg=t.package))
                self.batched[t.kind] = engine
        if client.constraints:
            self.gatekeeper = client
            self.namespaces = client.namespaces

    def _load_controls(self, roots: list[str]) -> None:
        from socle.security.controls import default_inputs
        from socle.security.exceptions import Exceptions
        from socle.security.runner import Scanner, ScanOptions, select_controls

        self.scanner: Any = None
        self.controls: list[Any] = []
        self.control_roots = roots
        self.control_ids: list[str] = []  # every selected control, cross-resource ones too
        self.skipped = 0
        if not roots and not self.settings.framework:
            return
        options = ScanOptions(controls_dirs=roots, frameworks=list(self.settings.framework),
                              bundled=bool(self.settings.framework), engine=self.engine)
        selection = select_controls(options)
        if self.settings.framework and roots:
            # the frameworks select among the bundled controls; the folder's always run
            extra = [c for c in selection.all.controls if not c.bundled]
            chosen = {c.id for c in selection.selected.controls} | {c.id for c in extra}
            selected = selection.all.select(chosen)
        else:
            selected = selection.selected
        self.control_ids = [c.id for c in selected.controls]
        local = [c for c in selected.controls if not c.cross_resource]
        # controls that compare resources with each other cannot run on one object
        self.skipped = len(selected.controls) - len(local)
        self.controls = local
        if local:
            self.scanner = Scanner(local, selected.libraries, default_inputs(selection.all),
                                   Exceptions(selection.all.controls), self.engine)

    def _load_conftest(self, files: list[str]) -> None:
        from socle.policy.conftest import Runner, TestOptions
        from socle.policy.engine import create_engine

        self.conftest: Any = None
        if not files:
            return
        options = TestOptions(policies=files, namespaces=["main"], engine=self.engine)
        engine = _ConfinedEngine(create_engine(self.engine, "v1"), self.root)
        self.conftest = Runner(options, engine)

    def summary(self) -> dict[str, int]:
        return {
            "constraints": len(self.gatekeeper.constraints) if self.gatekeeper else 0,
            "controls": len(self.controls),
            "conftest_rules": self.conftest.count_tests() if self.conftest else 0,
            "controls_skipped": self.skipped,
        }

    # -- evaluating ----------------------------------------------------------------------------

    def evaluate(self, request: dict[str, Any]) -> Decision:
        out = Decision()
        try:
            self._evaluate(request, out)
        except SocleError as err:
            out.error = _one_line(self._shown(str(err)))
        except Exception as err:  # a bug or an engine failure: the failure policy decides
            out.error = _one_line(f"evaluation failed: {type(err).__name__}: {err}")
        return out

    def _evaluate(self, request: dict[str, Any], out: Decision) -> None:
        op = request.get("operation")
        obj = request.get("object")
        if op == "DELETE" and obj is None:
            obj = request.get("oldObject")
        if not isinstance(obj, dict):
            return
        if self.gatekeeper is not None:
            self._gatekeeper(request, obj, out)
        if op in ("DELETE", "CONNECT"):
            return
        if self.scanner is not None:
            self._controls(obj, out)
        if self.conftest is not None:
            self._conftest(obj, out)

    def _violations(self, obj: dict[str, Any], review: dict[str, Any]) -> list[Any]:
        from socle.policy import gatekeeper as gk

        client = self.gatekeeper
        matched: dict[str, list[Any]] = {}
        for c in client.constraints:
            try:
                hit = gk.matches(c.match, obj, self.namespaces)
            except gk.MatchError:
                ns = (obj.get("metadata") or {}).get("namespace") if isinstance(
                    obj.get("metadata"), dict) else None
                raise SocleError(f"{c.rule_id} has a namespaceSelector and the Namespace "
                                 f"{ns!r} is not in the policy folder (add its YAML there)"
                                 ) from None
            if hit:
                matched.setdefault(c.kind, []).append(c)
        out: list[Any] = []
        for engine, kinds in self.merged:
            params = {k: {c.name: c.parameters if c.parameters is not None else {}
                          for c in matched[k]} for k in kinds if k in matched}
            if not params:
                continue
            try:
                got = engine.eval_rule(_MERGED_RULE, {"review": review,
                                                      "socle_constraints": params})
            except SocleError as err:
                raise SocleError(f"{', '.join(sorted(params))}: {err}") from None
            got = got if isinstance(got, dict) else {}
            for k in params:
                per = got.get(k)
                out.extend(_violations_of(matched[k], per if isinstance(per, dict) else {}))
        for kind, constraints in matched.items():
            direct = self.direct.get(kind)
            if direct is not None:
                engine, rule = direct
                each: dict[str, Any] = {}
                for c in constraints:
                    try:
                        each[c.name] = engine.eval_rule(rule, {
                            "review": review,
                            "parameters": c.parameters if c.parameters is not None else {}})
                    except SocleError as err:
                        raise SocleError(f"{kind}: {err}") from None
                out.extend(_violations_of(constraints, each))
                continue
            if any(kind in kinds for _, kinds in self.merged):
                continue
            engine = self.batched.get(kind)
            if engine is None:  # CEL: one evaluation per constraint
                for c in constraints:
                    out.extend(client._evaluate(client.templates[kind], c, review))
                continue
            params = {c.name: c.parameters if c.parameters is not None else {}
                      for c in constraints}
            try:
                got = engine.eval_rule(_BATCH_RULE, {"review": review,
                                                     "socle_constraints": params})
            except SocleError as err:
                raise SocleError(f"{kind}: {err}") from None
            out.extend(_violations_of(constraints, got if isinstance(got, dict) else {}))
        out.sort(key=lambda v: (v.constraint.kind, v.constraint.name))  # as the constraints
        return out

    def _gatekeeper(self, request: dict[str, Any], obj: dict[str, Any], out: Decision) -> None:
        review = dict(request)
        review["object"] = obj
        review.setdefault("oldObject", None)
        review.setdefault("userInfo", {})
        ns = request.get("namespace")
        if isinstance(ns, str) and ns in self.namespaces:
            review["_unstable"] = {"namespace": self.namespaces[ns]}
        for v in self._violations(obj, review):
            c = v.constraint
            fix = self.descriptions.get(c.kind, "")
            annotations = (c.obj.get("metadata") or {}).get("annotations") or {}
            if isinstance(annotations, dict) and isinstance(
                    annotations.get("socle.dev/remediation"), str):
                fix = annotations["socle.dev/remediation"]
            text = f"[{c.kind}/{c.name}] {v.message}"
            if fix and c.action == "deny":
                text += f" (fix: {_one_line(fix, 300)})"
            getattr(out, c.action).append(_one_line(text))

    def _controls(self, obj: dict[str, Any], out: Decision) -> None:
        from socle.core.document import Document
        from socle.security.runner import FileResult

        res = FileResult()
        self.scanner.scan_document(Document(obj=obj, file="<request>", format="json"), res)
        for f in res.findings:
            if f.source != "security":
                if f.rule_id == "control/error":
                    raise SocleError(f.message)
                continue
            excepted = f.extra.get("status") == "excepted"
            text = f"[{f.rule_id} {f.title}] {f.message}"
            if f.severity >= self.deny_at and not (
                    excepted and self.settings.honour_inline_exceptions):
                out.deny.append(_one_line(f"{text} (fix: {_one_line(f.remediation, 300)})"))
            elif self.warn_at is not None and f.severity >= self.warn_at and not excepted:
                out.warn.append(_one_line(text))

    def _conftest(self, obj: dict[str, Any], out: Decision) -> None:
        from socle.core.finding import Report
        from socle.policy.conftest import Target

        report = Report(command="webhook")
        self.conftest.check(Target("<request>", obj), report)
        for f in report.findings:
            if f.title == "failure":
                out.deny.append(_one_line(f"[{f.rule_id}] {f.message}"))
            elif f.title == "warning":
                out.warn.append(_one_line(f"[{f.rule_id}] {f.message}"))


# --- the audit: the same policies over the live cluster -----------------------------------------

_SA_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def cluster_config(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """How the audit reaches the API server: ``kubeconfig`` (and ``context``) when given; else
    the pod's service account when running in a cluster; else ``$KUBECONFIG`` or
    ``~/.kube/config``, as kubectl. The token file is read at each audit (it is rotated)."""
    from socle.cluster import KubeConfig, load_kubeconfig
    from socle.cluster.client import ClusterError

    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get(
        "KUBERNETES_SERVICE_PORT", "443")
    token_file = os.path.join(_SA_DIR, "token")
    if kubeconfig is None and context is None and host and os.path.isfile(token_file):
        try:
            with open(token_file, encoding="utf-8") as fh:
                token = fh.read().strip()
            ca = None
            if os.path.isfile(os.path.join(_SA_DIR, "ca.crt")):
                with open(os.path.join(_SA_DIR, "ca.crt"), "rb") as fb:
                    ca = fb.read()
        except OSError as err:
            raise ClusterError(f"cannot read the service account: {err}", token_file) from None
        server = f"https://[{host}]:{port}" if ":" in host else f"https://{host}:{port}"
        return KubeConfig(server=server, ca_data=ca, token=token, context="in-cluster",
                          source=token_file)
    return load_kubeconfig(kubeconfig, context)


def _excluded_namespace(obj: dict[str, Any], patterns: list[str]) -> bool:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    ns = meta.get("namespace") if isinstance(meta, dict) else None
    if not ns and obj.get("kind") == "Namespace" and obj.get("apiVersion") == "v1":
        ns = meta.get("name") if isinstance(meta, dict) else None
    return isinstance(ns, str) and bool(ns) and any(glob_match(p, ns) for p in patterns)


def audit(root: str, settings: Settings, display: str | None = None,
          objects: list[dict[str, Any]] | None = None, context: str = "") -> dict[str, Any]:
    """One audit of the live cluster with the policies of ``root`` (a snapshot): every readable
    object is read (unless ``objects`` is given), then the Gatekeeper constraints, the controls
    (cross-resource ones included: the audit sees the whole cluster) and the conftest rules are
    evaluated over the objects outside the excluded namespaces. Returns the report as the JSON
    of ``socle scan -o json`` plus an ``audit`` section (Gatekeeper's constraint status:
    ``totalViolations`` and at most ``audit_violations_limit`` violations per constraint)."""
    import datetime as dt

    from socle.core.finding import Finding, Resource, Severity
    from socle.outputs.json import to_dict
    from socle.policy.conftest import Target
    from socle.security.runner import ScanOptions, scan_objects

    started = time.time()
    t0 = time.monotonic()
    skipped: dict[str, str] = {}
    if objects is None:
        from socle.cluster import KubeClient

        config = cluster_config(settings.kubeconfig, settings.kube_context)
        context = context or config.context
        with KubeClient(config) as client:
            inventory = client.list_all()
        objects, skipped = inventory.objects, dict(inventory.skipped)
    source = f"cluster:{context}" if context else "cluster"
    read_s = time.monotonic() - t0
    policies = PolicySet(root, settings, display, cluster_objects=objects)
    audited = [(i, o) for i, o in enumerate(objects)
               if not _excluded_namespace(o, settings.exclude_namespaces)]

    # controls: exactly as `socle scan --cluster` (scores, exceptions, cross-resource controls)
    if policies.control_ids:
        options = ScanOptions(controls_dirs=policies.control_roots,
                              bundled=bool(settings.framework), include=policies.control_ids,
                              engine=settings.engine)
        report = scan_objects([o for _, o in audited], options, source)
        index = {n: i for n, (i, _) in enumerate(audited)}
        for f in report.findings:  # the index in the cluster's list, not in the audited part
            f.document_index = index.get(f.document_index, f.document_index)
    else:
        from socle.core.finding import Report

        report = Report(command="scan")
    report.command = "webhook audit"
    report.files = 0

    # Gatekeeper: each object is reviewed as Gatekeeper's audit does (no operation, no user)
    from socle.policy import gatekeeper as gk

    totals: dict[tuple[str, str], list[Any]] = {}
    errors: list[str] = []
    if policies.gatekeeper is not None:
        for c in policies.gatekeeper.constraints:
            totals[(c.kind, c.name)] = []
        for i, obj in audited:
            meta = obj.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            ns = meta.get("namespace")
            review = gk.make_review(obj, policies.namespaces.get(ns) if isinstance(ns, str)
                                    else None, operation="")
            try:
                found = policies._violations(obj, review)
            except SocleError as err:
                errors.append(_one_line(f"{Resource.of(obj).kind}/{meta.get('name')}: {err}"))
                continue
            for v in found:
                c = v.constraint
                totals[(c.kind, c.name)].append((obj, v))
                report.add(Finding(rule_id=c.rule_id, message=v.message, severity=c.severity,
                                   source="policy", resource=Resource.of(obj), file=source,
                                   document_index=i, title=c.kind,
                                   remediation=policies.descriptions.get(c.kind, ""),
                                   extra={"enforcementAction": c.action}))

    # conftest rules: deny/violation as failures, warn as warnings
    conftest: dict[tuple[str, str], int] = {}
    if policies.conftest is not None:
        from socle.core.finding import Report

        for i, obj in audited:
            part = Report(command="webhook")
            try:
                policies.conftest.check(Target(source, obj), part)
            except SocleError as err:
                errors.append(_one_line(f"{Resource.of(obj).kind}/"
                                        f"{(obj.get('metadata') or {}).get('name')}: {err}"))
                continue
            for f in part.findings:
                if f.title not in ("failure", "warning"):
                    continue
                action = "deny" if f.title == "failure" else "warn"
                conftest[(f.rule_id, action)] = conftest.get((f.rule_id, action), 0) + 1
                f.file, f.line, f.document_index = source, 0, i
                f.resource = Resource.of(obj)
                f.severity = Severity.HIGH if action == "deny" else Severity.LOW
                report.add(f)

    limit = settings.audit_violations_limit
    constraints = []
    for (kind, name), hits in sorted(totals.items()):
        c = next(x for x in policies.gatekeeper.constraints if (x.kind, x.name) == (kind, name))
        constraints.append({
            "kind": kind, "name": name, "enforcementAction": c.action,
            "totalViolations": len(hits),
            "violations": [{"enforcementAction": c.action, "group": Resource.of(o).api_version
                            .rpartition("/")[0], "version": Resource.of(o).api_version
                            .rpartition("/")[2], "kind": Resource.of(o).kind,
                            "namespace": Resource.of(o).namespace, "name": Resource.of(o).name,
                            "message": v.message} for o, v in hits[:limit]]})
    controls: dict[tuple[str, str], int] = {}
    for f in report.findings:
        if f.source == "security":
            key = (f.rule_id, str(f.severity))
            controls[key] = controls.get(key, 0) + 1
    out = to_dict(report)
    out["audit"] = {
        "timestamp": dt.datetime.fromtimestamp(started, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "durationSeconds": round(time.monotonic() - t0, 3),
        "readSeconds": round(read_s, 3),
        "cluster": context, "objects": len(objects), "audited": len(audited),
        "skippedKinds": skipped, "errors": errors,
        "constraints": constraints,
        "controls": [{"control": k[0], "severity": k[1], "findings": n}
                     for k, n in sorted(controls.items())],
        "conftest": [{"rule": k[0], "action": k[1], "violations": n}
                     for k, n in sorted(conftest.items())],
    }
    return out


def write_atomically(path: str, text: str) -> None:
    """Write ``path`` so that a reader sees the old file or the new one, never a part."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".socle-audit-", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _audit_entry() -> None:
    """The audit process: arguments as JSON on stdin, the audit summary as JSON on stdout (the
    full report goes to ``--audit-output``)."""
    import sys

    from socle.formats.yaml import quiet_native_stderr

    with contextlib.suppress(OSError):
        os.nice(10)  # admission reviews come first
    args = json.loads(sys.stdin.read())
    settings = Settings(**args["settings"])
    quiet_native_stderr().__enter__()
    try:
        result = audit(args["root"], settings, args["display"])
    except SocleError as err:
        sys.stdout.write(json.dumps({"error": _one_line(str(err))}))
        return
    except Exception as err:
        sys.stdout.write(json.dumps({"error": _one_line(f"{type(err).__name__}: {err}")}))
        return
    if settings.audit_output:
        try:
            write_atomically(settings.audit_output, json.dumps(result, indent=2,
                                                               ensure_ascii=False) + "\n")
        except OSError as err:
            sys.stdout.write(json.dumps({"error": f"cannot write {settings.audit_output}: "
                                                  f"{err.strerror}"}))
            return
    summary = dict(result["audit"])
    for c in summary["constraints"]:
        c.pop("violations", None)
    summary["findings"] = result["summary"]["findings"]
    sys.stdout.write(json.dumps(summary))


def run_audit_process(root: str, settings: Settings, display: str,
                      timeout: float | None = None,
                      running: Callable[[Any], None] | None = None) -> dict[str, Any]:
    """One audit in a child process (its CPU and memory are not the server's); the summary,
    or ``{"error": ...}``."""
    import subprocess
    import sys

    import socle

    env = dict(os.environ)
    src = os.path.dirname(os.path.dirname(os.path.abspath(socle.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [src, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
    args = json.dumps({"root": root, "display": display,
                       "settings": dataclasses.asdict(settings)})
    proc = subprocess.Popen([sys.executable, "-c",
                             "import socle.policy.webhook as w; w._audit_entry()"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)
    if running is not None:
        running(proc)
    try:
        stdout, stderr = proc.communicate(args, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"the audit took longer than {timeout:g}s"}
    try:
        out = json.loads(stdout)
    except ValueError:
        tail = " ".join(stderr.strip().splitlines()[-3:])
        return {"error": _one_line(f"the audit process failed (exit {proc.returncode}): "
                                   f"{tail}")}
    return out if isinstance(out, dict) else {"error": "the audit process answered nonsense"}


_WARM_UP: list[dict[str, Any]] = [
    {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "warm-up", "namespace": "default"},
     "spec": {"containers": [{"name": "c", "image": "example:1"}]}},
    {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "warm-up", "namespace": "default"},
     "spec": {"template": {"spec": {"containers": [{"name": "c", "image": "example:1"}]}}}},
]



# --- metrics (Prometheus text exposition format 0.0.4) ------------------------------------------

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OUTCOMES = ("allowed", "denied", "excluded", "timeout", "error", "bad_request", "too_large",
            "rejected_busy")
ACTIONS = ("deny", "warn", "dryrun")

# one slot of float64 per server process (and one for the supervisor): only its owner writes it
_F_BUSY = 0  # the deadline (time.monotonic) of the review being evaluated; 0: none
_F_TIMEOUTS = 1
_F_OUT = 2
_F_ACT = _F_OUT + len(OUTCOMES)
_F_BUCKET = _F_ACT + len(ACTIONS)
_F_COUNT = _F_BUCKET + len(BUCKETS)
_F_TOTAL = _F_COUNT + 1
_SLOT = 32
_SLOTS = 64


class Counters:
    """Counters shared by every process of the server: a file mapped into memory, one slot of
    float64 per process (a process reuses a slot by adding to it, so counters never go back)."""

    def __init__(self, path: str | None = None, slots: int = _SLOTS) -> None:
        import mmap

        self.path = path
        size = slots * _SLOT * 8
        if path is None:
            self._mem: Any = bytearray(size)
        else:
            with open(path, "r+b") as fh:
                self._mem = mmap.mmap(fh.fileno(), 0)
        self.view: Any = memoryview(self._mem).cast("d")
        self.slots = len(self.view) // _SLOT

    @staticmethod
    def create(path: str, slots: int = _SLOTS) -> Counters:
        with open(path, "wb") as fh:
            fh.write(b"\0" * slots * _SLOT * 8)
        return Counters(path)

    def slot(self, i: int) -> Any:
        return self.view[i * _SLOT:(i + 1) * _SLOT]

    def total(self, field: int) -> float:
        v = self.view
        return float(sum(v[i * _SLOT + field] for i in range(self.slots)))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.view.release()
            if self.path is not None:
                self._mem.close()


class Metrics:
    """Request counters live in :class:`Counters` (summed over the server processes at each
    scrape); reloads, policies and the audit are the supervisor's, handed to the server
    processes in a small JSON file (``state_file``) written atomically when they change."""

    def __init__(self, counters: Counters | None = None, slot: int = 0,
                 state_file: str | None = None) -> None:
        self.counters = counters or Counters(None, 1)
        self.mine = self.counters.slot(slot)
        self.state_file = state_file
        self._lock = threading.Lock()
        self.reloads: dict[str, int] = {"success": 0, "failure": 0}
        self.policies: dict[str, int] = {}
        self.audit_runs: dict[str, int] = {"success": 0, "failure": 0}
        self.audit: dict[str, Any] | None = None  # the last successful audit's summary
        self.audit_started = 0.0  # the last audit's start (Unix time)
        self.audit_succeeded = 0.0  # the last successful audit's end (Unix time)
        self.audit_seconds = 0.0

    # -- the supervisor's part -----------------------------------------------------------------

    _STATE = ("reloads", "policies", "audit_runs", "audit", "audit_started", "audit_succeeded",
              "audit_seconds")

    def publish(self) -> None:
        """Write the supervisor's part for the server processes (when ``state_file`` is set)."""
        if self.state_file is None:
            return
        with self._lock:
            state = {k: getattr(self, k) for k in self._STATE}
        with contextlib.suppress(OSError):
            write_atomically(self.state_file, json.dumps(state))

    def _load_state(self) -> None:
        if self.state_file is None:
            return
        try:
            with open(self.state_file, encoding="utf-8") as fh:
                state = json.load(fh)
        except (OSError, ValueError):
            return
        if isinstance(state, dict):
            for k in self._STATE:
                if k in state:
                    setattr(self, k, state[k])

    def audited(self, summary: dict[str, Any], started: float, seconds: float) -> None:
        with self._lock:
            self.audit_started = started
            self.audit_seconds = seconds
            if summary.get("error"):
                self.audit_runs["failure"] += 1
            else:
                self.audit_runs["success"] += 1
                self.audit = summary
                self.audit_succeeded = started + seconds
        self.publish()

    def reload(self, ok: bool) -> None:
        with self._lock:
            self.reloads["success" if ok else "failure"] += 1
        self.publish()

    # -- a server process's part (single writer: its own slot) ---------------------------------

    def request(self, outcome: str, seconds: float | None = None) -> None:
        m = self.mine
        m[_F_OUT + (OUTCOMES.index(outcome) if outcome in OUTCOMES else OUTCOMES.index(
            "error"))] += 1
        if outcome == "timeout":
            m[_F_TIMEOUTS] += 1
        if seconds is not None:
            m[_F_COUNT] += 1
            m[_F_TOTAL] += seconds
            # cumulative buckets: count in the first that holds it, summed when rendered
            i = bisect.bisect_left(BUCKETS, seconds)
            if i < len(BUCKETS):
                m[_F_BUCKET + i] += 1

    def timeout_killed(self) -> None:
        """A review whose process was killed for overrunning (no answer was sent)."""
        self.mine[_F_TIMEOUTS] += 1

    def decision(self, action: str, n: int = 1) -> None:
        if n:
            self.mine[_F_ACT + ACTIONS.index(action)] += n

    def render(self) -> str:
        def esc(v: str) -> str:
            return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")

        self._load_state()
        c = self.counters

        def n(field: int) -> int:
            return int(c.total(field))

        lines = [
            "# HELP socle_webhook_requests_total Admission reviews answered, by outcome.",
            "# TYPE socle_webhook_requests_total counter",
        ]
        for i, k in sorted(enumerate(OUTCOMES), key=lambda x: x[1]):
            if n(_F_OUT + i):
                lines.append(f'socle_webhook_requests_total{{outcome="{k}"}} {n(_F_OUT + i)}')
        lines += ["# HELP socle_webhook_decisions_total Violations found, by enforcement "
                  "action (deny, warn, dryrun).",
                  "# TYPE socle_webhook_decisions_total counter"]
        for i, k in sorted(enumerate(ACTIONS), key=lambda x: x[1]):
            if n(_F_ACT + i):
                lines.append(f'socle_webhook_decisions_total{{action="{k}"}} {n(_F_ACT + i)}')
        lines += ["# HELP socle_webhook_timeouts_total Reviews that overran --timeout.",
                  "# TYPE socle_webhook_timeouts_total counter",
                  f"socle_webhook_timeouts_total {n(_F_TIMEOUTS)}",
                  "# HELP socle_webhook_policy_reloads_total Policy reloads, by result.",
                  "# TYPE socle_webhook_policy_reloads_total counter"]
        for k in sorted(self.reloads):
            lines.append(f'socle_webhook_policy_reloads_total{{result="{k}"}} '
                         f"{self.reloads[k]}")
        lines += ["# HELP socle_webhook_policies Policies loaded, by kind.",
                  "# TYPE socle_webhook_policies gauge"]
        for k in sorted(self.policies):
            lines.append(f'socle_webhook_policies{{kind="{esc(k)}"}} {self.policies[k]}')
        lines += ["# HELP socle_webhook_request_duration_seconds Time to answer an "
                  "admission review.",
                  "# TYPE socle_webhook_request_duration_seconds histogram"]
        running = 0
        for i, b in enumerate(BUCKETS):
            running += n(_F_BUCKET + i)
            lines.append(f'socle_webhook_request_duration_seconds_bucket{{le="{b:g}"}} '
                         f"{running}")
        count = n(_F_COUNT)
        lines.append(f'socle_webhook_request_duration_seconds_bucket{{le="+Inf"}} {count}')
        lines.append(f"socle_webhook_request_duration_seconds_sum {c.total(_F_TOTAL):.6f}")
        lines.append(f"socle_webhook_request_duration_seconds_count {count}")
        if self.audit_started:
            lines += self._audit_lines(esc)
        return "\n".join(lines) + "\n"

    def _audit_lines(self, esc: Callable[[str], str]) -> list[str]:
        lines = ["# HELP socle_webhook_audit_runs_total Audits of the live cluster, by result.",
                 "# TYPE socle_webhook_audit_runs_total counter"]
        for k in sorted(self.audit_runs):
            lines.append(f'socle_webhook_audit_runs_total{{result="{k}"}} {self.audit_runs[k]}')
        lines += ["# HELP socle_webhook_audit_last_run_timestamp_seconds Start of the last "
                  "audit (Unix time).",
                  "# TYPE socle_webhook_audit_last_run_timestamp_seconds gauge",
                  f"socle_webhook_audit_last_run_timestamp_seconds {self.audit_started:.3f}",
                  "# HELP socle_webhook_audit_last_success_timestamp_seconds End of the last "
                  "successful audit (Unix time; 0: none yet).",
                  "# TYPE socle_webhook_audit_last_success_timestamp_seconds gauge",
                  f"socle_webhook_audit_last_success_timestamp_seconds "
                  f"{self.audit_succeeded:.3f}",
                  "# HELP socle_webhook_audit_duration_seconds How long the last audit took.",
                  "# TYPE socle_webhook_audit_duration_seconds gauge",
                  f"socle_webhook_audit_duration_seconds {self.audit_seconds:.3f}"]
        a = self.audit
        if a is None:
            return lines
        lines += ["# HELP socle_webhook_audit_resources Objects read and audited by the last "
                  "successful audit.",
                  "# TYPE socle_webhook_audit_resources gauge",
                  f'socle_webhook_audit_resources{{state="read"}} {a.get("objects", 0)}',
                  f'socle_webhook_audit_resources{{state="audited"}} {a.get("audited", 0)}']
        by_action: dict[str, int] = {"deny": 0, "warn": 0, "dryrun": 0}
        for c in a.get("constraints") or []:
            act = str(c.get("enforcementAction"))
            by_action[act] = by_action.get(act, 0) + int(c.get("totalViolations") or 0)
        lines += ["# HELP socle_webhook_audit_violations Gatekeeper constraint violations of "
                  "the last audit, by enforcement action.",
                  "# TYPE socle_webhook_audit_violations gauge"]
        for k in sorted(by_action):
            lines.append(f'socle_webhook_audit_violations{{enforcement_action="{esc(k)}"}} '
                         f"{by_action[k]}")
        lines += ["# HELP socle_webhook_audit_constraint_violations totalViolations of each "
                  "constraint in the last audit.",
                  "# TYPE socle_webhook_audit_constraint_violations gauge"]
        for c in a.get("constraints") or []:
            lines.append(f'socle_webhook_audit_constraint_violations{{kind="{esc(str(c["kind"]))}"'
                         f',name="{esc(str(c["name"]))}",enforcement_action="'
                         f'{esc(str(c["enforcementAction"]))}"}} {c["totalViolations"]}')
        lines += ["# HELP socle_webhook_audit_control_findings Findings of each control in the "
                  "last audit, by severity (excepted findings are not counted).",
                  "# TYPE socle_webhook_audit_control_findings gauge"]
        for c in a.get("controls") or []:
            lines.append(f'socle_webhook_audit_control_findings{{control="{esc(str(c["control"]))}"'
                         f',severity="{esc(str(c["severity"]))}"}} {c["findings"]}')
        lines += ["# HELP socle_webhook_audit_conftest_violations Conftest rule results of the "
                  "last audit, by rule and action.",
                  "# TYPE socle_webhook_audit_conftest_violations gauge"]
        for c in a.get("conftest") or []:
            lines.append(f'socle_webhook_audit_conftest_violations{{rule="{esc(str(c["rule"]))}"'
                         f',action="{esc(str(c["action"]))}"}} {c["violations"]}')
        lines += ["# HELP socle_webhook_audit_errors Objects the last audit could not evaluate.",
                  "# TYPE socle_webhook_audit_errors gauge",
                  f"socle_webhook_audit_errors {len(a.get('errors') or [])}"]
        return lines


# --- the server ---------------------------------------------------------------------------------


class BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_review(body: bytes) -> dict[str, Any]:
    """The ``request`` of an AdmissionReview (admission.k8s.io/v1); BadRequest otherwise."""
    try:
        review = json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest(400, "the body is not UTF-8 JSON") from None
    except json.JSONDecodeError as err:
        raise BadRequest(400, f"the body is not valid JSON ({err.msg} at line {err.lineno} "
                              f"column {err.colno})") from None
    except RecursionError:
        raise BadRequest(400, "the body is nested too deeply") from None
    except ValueError as err:  # e.g. an integer of more than 4300 digits
        raise BadRequest(400, f"the body cannot be read: {err}") from None
    if not isinstance(review, dict):
        raise BadRequest(400, "the body must be a JSON object (an AdmissionReview)")
    if review.get("kind") != "AdmissionReview":
        raise BadRequest(400, f"expected kind AdmissionReview, got {review.get('kind')!r}")
    if review.get("apiVersion") != "admission.k8s.io/v1":
        raise BadRequest(400, f"expected apiVersion admission.k8s.io/v1, got "
                              f"{review.get('apiVersion')!r} (set admissionReviewVersions: "
                              "[v1])")
    request = review.get("request")
    if not isinstance(request, dict):
        raise BadRequest(400, "the AdmissionReview has no request object")
    uid = request.get("uid")
    if not isinstance(uid, str) or not uid:
        raise BadRequest(400, "the AdmissionReview request has no uid")
    for key in ("object", "oldObject"):
        if request.get(key) is not None and not isinstance(request[key], dict):
            raise BadRequest(400, f"request.{key} must be an object")
    return request


def glob_match(pattern: str, value: str) -> bool:
    return fnmatch.fnmatchcase(value, pattern)


_STATUS_LINES: dict[int, bytes] = {}
_DATE: list[Any] = [0, b""]


def _status_line(status: int) -> bytes:
    line = _STATUS_LINES.get(status)
    if line is None:
        phrase = http.HTTPStatus(status).phrase if status in http.HTTPStatus._value2member_map_ \
            else ""
        line = _STATUS_LINES[status] = f"HTTP/1.1 {status} {phrase}\r\n".encode("latin-1")
    return line


def _http_date() -> bytes:
    """The Date header's value, formatted once a second."""
    now = int(time.time())
    if _DATE[0] != now:
        import email.utils

        _DATE[1] = email.utils.formatdate(now, usegmt=True).encode("latin-1")
        _DATE[0] = now
    value: bytes = _DATE[1]
    return value



# --- a server process: TLS, HTTP and evaluation in one process ----------------------------------


class PolicyLoadError(SocleError):
    """A policy folder that does not load (the previous policies stay in force)."""


class EvaluationTimeout(BaseException):
    """Raised by SIGALRM in the evaluation that overran (a BaseException: ``except Exception``
    in policy code cannot swallow it)."""


def _what(request: dict[str, Any]) -> str:
    kind = request.get("kind")
    return str(kind.get("kind")) if isinstance(kind, dict) else "object"


def excluded(settings: Settings, request: dict[str, Any]) -> str | None:
    """Why ``request`` is not reviewed (an excluded namespace, user or group), else None."""
    s = settings
    ns = request.get("namespace")
    if isinstance(ns, str) and ns and any(glob_match(p, ns) for p in s.exclude_namespaces):
        return f"namespace {ns} is excluded"
    obj = request.get("object") if isinstance(request.get("object"), dict) \
        else request.get("oldObject")
    if isinstance(obj, dict) and obj.get("kind") == "Namespace" and not ns:
        name = (obj.get("metadata") or {}).get("name") if isinstance(
            obj.get("metadata"), dict) else None
        if isinstance(name, str) and any(glob_match(p, name) for p in s.exclude_namespaces):
            return f"namespace {name} is excluded"
    user = request.get("userInfo")
    if isinstance(user, dict):
        name = user.get("username")
        if isinstance(name, str) and any(glob_match(p, name) for p in s.exclude_users):
            return f"user {name} is excluded"
        groups = user.get("groups")
        if isinstance(groups, list):
            for g in groups:
                if isinstance(g, str) and any(glob_match(p, g) for p in s.exclude_groups):
                    return f"group {g} is excluded"
    return None


def failed_response(settings: Settings, uid: str, request: dict[str, Any], failure: str,
                    error: str | None = None) -> dict[str, Any]:
    """The AdmissionResponse of a review that could not be decided, per the failure policy."""
    if failure == "timeout":
        why = f"socle webhook: policy evaluation took longer than {settings.timeout:g}s"
    elif failure == "error" and error is not None:
        why = f"socle webhook: policy evaluation failed: {error}"
    else:
        why = "socle webhook: internal error (see the server log)"
    log.error("%s for %s %s/%s (failure policy %s)", why, _what(request),
              request.get("namespace") or "-", request.get("name") or "-",
              settings.failure_policy)
    if settings.failure_policy == "Ignore":
        return {"uid": uid, "allowed": True,
                "warnings": [_one_line(why + "; allowed by failurePolicy Ignore", 512)]}
    return {"uid": uid, "allowed": False,
            "status": {"code": 500, "message": why + " (failurePolicy Fail)"}}


def _on_alarm(signum: int, frame: Any) -> None:
    raise EvaluationTimeout()


class Reviewer:
    """Decides reviews with one compiled policy set, under the hard per-review budget: a
    SIGALRM timer interrupts Python evaluation at the deadline (main thread only). A native
    call (regorus) runs to its end before the signal is handled; the supervisor kills a process
    that overruns the budget by more than :data:`KILL_GRACE` seconds."""

    def __init__(self, policies: PolicySet, settings: Settings, metrics: Metrics) -> None:
        import signal

        self.policies = policies
        self.settings = settings
        self.metrics = metrics
        self.timed_out = False  # an evaluation was interrupted: its state may be inconsistent
        signal.signal(signal.SIGALRM, _on_alarm)

    def review(self, request: dict[str, Any], received: float) -> tuple[dict[str, Any], str]:
        """The AdmissionResponse for ``request`` (fully received at ``received``, monotonic)
        and the outcome (for metrics)."""
        import signal

        uid = request["uid"]
        if excluded(self.settings, request) is not None:
            return {"uid": uid, "allowed": True}, "excluded"
        deadline = received + self.settings.timeout
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return failed_response(self.settings, uid, request, "timeout"), "timeout"
        decision: Decision | None = None
        slot = self.metrics.mine
        slot[_F_BUSY] = deadline
        try:
            try:
                # fires again every 50 ms should something catch the first one
                signal.setitimer(signal.ITIMER_REAL, remaining, 0.05)
                decision = self.policies.evaluate(request)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except EvaluationTimeout:
            decision = None
        finally:
            slot[_F_BUSY] = 0
        if decision is None or time.monotonic() > deadline + 0.05:
            self.timed_out = decision is None
            return failed_response(self.settings, uid, request, "timeout"), "timeout"
        if decision.error:
            return failed_response(self.settings, uid, request, "error", decision.error), "error"
        deny, warn, dryrun = decision.deny, decision.warn, decision.dryrun
        self.metrics.decision("deny", len(deny))
        self.metrics.decision("warn", len(warn))
        self.metrics.decision("dryrun", len(dryrun))
        for msg in dryrun:
            log.info("dryrun %s %s/%s: %s", _what(request), request.get("namespace") or "-",
                     request.get("name") or "-", msg)
        response: dict[str, Any] = {"uid": uid, "allowed": not deny}
        if warn:
            response["warnings"] = [_one_line(w, 512) for w in warn[:20]]
        if deny:
            log.debug("denied %s %s/%s: %s", _what(request), request.get("namespace") or "-",
                      request.get("name") or "-", "; ".join(deny))
            response["status"] = {
                "code": 403, "reason": "Forbidden",
                "message": _one_line("denied by socle: " + "; ".join(deny), 4000)}
            return response, "denied"
        return response, "allowed"


_MAX_HEAD = 64 * 1024
_PLAIN = "text/plain; charset=utf-8"


class _Conn:
    """One client connection of a server process (non-blocking)."""

    __slots__ = (
        "close_after",
        "discard_left",
        "discard_until",
        "events",
        "fd",
        "inbuf",
        "last",
        "out",
        "pending",
        "requests",
        "sock",
        "started",
        "state",
    )

    def __init__(self, sock: Any, now: float) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.state = "handshake" if isinstance(sock, ssl.SSLSocket) else "read"
        self.inbuf = bytearray()
        self.out = b""
        self.close_after = False
        self.last = now  # the last bytes received (or the connection's start)
        self.started = 0.0  # the current request's first bytes (0: between requests)
        self.pending: tuple[str, bool, int, float] | None = None  # path, keep, length, t0
        self.events = 0
        self.discard_left = 0
        self.discard_until = 0.0
        self.requests = 0


class ServeLoop:
    """The event loop of a server process: accepts on the shared listening socket, does the
    TLS handshakes and reads requests without blocking (a slow client holds nothing), and
    evaluates complete requests one at a time in this (main) thread."""

    def __init__(self, reviewer: Reviewer, settings: Settings, listener: socket.socket,
                 ssl_context: ssl.SSLContext | None, control: Any, metrics: Metrics,
                 max_connections: int) -> None:
        import selectors

        self.reviewer = reviewer
        self.settings = settings
        self.listener = listener
        self.ssl_context = ssl_context
        self.control = control
        self.metrics = metrics
        self.max_connections = max(1, max_connections)
        self.sel = selectors.DefaultSelector()
        self.sel.register(control.fileno(), selectors.EVENT_READ, None)
        self.conns: dict[int, _Conn] = {}
        self.mode = "wait"  # wait (for go), serve, drain (reload), stop (shutdown)
        self.accepting = False

    # -- control ---------------------------------------------------------------------------

    def _set_accepting(self, on: bool) -> None:
        import selectors

        if on and not self.accepting:
            self.sel.register(self.listener.fileno(), selectors.EVENT_READ, self.listener)
        elif not on and self.accepting:
            self.sel.unregister(self.listener.fileno())
        self.accepting = on

    def _control_message(self) -> None:
        try:
            msg = self.control.recv()
        except (EOFError, OSError):  # the supervisor is gone
            msg = "stop"
        if msg == "go" and self.mode == "wait":
            self.mode = "serve"
            self._set_accepting(True)
        elif msg in ("drain", "stop"):
            self._begin_ending(msg)
            with contextlib.suppress(OSError, ValueError):
                self.control.send(("draining",))

    def _begin_ending(self, mode: str) -> None:
        if self.mode == "stop" or (self.mode == "drain" and mode == "drain"):
            return
        self.mode = mode
        self._set_accepting(False)
        for c in list(self.conns.values()):
            # idle between requests: a shutdown ends it now; a reload lets its next request be
            # answered (with Connection: close) or the idle timeout end it
            idle = c.state == "handshake" or (
                c.state == "read" and not c.inbuf and c.pending is None)
            if mode == "stop" and idle:
                self._close(c)
            elif c.state == "write":
                c.close_after = True

    # -- the loop --------------------------------------------------------------------------

    def run(self) -> None:
        next_sweep = time.monotonic() + 0.25
        while True:
            if self.mode in ("drain", "stop") and not self.conns:
                return
            for key, mask in self.sel.select(0.25):
                data = key.data
                if data is None:
                    self._control_message()
                elif data is self.listener:
                    self._accept()
                else:
                    try:
                        self._io(data, mask)
                    except Exception:  # a bug: end this connection, keep serving the others
                        log.exception("a connection failed")
                        self._close(data)
            now = time.monotonic()
            if now >= next_sweep:
                next_sweep = now + 0.25
                self._sweep(now)
            if self.reviewer.timed_out and self.mode == "serve":
                # an interrupted evaluation may have left a policy engine half updated: this
                # process finishes its connections and exits; the supervisor starts another
                log.info("server process %d recycles after an interrupted evaluation",
                         os.getpid())
                with contextlib.suppress(OSError, ValueError):
                    self.control.send(("recycle",))
                self._begin_ending("drain")

    def _watch(self, c: _Conn, events: int) -> None:
        if events == c.events:
            return
        if c.events == 0:
            self.sel.register(c.fd, events, c)
        else:
            self.sel.modify(c.fd, events, c)
        c.events = events

    def _close(self, c: _Conn) -> None:
        if self.conns.pop(c.fd, None) is None:
            return
        if c.events:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.sel.unregister(c.fd)
        with contextlib.suppress(OSError):
            c.sock.close()

    def _accept(self) -> None:
        import selectors

        for _ in range(8):
            try:
                sock, _addr = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                log.debug("accept failed: %s", err)
                return
            if len(self.conns) >= self.max_connections:
                self.metrics.request("rejected_busy")
                with contextlib.suppress(OSError):
                    sock.close()
                continue
            with contextlib.suppress(OSError):  # small answers go out at once (no Nagle)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setblocking(False)
            if self.ssl_context is not None:
                try:
                    sock = self.ssl_context.wrap_socket(sock, server_side=True,
                                                        do_handshake_on_connect=False)
                except (OSError, ssl.SSLError):
                    with contextlib.suppress(OSError):
                        sock.close()
                    continue
            c = _Conn(sock, time.monotonic())
            self.conns[c.fd] = c
            self._watch(c, selectors.EVENT_READ)

    def _sweep(self, now: float) -> None:
        limit = self.settings.read_timeout
        for c in list(self.conns.values()):
            if c.state == "discard":
                if now > c.discard_until:
                    self._close(c)
            elif c.state == "write":
                if now - c.last > limit:
                    self._close(c)
            elif now - c.last > limit:
                if c.pending is not None and c.state == "read":
                    # headers came, the body did not: say so, then end the connection
                    self.metrics.request("bad_request")
                    self._respond(c, 400, _error_body(
                        400, f"the body was not received within {limit:g}s"), close=True)
                else:
                    self._close(c)
            elif c.started and now - c.started > 3 * limit:  # a trickling client
                self._close(c)

    def _io(self, c: _Conn, mask: int) -> None:
        import selectors

        try:
            if c.state == "handshake":
                try:
                    c.sock.do_handshake()
                except ssl.SSLWantReadError:
                    self._watch(c, selectors.EVENT_READ)
                    return
                except ssl.SSLWantWriteError:
                    self._watch(c, selectors.EVENT_WRITE)
                    return
                c.state = "read"
                c.last = time.monotonic()
                self._watch(c, selectors.EVENT_READ)
                self._read(c)
            elif c.state == "write":
                self._flush(c)
                if c.state == "read" and c.inbuf and c.fd in self.conns:
                    self._parse(c)  # pipelined requests that came meanwhile
            else:
                self._read(c)
        except (OSError, ssl.SSLError, ValueError) as err:
            log.debug("connection ended: %s", err)
            self._close(c)

    def _read(self, c: _Conn) -> None:
        got = False
        while True:
            try:
                chunk = c.sock.recv(262144)
            except (ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                break
            except ssl.SSLWantWriteError:
                break
            if not chunk:
                self._close(c)
                return
            got = True
            if c.state == "discard":
                c.discard_left -= len(chunk)
                if c.discard_left <= 0:
                    self._close(c)
                    return
                continue
            c.inbuf += chunk
            if len(c.inbuf) > self.settings.max_body + _MAX_HEAD + 65536:
                break  # parse what is there before reading more
        if not got or c.state == "discard":
            return
        c.last = time.monotonic()
        if not c.started:
            c.started = c.last
        self._parse(c)

    def _parse(self, c: _Conn) -> None:
        """Handle every complete request in the buffer (pipelined ones in order)."""
        while c.state == "read" and c.fd in self.conns:
            if c.pending is None:
                end = c.inbuf.find(b"\r\n\r\n")
                if end < 0:
                    if len(c.inbuf) > _MAX_HEAD:
                        self.metrics.request("bad_request")
                        self._respond(c, 431, _error_body(431, "the request head is too "
                                                               "large"), close=True)
                    return
                head = bytes(c.inbuf[:end]).decode("latin-1")
                del c.inbuf[:end + 4]
                if not self._head(c, head):
                    return
                if c.pending is None:  # answered (a GET)
                    c.started = time.monotonic() if c.inbuf else 0.0
                    continue
            path, keep, length, t0 = c.pending
            if len(c.inbuf) < length:
                return
            body = bytes(c.inbuf[:length])
            del c.inbuf[:length]
            c.pending = None
            self._post(c, path, keep, body, t0)
            c.started = time.monotonic() if c.inbuf else 0.0

    def _head(self, c: _Conn, head: str) -> bool:
        """Parse a request head; answers GETs and bad requests at once. False: stop reading
        (the connection is closing)."""
        lines = head.lstrip("\r\n").split("\r\n")
        parts = lines[0].split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.metrics.request("bad_request")
            self._respond(c, 400, _error_body(400, "bad request line"), close=True)
            return False
        method, target, version = parts
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                self.metrics.request("bad_request")
                self._respond(c, 400, _error_body(400, "bad header line"), close=True)
                return False
            key = name.lower()
            if key == "content-length" and key in headers and \
                    headers[key] != value.strip():
                self.metrics.request("bad_request")
                self._respond(c, 400, _error_body(400, "conflicting Content-Length headers"),
                              close=True)
                return False
            headers[key] = value.strip()
        conn_hdr = headers.get("connection", "").lower()
        keep = "close" not in conn_hdr if version == "HTTP/1.1" else "keep-alive" in conn_hdr
        if self.mode in ("drain", "stop"):
            keep = False
        path = target.split("?", 1)[0]
        log.debug("%s %s", method, path)
        if method == "GET":
            has_body = headers.get("content-length", "0") not in ("", "0") or \
                "transfer-encoding" in headers
            self._get(c, path, keep and not has_body)
            return keep and not has_body
        if method != "POST":
            self.metrics.request("bad_request")
            self._respond(c, 501, _error_body(501, f"unsupported method {method!r}"),
                          close=True)
            return False
        if path != "/validate":
            self.metrics.request("bad_request")
            self._respond(c, 404, _error_body(404, f"no such path {path!r} (POST /validate)"),
                          close=True)
            return False
        ctype = headers.get("content-type", "").split(";", 1)[0].strip().lower()
        problem = ""
        status = 400
        length = -1
        if ctype != "application/json":
            problem = f"Content-Type must be application/json, not {ctype or 'missing'!r}"
        elif headers.get("transfer-encoding"):
            problem = "chunked bodies are not accepted; send Content-Length"
        else:
            raw = headers.get("content-length", "")
            length = int(raw) if raw.isdigit() else -1
            if length < 0:
                problem = "a valid Content-Length header is required"
            elif length > self.settings.max_body:
                status = 413
                problem = (f"the body is {length} bytes; the limit is {self.settings.max_body}"
                           " (--max-body-bytes)")
        if problem:
            self.metrics.request("too_large" if status == 413 else "bad_request")
            if status == 413:
                # read and drop a little of the unwanted body (bounded in bytes and time), so
                # that a client still sending it reads the answer instead of a reset
                c.discard_left = 256 * 1024 - len(c.inbuf)
                c.discard_until = time.monotonic() + 1.0
                c.inbuf.clear()
            self._respond(c, status, _error_body(status, problem), close=True)
            return False
        if headers.get("expect", "").lower() == "100-continue" and len(c.inbuf) < length:
            self._send_raw(c, b"HTTP/1.1 100 Continue\r\n\r\n")
        c.pending = (path, keep, length, time.monotonic())
        return True

    def _get(self, c: _Conn, path: str, keep: bool) -> None:
        if path == "/healthz":
            self._respond(c, 200, b"ok\n", _PLAIN, close=not keep)
        elif path == "/readyz":
            if self.mode == "stop":
                self._respond(c, 503, b"shutting down\n", _PLAIN, close=not keep)
            else:
                self._respond(c, 200, b"ready\n", _PLAIN, close=not keep)
        elif path == "/metrics":
            self._respond(c, 200, self.metrics.render().encode(),
                          "text/plain; version=0.0.4; charset=utf-8", close=not keep)
        else:
            self._respond(c, 404, _error_body(404, f"no such path {path!r} (POST /validate, "
                                                   "GET /healthz, /readyz, /metrics)"),
                          close=not keep)

    def _post(self, c: _Conn, path: str, keep: bool, body: bytes, t0: float) -> None:
        try:
            request = parse_review(body)
        except BadRequest as err:
            self.metrics.request("bad_request")
            self._respond(c, err.status, _error_body(err.status, err.message), close=not keep)
            return
        received = time.monotonic()
        try:
            response, outcome = self.reviewer.review(request, received)
        except Exception:  # a bug must not drop the API server's connection
            log.exception("reviewing %s failed", request.get("uid"))
            response = failed_response(self.settings, str(request["uid"]), request, "bug")
            outcome = "error"
        out = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                          "response": response}).encode()
        self.metrics.request(outcome, time.monotonic() - t0)
        self._respond(c, 200, out, close=not keep or self.mode in ("drain", "stop"))

    def _send_raw(self, c: _Conn, data: bytes) -> None:
        with contextlib.suppress(ssl.SSLWantWriteError, ssl.SSLWantReadError,
                                 BlockingIOError, OSError):
            c.sock.send(data)

    def _respond(self, c: _Conn, status: int, body: bytes, content_type: str =
                 "application/json", close: bool = False) -> None:
        """Status line, headers and body in one write (one TLS record, one syscall)."""
        if close or self.mode == "stop":
            close = True
        c.close_after = close
        c.out = b"".join((
            _status_line(status), b"Server: socle-webhook\r\nDate: ", _http_date(),
            b"\r\nContent-Type: ", content_type.encode("latin-1"), b"\r\nContent-Length: ",
            str(len(body)).encode(), b"\r\nConnection: close\r\n\r\n" if close else
            b"\r\n\r\n", body))
        c.state = "write"
        try:
            self._flush(c)
        except (OSError, ssl.SSLError, ValueError) as err:
            log.debug("connection ended: %s", err)
            self._close(c)

    def _flush(self, c: _Conn) -> None:
        import selectors

        while c.out:
            try:
                n = c.sock.send(c.out)
            except (ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                self._watch(c, selectors.EVENT_WRITE)
                return
            except ssl.SSLWantReadError:
                self._watch(c, selectors.EVENT_READ)
                return
            c.out = c.out[n:]
        c.last = time.monotonic()
        if c.discard_until:
            c.state = "discard"
            self._watch(c, selectors.EVENT_READ)
            return
        if c.close_after:
            self._close(c)
            return
        c.state = "read"
        c.requests += 1
        self._watch(c, selectors.EVENT_READ)


def _error_body(status: int, message: str) -> bytes:
    return json.dumps({"error": message, "code": status}).encode() + b"\n"


def _server_entry(fd: int) -> None:
    """A server process's entry point (``python -c``): its arguments come over the control
    socket ``fd``, then it serves until told to stop (``_server_main``)."""
    from multiprocessing.connection import Connection

    conn = Connection(fd)
    _server_main(conn, **conn.recv())


def _server_main(conn: Any, root: str, settings: Settings, display: str, listen_fd: int,
                 certfile: str | None, keyfile: str | None, counters: str, slot: int,
                 state_file: str, log_level: int, slots: int) -> None:
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # the log (and any traceback) goes to the real standard error; native libraries' own
    # chatter on fd 2 does not
    sys.stderr = os.fdopen(os.dup(2), "w", buffering=1, encoding="utf-8", errors="replace")
    logging.basicConfig(level=log_level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    try:
        policies = PolicySet(root, settings, display)
        ctx = None
        if certfile and keyfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.minimum_version = ssl.TLSVersion.TLSv1_2
            ctx.load_cert_chain(certfile, keyfile)
    except SocleError as err:
        conn.send(("error", str(err)))
        return
    except Exception as err:
        conn.send(("error", f"{type(err).__name__}: {err}"))
        return
    # regorus resolves rules at the first evaluation: do it now, not in the first review
    for obj in _WARM_UP:
        policies.evaluate({"uid": "warm-up", "operation": "CREATE", "namespace": "default",
                           "kind": {"group": "", "version": "v1", "kind": obj["kind"]},
                           "userInfo": {}, "object": obj})
    # the compiled policies live as long as the process: keep them out of the collector's
    # full passes (a pass over them would be a pause of tens of milliseconds in some review)
    import gc

    gc.collect()
    gc.freeze()
    metrics = Metrics(Counters(counters), slot, state_file)
    metrics.mine[_F_BUSY] = 0
    listener = socket.socket(fileno=listen_fd)
    listener.setblocking(False)
    reviewer = Reviewer(policies, settings, metrics)
    per_process = -(-settings.max_connections // max(1, slots))
    loop = ServeLoop(reviewer, settings, listener, ctx, conn, metrics, per_process)
    conn.send(("ready", policies.summary()))
    loop.run()
    logging.shutdown()
    os._exit(0)  # nothing left to clean up: skip tearing down the compiled policies


# --- the supervisor: server processes, reload, audit -------------------------------------------

KILL_GRACE = 0.25  # seconds past the budget before a process stuck in a native call is killed


class _Server:
    """A server process as the supervisor sees it."""

    def __init__(self, popen: Any, conn: Any, slot: int, generation: _Generation) -> None:
        self.popen = popen
        self.conn = conn
        self.slot = slot
        self.generation = generation
        self.drained = threading.Event()
        self.replaced = False  # a replacement was started (recycle, death)

    @property
    def pid(self) -> int:
        return int(self.popen.pid)

    def send(self, msg: Any) -> None:
        with contextlib.suppress(Exception):
            self.conn.send(msg)

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.popen.kill()


class _Generation:
    """The server processes of one policy snapshot."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.servers: list[_Server] = []
        self.retired = False
        self.summary: dict[str, int] = {}


class WebhookServer:
    """The admission webhook's supervisor: it owns the listening socket, starts the server
    processes (each accepts on that socket and does TLS, HTTP and evaluation itself), replaces
    those that die or overrun, reloads the policies and runs the audit."""

    def __init__(self, settings: Settings, host: str = "0.0.0.0", port: int = DEFAULT_PORT,
                 certfile: str | None = None, keyfile: str | None = None) -> None:
        settings.check()
        self.settings = settings
        self.certfile, self.keyfile = certfile, keyfile
        if certfile or keyfile:
            if not (certfile and keyfile):
                raise UsageError("--tls-cert and --tls-key go together")
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                ctx.load_cert_chain(certfile, keyfile)
            except (OSError, ssl.SSLError) as err:
                raise UsageError(f"cannot load the TLS certificate/key: {err}") from None
        self.size = settings.workers or cores()
        self.listener = socket.create_server((host, port), backlog=1024)
        self.address = (host, self.listener.getsockname()[1])
        self.port = self.address[1]
        self.tls = bool(certfile)
        self._run = tempfile.mkdtemp(prefix="socle-webhook-run-")
        self.counters = Counters.create(os.path.join(self._run, "counters"))
        self.metrics = Metrics(self.counters, 0, os.path.join(self._run, "state.json"))
        self.metrics.publish()
        self._used_slots: set[int] = {0}
        self.current: _Generation | None = None
        self._generations: list[_Generation] = []
        self._fingerprint: tuple[Any, ...] = ()
        self._stop = threading.Event()
        self._shutdown = threading.Event()
        self._lock = threading.RLock()
        self._load_lock = threading.Lock()
        self._audit_proc: Any = None
        self._supervisor: threading.Thread | None = None
        self._closed = False

    # -- server processes --------------------------------------------------------------------

    def _spawn(self, gen: _Generation) -> _Server:
        import subprocess
        import sys
        from multiprocessing.connection import Connection

        import socle

        with self._lock:
            free = [i for i in range(1, self.counters.slots) if i not in self._used_slots]
            if not free:
                raise PolicyLoadError("too many server processes at once")
            slot = free[0]
            self._used_slots.add(slot)
        parent, child = socket.socketpair()
        env = dict(os.environ)
        src = os.path.dirname(os.path.dirname(os.path.abspath(socle.__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            [src, *([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])])
        code = f"import socle.policy.webhook as w; w._server_entry({child.fileno()})"
        try:
            popen = subprocess.Popen([sys.executable, "-c", code],
                                     pass_fds=(child.fileno(), self.listener.fileno()),
                                     env=env, stdin=subprocess.DEVNULL, close_fds=True)
        except OSError:
            with self._lock:
                self._used_slots.discard(slot)
            raise
        finally:
            child.close()
        conn = Connection(parent.detach())
        server = _Server(popen, conn, slot, gen)
        conn.send({"root": gen.root, "settings": self.settings, "display": self.settings.policy,
                   "listen_fd": self.listener.fileno(), "certfile": self.certfile,
                   "keyfile": self.keyfile, "counters": self.counters.path, "slot": slot,
                   "state_file": self.metrics.state_file,
                   "log_level": log.getEffectiveLevel(), "slots": self.size})
        return server

    def _wait_ready(self, server: _Server) -> dict[str, int]:
        timeout = self.settings.start_timeout
        try:
            if not server.conn.poll(timeout):
                raise PolicyLoadError(f"a server process did not load the policies within "
                                      f"{timeout:g}s")
            try:
                kind, payload = server.conn.recv()
            except (EOFError, OSError):
                raise PolicyLoadError("a server process died while loading the "
                                      "policies") from None
            if kind != "ready":
                raise PolicyLoadError(str(payload))
        except BaseException:
            self._reap(server, kill=True)
            raise
        return dict(payload)

    def _reap(self, server: _Server, kill: bool = False) -> None:
        if kill:
            server.kill()
        with contextlib.suppress(Exception):
            server.popen.wait(5)
        with contextlib.suppress(Exception):
            server.conn.close()
        with self._lock:
            self.counters.view[server.slot * _SLOT + _F_BUSY] = 0
            self._used_slots.discard(server.slot)
            gen = server.generation
            if server in gen.servers:
                gen.servers.remove(server)
            if gen.retired and not gen.servers and gen in self._generations:
                self._generations.remove(gen)
                if self.current is not gen:
                    shutil.rmtree(gen.root, ignore_errors=True)

    def _replace(self, old: _Server) -> None:
        """Start a server process in place of ``old`` (in the background)."""
        if old.replaced:
            return
        old.replaced = True

        def spawn() -> None:
            gen = old.generation
            if gen.retired or self._stop.is_set():
                return
            try:
                fresh = self._spawn(gen)
                self._wait_ready(fresh)
            except (PolicyLoadError, OSError) as err:
                log.error("cannot replace a server process: %s", err)
                return
            with self._lock:
                keep = not gen.retired and not self._stop.is_set()
                if keep:
                    gen.servers.append(fresh)
            if keep:
                fresh.send("go")
            else:
                fresh.send("stop")
                self._reap(fresh)

        threading.Thread(target=spawn, daemon=True, name="socle-webhook-spawn").start()

    def _supervise(self) -> None:
        """Read the server processes' messages, replace those that exit and kill those stuck
        past their deadline (a native evaluation that no signal interrupts)."""
        from multiprocessing.connection import wait

        while not self._closed:
            with self._lock:
                servers = [s for g in self._generations for s in g.servers]
            conns: dict[Any, _Server] = {s.conn: s for s in servers if not s.conn.closed}
            ready = wait(list(conns), timeout=0.05) if conns else []
            if not conns:
                time.sleep(0.05)
            for conn in ready:
                s = conns[conn]
                try:
                    msg = s.conn.recv()
                except (EOFError, OSError):
                    with contextlib.suppress(Exception):
                        s.popen.wait(1)
                    continue
                if msg == ("draining",):
                    s.drained.set()
                elif msg == ("recycle",) and not s.generation.retired:
                    self._replace(s)
            now = time.monotonic()
            for s in servers:
                code = s.popen.poll()
                if code is not None:
                    s.drained.set()
                    if not s.generation.retired and not self._stop.is_set() and \
                            not s.replaced:
                        log.error("server process %d exited (%s); starting another", s.pid,
                                  f"code {code}" if code >= 0 else f"signal {-code}")
                        self._replace(s)
                    self._reap(s)
                    continue
                busy = self.counters.view[s.slot * _SLOT + _F_BUSY]
                if busy and now > busy + KILL_GRACE:
                    log.error("server process %d overran --timeout %gs in an evaluation that "
                              "cannot be interrupted; killed (its connections are dropped: "
                              "the API server applies the failurePolicy)", s.pid,
                              self.settings.timeout)
                    self.counters.view[s.slot * _SLOT + _F_BUSY] = 0
                    self.metrics.timeout_killed()
                    self._replace(s)
                    s.kill()

    # -- policies ------------------------------------------------------------------------------

    @property
    def summary(self) -> dict[str, int]:
        return dict(self.current.summary) if self.current is not None else {}

    def load(self) -> None:
        """Load the policy folder: a new generation of server processes compiles a snapshot;
        once all are ready they start serving, and the previous generation stops accepting and
        ends after its requests in flight (at start: errors propagate)."""
        with self._load_lock:
            self._load()

    def _load(self) -> None:
        fp = fingerprint(self.settings.policy)
        snap = snapshot(self.settings.policy)
        gen = _Generation(snap)
        servers: list[_Server] = []
        try:
            for _ in range(self.size):
                servers.append(self._spawn(gen))
            for s in servers:
                gen.summary = self._wait_ready(s)
        except BaseException:
            for s in servers:
                self._reap(s, kill=True)
            shutil.rmtree(snap, ignore_errors=True)
            raise
        with self._lock:
            gen.servers = servers
            old, self.current = self.current, gen
            self._generations.append(gen)
            self._fingerprint = fp
            self.metrics.policies = dict(gen.summary)
        self.metrics.publish()
        for s in servers:
            s.send("go")
        if self._supervisor is None:
            self._supervisor = threading.Thread(target=self._supervise, daemon=True,
                                                name="socle-webhook-supervisor")
            self._supervisor.start()
        if old is not None:
            self._retire(old, "drain")
        log.info("policies loaded from %s: %s", self.settings.policy,
                 ", ".join(f"{k} {v}" for k, v in gen.summary.items()))
        if gen.summary.get("controls_skipped"):
            log.info("%d cross-resource controls are not run at admission (they compare "
                     "resources with each other)", gen.summary["controls_skipped"])
        if not any(v for k, v in gen.summary.items() if k != "controls_skipped"):
            log.warning("%s holds no policy: every review is allowed", self.settings.policy)

    def _retire(self, gen: _Generation, how: str) -> None:
        """Tell ``gen`` to stop accepting (``drain``: requests in flight and the next one of
        each kept-alive connection are answered; ``stop``: idle connections end now) and wait
        until each process says it no longer accepts."""
        with self._lock:
            gen.retired = True
            servers = list(gen.servers)
            if not servers and gen in self._generations:
                self._generations.remove(gen)
                shutil.rmtree(gen.root, ignore_errors=True)
        for s in servers:
            s.send(how)
        deadline = time.monotonic() + self.settings.timeout + 2
        for s in servers:
            s.drained.wait(max(0.0, deadline - time.monotonic()))

    def reload_if_changed(self) -> bool | None:
        """Reload when the folder changed: True (reloaded), False (bad policy kept the old
        set), None (no change)."""
        try:
            fp = fingerprint(self.settings.policy)
        except OSError as err:
            log.error("cannot read the policy folder: %s", err)
            return False
        if fp == self._fingerprint:
            return None
        try:
            self.load()
        except SocleError as err:
            self._fingerprint = fp  # do not retry until the next change
            self.metrics.reload(False)
            log.error("policy reload failed; the previous policies stay in force: %s", err)
            return False
        self.metrics.reload(True)
        return True

    def _reloader(self) -> None:
        interval = self.settings.reload_interval
        while not self._stop.wait(interval):
            try:
                self.reload_if_changed()
            except Exception:  # never let the reloader die
                log.exception("policy reload failed")

    # -- the audit -----------------------------------------------------------------------------

    def audit_once(self) -> dict[str, Any]:
        """One audit of the live cluster with the policies in force (in a child process);
        updates the metrics and returns the summary (``error`` set when it failed)."""
        with self._lock:
            root = self.current.root if self.current is not None else None
        if root is None:
            return {"error": "no policies loaded"}
        started, t0 = time.time(), time.monotonic()
        summary = run_audit_process(root, self.settings, self.settings.policy,
                                    running=self._audit_running)
        seconds = time.monotonic() - t0
        self.metrics.audited(summary, started, seconds)
        if summary.get("error"):
            log.error("audit failed: %s", summary["error"])
        else:
            total = sum(int(c.get("totalViolations") or 0) for c in summary["constraints"])
            log.info("audit: %d objects in %.1fs; %d findings (%d constraint violations)%s",
                     summary.get("audited", 0), seconds, summary.get("findings", 0), total,
                     f"; report in {self.settings.audit_output}" if self.settings.audit_output
                     else "")
        return summary

    def _audit_running(self, proc: Any) -> None:
        self._audit_proc = proc
        if self._stop.is_set():
            proc.kill()

    def _auditor(self) -> None:
        while not self._stop.is_set():
            try:
                self.audit_once()
            except Exception:  # never let the auditor die
                log.exception("audit failed")
            if self._stop.wait(self.settings.audit_interval):
                return

    def _background(self) -> None:
        if self.settings.reload_interval > 0:
            threading.Thread(target=self._reloader, daemon=True,
                             name="socle-webhook-reload").start()
        if self.settings.audit_interval > 0:
            threading.Thread(target=self._auditor, daemon=True,
                             name="socle-webhook-audit").start()

    # -- serving -------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the policies and serve (the server processes accept at once); returns."""
        try:
            self.load()
        except BaseException:
            self.close()
            raise
        self._background()

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` (e.g. from a signal handler), then :meth:`close`."""
        try:
            if self.current is None:
                self.start()
            log.info("listening on %s://%s:%d/validate with %d server processes",
                     "https" if self.tls else "http", self.address[0], self.port, self.size)
            while not self._shutdown.wait(0.5):
                pass
        finally:
            self.close()

    def shutdown(self) -> None:
        """Make :meth:`serve_forever` return (safe in a signal handler)."""
        self._shutdown.set()

    def close(self, grace: float = 5.0) -> None:
        """Stop accepting, let reviews in flight finish (at most ``grace`` seconds), end
        kept-alive connections, stop the server processes."""
        if self._closed:
            return
        self._stop.set()
        self._shutdown.set()
        with self._lock:
            gens = list(self._generations)
        for gen in gens:
            with self._lock:
                gen.retired = True
                servers = list(gen.servers)
            for s in servers:
                s.send("stop")
        deadline = time.monotonic() + grace
        for gen in gens:
            for s in list(gen.servers):
                with contextlib.suppress(Exception):
                    s.popen.wait(max(0.05, deadline - time.monotonic()))
                s.kill()
        self._closed = True
        if self._supervisor is not None:
            self._supervisor.join(5)
        for gen in gens:
            for s in list(gen.servers):
                self._reap(s)
        with contextlib.suppress(OSError):
            self.listener.close()
        if self._audit_proc is not None and self._audit_proc.poll() is None:
            with contextlib.suppress(OSError):
                self._audit_proc.kill()
        for gen in gens:
            shutil.rmtree(gen.root, ignore_errors=True)
        self._generations.clear()
        self.counters.close()
        shutil.rmtree(self._run, ignore_errors=True)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def ready(self) -> bool:
        return self.current is not None and not self._stop.is_set()

    @property
    def inflight(self) -> int:
        """Reviews being evaluated now, over every server process."""
        v = self.counters.view
        return sum(1 for i in range(1, self.counters.slots) if v[i * _SLOT + _F_BUSY])

    def pids(self) -> list[int]:
        """The server processes of the policies in force."""
        with self._lock:
            return [s.pid for s in self.current.servers] if self.current else []


# --- manifests ----------------------------------------------------------------------------------


@dataclass
class ManifestOptions:
    namespace: str
    service: str
    failure_policy: str = DEFAULT_FAILURE_POLICY
    timeout_seconds: int = DEFAULT_TIMEOUT_SECONDS
    exclude_namespaces: list[str] = field(
        default_factory=lambda: list(DEFAULT_EXCLUDED_NAMESPACES))
    image: str = ""  # default: the socle image of this version
    framework: list[str] = field(default_factory=list)
    severity_threshold: str = "high"
    cert: str = "cert-manager"  # or "secret"
    replicas: int = 2
    engine: str = DEFAULT_ENGINE
    audit_interval: float = 0.0  # > 0: the server audits the cluster (RBAC to read it)


def server_args(settings: Settings) -> list[str]:
    """The ``socle webhook serve`` arguments for ``settings`` (used by the Deployment)."""
    args = ["webhook", "serve", "--policy", "/policies",
            "--tls-cert", "/tls/tls.crt", "--tls-key", "/tls/tls.key",
            "--port", str(DEFAULT_PORT),
            "--failure-policy", settings.failure_policy, "--timeout", f"{settings.timeout:g}",
            "--severity-threshold", settings.severity_threshold]
    for ns in settings.exclude_namespaces:
        args += ["--exclude-namespace", ns]
    for fw in settings.framework:
        args += ["--framework", fw]
    if settings.engine != DEFAULT_ENGINE:  # the Deployment runs this version's default
        args += ["--engine", settings.engine]
    if settings.audit_interval > 0:
        args += ["--audit-interval", f"{settings.audit_interval:g}s"]
    return args


def manifests(opts: ManifestOptions) -> list[dict[str, Any]]:
    """ValidatingWebhookConfiguration, Service, Deployment, certificate objects."""
    if opts.failure_policy not in FAILURE_POLICIES:
        raise UsageError(f"--failure-policy must be Fail or Ignore, not {opts.failure_policy!r}")
    if not 1 <= opts.timeout_seconds <= 30:
        raise UsageError("--timeout-seconds must be from 1 to 30 (a Kubernetes limit)")
    for ns in opts.exclude_namespaces:
        if any(ch in ns for ch in "*?["):
            raise UsageError(f"--exclude-namespace {ns!r}: a pattern cannot be rendered in a "
                             "namespaceSelector; list the namespaces")
    settings = Settings(policy="/policies", failure_policy=opts.failure_policy,
                        timeout=server_budget(opts.timeout_seconds),
                        exclude_namespaces=list(opts.exclude_namespaces),
                        framework=list(opts.framework),
                        severity_threshold=opts.severity_threshold, engine=opts.engine,
                        audit_interval=opts.audit_interval)
    name, ns = opts.service, opts.namespace
    labels = {"app.kubernetes.io/name": "socle-webhook", "app.kubernetes.io/instance": name}
    excluded = sorted(set(opts.exclude_namespaces) | {ns})
    secret = f"{name}-tls"
    webhook: dict[str, Any] = {
        "name": f"{name}.{ns}.svc",
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": opts.failure_policy,
        "timeoutSeconds": opts.timeout_seconds,
        "matchPolicy": "Equivalent",
        "clientConfig": {"service": {"name": name, "namespace": ns, "path": "/validate",
                                     "port": 443}},
        "rules": [{"apiGroups": ["*"], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"],
                   "resources": ["*"], "scope": "*"}],
        "namespaceSelector": {"matchExpressions": [
            {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": excluded}]},
    }
    vwc: dict[str, Any] = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name, "labels": labels},
        "webhooks": [webhook],
    }
    if opts.cert == "cert-manager":
        vwc["metadata"]["annotations"] = {"cert-manager.io/inject-ca-from": f"{ns}/{name}"}
    else:
        webhook["clientConfig"]["caBundle"] = "<base64 of ca.crt: see the Secret's notes>"
    service = {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"selector": labels, "ports": [
            {"name": "https", "port": 443, "targetPort": DEFAULT_PORT, "protocol": "TCP"}]},
    }
    from socle import __version__

    container = {
        "name": "webhook",
        "image": opts.image or f"ghcr.io/socle-dev/socle:{__version__}",
        "imagePullPolicy": "Always",
        "args": server_args(settings),
        "ports": [{"name": "https", "containerPort": DEFAULT_PORT, "protocol": "TCP"}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": DEFAULT_PORT,
                                       "scheme": "HTTPS"}, "periodSeconds": 5},
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": DEFAULT_PORT,
                                      "scheme": "HTTPS"}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "250m", "memory": "256Mi"},
                      "limits": {"cpu": "2", "memory": "1Gi"}},
        "securityContext": {
            "privileged": False, "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True, "runAsNonRoot": True, "runAsUser": 65532,
            "runAsGroup": 65532, "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"}},
        "volumeMounts": [{"name": "policies", "mountPath": "/policies", "readOnly": True},
                         {"name": "tls", "mountPath": "/tls", "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    deployment: dict[str, Any] = {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {
            "replicas": opts.replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": opts.audit_interval > 0,
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 65532,
                                        "runAsGroup": 65532, "fsGroup": 65532,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [
                        {"name": "policies", "configMap": {"name": f"{name}-policies"}},
                        {"name": "tls", "secret": {"secretName": secret}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }
    if opts.replicas > 1:
        deployment["spec"]["template"]["spec"]["topologySpreadConstraints"] = [{
            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels}}]
    out: list[dict[str, Any]] = []
    if opts.cert == "cert-manager":
        out.append({"apiVersion": "cert-manager.io/v1", "kind": "Issuer",
                    "metadata": {"name": f"{name}-selfsigned", "namespace": ns},
                    "spec": {"selfSigned": {}}})
        out.append({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                    "metadata": {"name": name, "namespace": ns},
                    "spec": {"secretName": secret,
                             "dnsNames": [f"{name}.{ns}.svc", f"{name}.{ns}.svc.cluster.local"],
                             "issuerRef": {"name": f"{name}-selfsigned", "kind": "Issuer"},
                             "duration": "2160h", "renewBefore": "360h",
                             "privateKey": {"algorithm": "ECDSA", "size": 256}}})
    else:
        out.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                    "metadata": {"name": secret, "namespace": ns},
                    "data": {"tls.crt": "<base64 of tls.crt>", "tls.key": "<base64 of tls.key>"}})
    # the API server reaches the pods on 8443 (from the control plane, which no pod selector
    # names); the webhook itself needs no egress at all
    netpol: dict[str, Any] = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": {"name": name, "namespace": ns, "labels": labels},
        "spec": {"podSelector": {"matchLabels": labels}, "policyTypes": ["Ingress", "Egress"],
                 "ingress": [{"ports": [{"port": DEFAULT_PORT, "protocol": "TCP"}]}],
                 "egress": []},
    }
    if opts.audit_interval > 0:
        # the audit reads every kind it can list through the API server (as Gatekeeper's audit
        # does): a ServiceAccount with a read-only ClusterRole, and egress to the API server
        pod_spec = deployment["spec"]["template"]["spec"]
        pod_spec["serviceAccountName"] = name
        out.append({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": name, "namespace": ns, "labels": labels},
                    "automountServiceAccountToken": False})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                    "metadata": {"name": f"{name}-audit", "labels": labels},
                    "rules": [{"apiGroups": ["*"], "resources": ["*"],
                               "verbs": ["get", "list"]}]})
        out.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                    "metadata": {"name": f"{name}-audit", "labels": labels},
                    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                "name": f"{name}-audit"},
                    "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": ns}]})
        # the API server's address is not known here: allow HTTPS egress (443 and 6443)
        netpol["spec"]["egress"] = [{"ports": [{"port": 443, "protocol": "TCP"},
                                               {"port": 6443, "protocol": "TCP"}]}]
    out += [service, deployment, netpol, vwc]
    return out


def secret_instructions(opts: ManifestOptions) -> str:
    name, ns = opts.service, opts.namespace
    return (
        f"# Make a CA and a serving certificate for {name}.{ns}.svc, e.g. with openssl:\n"
        "#   openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj /CN=socle-webhook-ca \\\n"
        "#     -keyout ca.key -out ca.crt\n"
        f"#   openssl req -newkey rsa:2048 -nodes -subj /CN={name}.{ns}.svc \\\n"
        "#     -keyout tls.key -out tls.csr\n"
        "#   openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 \\\n"
        f"#     -extfile <(printf 'subjectAltName=DNS:{name}.{ns}.svc,"
        f"DNS:{name}.{ns}.svc.cluster.local') -out tls.crt\n"
        f"#   kubectl -n {ns} create secret tls {name}-tls --cert tls.crt --key tls.key\n"
        "# then put `base64 -w0 ca.crt` in the webhook's clientConfig.caBundle (and skip the\n"
        "# Secret below).\n")


def dump_yaml(objs: Iterable[dict[str, Any]]) -> str:
    """The objects as YAML documents (JSON-compatible, key order kept)."""
    import yaml

    class _Dumper(yaml.SafeDumper):
        def ignore_aliases(self, data: Any) -> bool:
            return True

    return "".join("---\n" + yaml.dump(o, Dumper=_Dumper, sort_keys=False,
                                        default_flow_style=False) for o in objs)


def histogram_quantile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank); used by the benchmark."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]

