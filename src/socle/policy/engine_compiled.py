"""The ``compiled`` engine: Rego compiled to Python, with regorus behind it.

Every module is also loaded into a :class:`RegorusEngine`: it parses (so compile errors are
regorus' own), it gives the AST the compiler works from (:mod:`socle.policy.regoc`), and it
evaluates whatever the compiler leaves out:

* at compile time, per rule: a construct or builtin the compiler does not handle (``with``
  other than ``with input as``, ``print``, a builtin regorus lacks too, ref heads...) and
  every rule depending on such a rule (:meth:`CompiledEngine.fallback_rules` says why);
  builtins added with ``add_builtin`` are called by the generated code itself;
* at run time, per call: when the generated code raises (two values for a complete rule, a
  case the runtime leaves to regorus...), the call is evaluated again by regorus. A builtin
  that fails as OPA's would is not such a case: its expression is undefined, as in OPA,
  conftest and Gatekeeper, unless ``strict_builtin_errors`` (see :mod:`socle.policy.regoc`);
* queries other than a plain rule path, coverage, and prints.

Data given with ``add_data`` is used as given (it must be JSON-like, as every socle caller's
is) and handed to regorus only when something falls back to it: a scan's whole-input
inventory is then never converted for regorus.

Compiling costs about half a second for the bundled controls, so programs are cached: in the
process (an engine rebuilt after ``add_data`` only re-runs the compiled module) and on disk
(``$SOCLE_CACHE_DIR/regoc/``, keyed by the compiler's own source and the modules), so the
next run skips parsing and code generation.

The generated module can be read with :meth:`CompiledEngine.generated_source`
(``python -m socle.policy.engine_compiled POLICY.rego...`` prints it).
"""

from __future__ import annotations

import hashlib
import json
import marshal
import os
import pickle
import re
import sys
from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any

from socle.core.cache import policy_cache, prune, read_trusted, source_digest, write_atomic
from socle.policy.engine import Coverage, PolicyError, time_limited
from socle.policy.engine_regorus import RegorusEngine
from socle.policy.regoc import compiler as _compiler
from socle.policy.regoc.compiler import Program, Rule, compile_program
from socle.policy.regoc.runtime import BUILTINS, BuiltinError, Halt, RSet, U, to_json

MISS = object()

_RULE_PATH = re.compile(r"data(\.[A-Za-z_][A-Za-z0-9_]*)+")


class Context:
    """What one evaluation's generated code sees."""

    __slots__ = ("data", "input", "memo", "strict")

    def __init__(self, input: Any, data: Any, strict: bool = False) -> None:
        self.input = input
        self.data = data
        self.memo: dict[str, Any] = {}
        # builtin errors: undefined (False, OPA's default) or errors reported by regorus
        self.strict = strict


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    """Merges ``data`` into ``into`` as regorus does (a key given two different values is an
    error); objects along the way are copied, never the caller's mutated."""
    for k, v in data.items():
        old = into.get(k, MISS)
        if old is MISS:
            into[k] = v
        elif isinstance(old, dict) and isinstance(v, dict):
            mine = dict(old)
            _merge(mine, v)
            into[k] = mine
        elif old != v:
            raise PolicyError(f"value for key `{json.dumps(k)}` generated multiple times: "
                              f"`{json.dumps(old, default=str)}` and "
                              f"`{json.dumps(v, default=str)}`")


# --- compiled programs, cached -----------------------------------------------------------------

_CACHE_FORMAT = "1"
_MEMORY: dict[str, tuple[dict[Any, Rule], str, Any]] = {}  # key -> (rules, source, code)
_MEMORY_ENTRIES = 16  # a long-running webhook reloading changed policies does not grow forever
_DISK_ENTRIES = 64  # the oldest entries beyond this are removed when one is written


def _remember(key: str, entry: tuple[dict[Any, Rule], str, Any]) -> None:
    _MEMORY[key] = entry
    while len(_MEMORY) > _MEMORY_ENTRIES:
        del _MEMORY[next(iter(_MEMORY))]


@lru_cache(maxsize=1)
def _compiler_digest() -> str:
    """Changes whenever the compiler or its runtime changes (their source files), or the
    regorus it asks about builtins (a program calls regorus for those it has: its native
    library's size and time stand for its version)."""
    import regorus  # type: ignore[import-untyped]

    from socle.policy.regoc import runtime

    h = hashlib.sha256(_CACHE_FORMAT.encode())
    h.update(source_digest(*(mod.__file__ or "" for mod in (_compiler, runtime,
                                                              sys.modules[__name__]))).encode())
    h.update(sys.version.encode())
    native = getattr(regorus, "regorus", None)  # (the extension module inside the package)
    for path in (getattr(native, "__file__", None), regorus.__file__):
        if path:
            st = os.stat(path)
            h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()


def _cache_dir() -> str | None:
    return policy_cache("regoc")


def _exact_integers(asts: Any) -> Any:
    """``asts`` with every integer literal as written: regorus' AST gives one past 2**53 as a
    float (``99999999999999999999999999999`` is ``1e+29``), where OPA computes with the exact
    number; the literal's own digits are read back from the module's text (the spans are byte
    offsets)."""
    for module in asts if isinstance(asts, list) else ():
        source = module.get("source") if isinstance(module, dict) else None
        contents = source.get("contents") if isinstance(source, dict) else None
        if not isinstance(contents, str):
            continue
        data = contents.encode("utf-8")
        stack: list[Any] = [module.get("ast")]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                number = node.get("Number")
                if isinstance(number, dict) and isinstance(number.get("value"), float):
                    span = number.get("span")
                    if isinstance(span, dict):
                        text = data[span.get("start", 0):span.get("end", 0)].decode(
                            "utf-8", "replace")
                        if text.isascii() and text.isdigit():
                            number["value"] = int(text)
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return asts


def _load_cached(key: str) -> tuple[dict[Any, Rule], str, Any] | None:
    hit = _MEMORY.get(key)
    if hit is not None:
        return hit
    folder = _cache_dir()
    if folder is None:
        return None
    data = read_trusted(os.path.join(folder, key + ".bin"))  # (an entry is code)
    if data is None:
        return None
    try:
        rules, source, code = pickle.loads(data)
        entry = (rules, source, marshal.loads(code))
    except Exception:  # truncated, or from another version: compile again
        return None
    _remember(key, entry)
    return entry


def _store(key: str, rules: dict[Any, Rule], source: str, code: Any) -> None:
    # what evaluation and the reports need; the AST of each definition is left out
    slim = {p: replace(r, defs=[], default=None, code="") for p, r in rules.items()}
    _remember(key, (slim, source, code))
    folder = _cache_dir()
    if folder is None:
        return
    try:
        data = pickle.dumps((slim, source, marshal.dumps(code)), protocol=pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, ValueError):
        return
    if write_atomic(os.path.join(folder, key + ".bin"), data):
        prune(folder, _DISK_ENTRIES)


def _unsorted(value: Any) -> Any:
    """See :meth:`CompiledEngine.eval_rule_unsorted`."""
    if type(value) is not dict or not all(type(k) is str for k in value):
        return to_json(value)
    return {k: list(x) if type(x) is RSet else to_json(x) for k, x in value.items()}


def _instantiate(rules: dict[Any, Rule], source: str, code: Any) -> Program:
    namespace: dict[str, Any] = {"B_" + _compiler._ident(n): fn
                                 for n, (_, fn) in BUILTINS.items()}
    exec(code, namespace)
    return Program(rules, source, namespace, code=code)


def _custom_call(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A builtin added with ``add_builtin``, as the generated code calls it: with JSON-like
    arguments (sets as sorted arrays, as regorus hands them), and a failure is the builtin's
    error (undefined, or regorus' error in strict mode)."""
    def call(*args: Any) -> Any:
        try:
            return fn(*(to_json(a) for a in args))
        except (RecursionError, Halt):
            raise
        except Exception as err:
            raise BuiltinError(str(err)) from None
    return call


class CompiledEngine:
    name = "compiled"

    def __init__(self, rego_version: str = "v1", timeout: float | None = None, *,
                 strict_builtin_errors: bool = False,
                 hoist_negations: bool | None = None) -> None:
        self._rego = RegorusEngine(rego_version=rego_version, timeout=timeout)
        self.rego_version = rego_version
        # OPA's rewriting of negated expressions (see regoc.compiler.hoist_negated): conftest
        # does it for v1 policies, not with --rego-version v0; Gatekeeper does it for both
        self.hoist_negations = (rego_version == "v1" if hoist_negations is None
                                else hoist_negations)
        self.timeout = timeout
        self._data: dict[str, Any] = {}
        self._pending: list[dict[str, Any]] = []  # data regorus has not been given yet
        # builtins the caller added (conftest's parse_config...): name -> (arity, function)
        self._custom: dict[str, tuple[int, Callable[..., Any]]] = {}
        self._program: Program | None = None
        # builtin errors (a string that is no number...): undefined, as in OPA, conftest and
        # Gatekeeper by default; True: errors (conftest's --show-builtin-errors), which the
        # generated code leaves to regorus to report
        self.strict_builtin_errors = strict_builtin_errors
        self.runtime_fallbacks = 0  # calls the generated code handed back to regorus
        self.last_fallback = ""  # why the last of them was

    @property
    def coverage(self) -> bool:
        return self._rego.coverage

    @coverage.setter
    def coverage(self, value: bool) -> None:
        self._rego.coverage = value

    # -- loading -----------------------------------------------------------------------------

    def add_policy(self, path: str, source: str) -> None:
        self._rego.add_policy(path, source)
        self._program = None

    def add_data(self, data: dict[str, Any]) -> None:
        _merge(self._data, data)
        self._pending.append(data)
        self._program = None

    @property
    def _fallback(self) -> RegorusEngine:
        """The regorus engine, given the data it has not seen yet."""
        while self._pending:
            self._rego.add_data(self._pending.pop(0))
        return self._rego

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None:
        self._rego.add_builtin(name, arity, fn)
        self._custom[name] = (arity, fn)
        self._program = None

    def prepare(self) -> None:
        self._compiled()

    def modules(self) -> dict[str, str]:
        return self._rego.modules()

    def packages(self) -> list[str]:
        return self._rego.packages()

    def _compiled(self) -> Program:
        if self._program is None:
            modules = self._rego.modules()
            h = hashlib.sha256(_compiler_digest().encode())
            customs = {name: arity for name, (arity, _) in self._custom.items()}
            h.update(repr((self.rego_version, self.hoist_negations, sorted(customs.items()),
                           sorted(modules.items()))).encode())
            key = h.hexdigest()
            hit = _load_cached(key)
            if hit is not None:
                self._program = _instantiate(*hit)
            else:
                import regorus

                with time_limited("compiling the policies"):
                    parser = regorus.Engine()
                    if self.rego_version == "v0":
                        parser.set_rego_v0(True)
                    for path, source in modules.items():
                        parser.add_policy(path, source)
                    try:
                        asts = _exact_integers(json.loads(parser.get_ast_as_json()))
                        program = compile_program(asts, blocked=frozenset(customs),
                                                  customs=customs,
                                                  hoist_negations=self.hoist_negations)
                    except (RecursionError, SyntaxError, MemoryError, ValueError):
                        # beyond what Python can read or compile: regorus evaluates it all
                        program = compile_program([], blocked=frozenset(customs))
                _store(key, program.rules, program.source, program.code)
                self._program = program
            for name, (_, fn) in self._custom.items():
                self._program.namespace["X_" + _compiler._ident(name)] = _custom_call(fn)
        return self._program

    # -- what was compiled -------------------------------------------------------------------

    def compiled_rules(self) -> list[str]:
        """The rules (``pkg.rule``) evaluated by generated code."""
        return sorted(".".join(p[1:]) for p, r in self._compiled().rules.items()
                      if r.reason is None)

    def fallback_rules(self) -> dict[str, str]:
        """The rules left to regorus, with the reason."""
        return {".".join(p[1:]): r.reason for p, r in sorted(self._compiled().rules.items())
                if r.reason is not None}

    def generated_source(self) -> str:
        return self._compiled().source

    # -- evaluation --------------------------------------------------------------------------

    def _function(self, rule: str) -> Callable[[Context], Any] | None:
        program = self._program
        if program is not None:
            fn = program.entry.get(rule, MISS)
            if fn is not MISS:
                return fn  # type: ignore[no-any-return]
        program = self._compiled()
        r = program.rules.get(("data", *rule.split(".")))
        if r is None or r.reason is not None or r.kind == "func":
            program.entry[rule] = None
            return None
        fn = program.namespace[r.py]
        program.entry[rule] = fn
        return fn  # type: ignore[no-any-return]

    def _run(self, fn: Callable[[Context], Any], rule: str, input: Any, ctx: Context,
             convert: Callable[[Any], Any] = to_json) -> Any:
        try:
            value = fn(ctx)
            return None if value is U else convert(value)
        except RecursionError:
            raise PolicyError(f"data.{rule}: recursion too deep") from None
        except Exception as err:
            self.runtime_fallbacks += 1
            self.last_fallback = f"data.{rule}: {type(err).__name__}: {err}"
            return self._fallback.eval_rule(rule, input)

    def eval_rule(self, rule: str, input: Any) -> Any:
        fn = self._function(rule)
        if fn is None:
            return self._fallback.eval_rule(rule, input)
        return self._run(fn, rule, input, Context(input, self._data, self.strict_builtin_errors))

    def eval_rule_unsorted(self, rule: str, input: Any) -> Any:
        """:meth:`eval_rule` for a rule whose value is an object of sets (the security
        scanner's results: control id -> findings), without sorting or copying what the sets
        hold: each set comes as a list of its elements in the order the policy made them, each
        element as the policy made it (Rego sets and whole floats left as they are: the caller
        converts what it reads with :func:`socle.policy.regoc.runtime.to_json`). Sorting sets of
        objects in OPA's order and copying them cost ~2% of a ``socle check``."""
        fn = self._function(rule)
        if fn is None:
            return self._fallback.eval_rule(rule, input)
        return self._run(fn, rule, input, Context(input, self._data, self.strict_builtin_errors),
                         _unsorted)

    def eval_rules(self, rules: list[str], input: Any) -> dict[str, Any]:
        ctx = Context(input, self._data, self.strict_builtin_errors)
        out: dict[str, Any] = {}
        for rule in rules:
            fn = self._function(rule)
            out[rule] = (self._fallback.eval_rule(rule, input) if fn is None
                         else self._run(fn, rule, input, ctx))
        return out

    def eval_query(self, query: str, input: Any) -> list[Any]:
        q = query.strip()
        if _RULE_PATH.fullmatch(q):
            fn = self._function(q[len("data."):])
            if fn is not None:
                ctx = Context(input, self._data, self.strict_builtin_errors)
                value = self._run(fn, q[len("data."):], input, ctx)
                return [] if value is None else [value]
        return self._fallback.eval_query(query, input)

    def eval_with_coverage(self, query: str, input: Any) -> tuple[list[Any], Coverage]:
        return self._fallback.eval_with_coverage(query, input)

    def take_prints(self) -> list[str]:
        return self._rego.take_prints()


def main(argv: list[str]) -> int:
    """Prints the Python generated for the given Rego files, then what falls back."""
    engine = CompiledEngine()
    try:
        for path in argv:
            with open(path, encoding="utf-8-sig") as f:
                engine.add_policy(path, f.read())
        print(engine.generated_source())
    except (OSError, PolicyError) as err:
        print(f"socle: {err}", file=sys.stderr)
        return 2
    for rule, why in engine.fallback_rules().items():
        print(f"# fallback: data.{rule}: {why}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main(sys.argv[1:]))
