"""The ``compiled`` engine: Rego compiled to Python, with regorus behind it.

Every module is also loaded into a :class:`RegorusEngine`: it parses (so compile errors are
regorus' own), it gives the AST the compiler works from (:mod:`socle.policy.regoc`), and it
evaluates whatever the compiler leaves out:

* at compile time, per rule: a construct or builtin the compiler does not handle (``with``,
  ``print``, custom builtins from ``add_builtin``, ref heads...) and every rule depending on
  such a rule (:meth:`CompiledEngine.fallback_rules` says why);
* at run time, per call: when the generated code raises (a type error in a builtin, two
  values for a complete rule...), the call is evaluated again by regorus, so errors and edge
  cases are regorus' by construction;
* queries other than a plain rule path, coverage, and prints.

The generated module can be read with :meth:`CompiledEngine.generated_source`
(``python -m socle.policy.engine_compiled POLICY.rego...`` prints it).
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from typing import Any

from socle.policy.engine import Coverage, PolicyError
from socle.policy.engine_regorus import RegorusEngine
from socle.policy.regoc.compiler import Program, compile_program
from socle.policy.regoc.runtime import U, to_json

MISS = object()

_RULE_PATH = re.compile(r"data(\.[A-Za-z_][A-Za-z0-9_]*)+")


class Context:
    """What one evaluation's generated code sees."""

    __slots__ = ("data", "input", "memo")

    def __init__(self, input: Any, data: Any) -> None:
        self.input = input
        self.data = data
        self.memo: dict[str, Any] = {}


def _merge(into: dict[str, Any], data: dict[str, Any]) -> None:
    for k, v in data.items():
        old = into.get(k)
        if isinstance(old, dict) and isinstance(v, dict):
            _merge(old, v)
        else:
            into[k] = v


class CompiledEngine:
    name = "compiled"

    def __init__(self, rego_version: str = "v1", timeout: float | None = None) -> None:
        self._rego = RegorusEngine(rego_version=rego_version, timeout=timeout)
        self.rego_version = rego_version
        self.timeout = timeout
        self._data: dict[str, Any] = {}
        self._custom: set[str] = set()
        self._program: Program | None = None
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
        self._rego.add_data(data)
        _merge(self._data, json.loads(json.dumps(data, default=str)))
        self._program = None

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None:
        self._rego.add_builtin(name, arity, fn)
        self._custom.add(name)
        self._program = None

    def prepare(self) -> None:
        self._compiled()

    def modules(self) -> dict[str, str]:
        return self._rego.modules()

    def packages(self) -> list[str]:
        return self._rego.packages()

    def _compiled(self) -> Program:
        if self._program is None:
            import regorus  # type: ignore[import-untyped]

            parser = regorus.Engine()
            if self.rego_version == "v0":
                parser.set_rego_v0(True)
            for path, source in self._rego.modules().items():
                parser.add_policy(path, source)
            asts = json.loads(parser.get_ast_as_json())
            self._program = compile_program(asts, blocked=frozenset(self._custom))
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

    def _run(self, fn: Callable[[Context], Any], rule: str, input: Any, ctx: Context) -> Any:
        try:
            value = fn(ctx)
            return None if value is U else to_json(value)
        except RecursionError:
            raise PolicyError(f"data.{rule}: recursion too deep") from None
        except Exception as err:
            self.runtime_fallbacks += 1
            self.last_fallback = f"data.{rule}: {type(err).__name__}: {err}"
            return self._rego.eval_rule(rule, input)

    def eval_rule(self, rule: str, input: Any) -> Any:
        fn = self._function(rule)
        if fn is None:
            return self._rego.eval_rule(rule, input)
        return self._run(fn, rule, input, Context(input, self._data))

    def eval_rules(self, rules: list[str], input: Any) -> dict[str, Any]:
        ctx = Context(input, self._data)
        out: dict[str, Any] = {}
        for rule in rules:
            fn = self._function(rule)
            out[rule] = (self._rego.eval_rule(rule, input) if fn is None
                         else self._run(fn, rule, input, ctx))
        return out

    def eval_query(self, query: str, input: Any) -> list[Any]:
        q = query.strip()
        if _RULE_PATH.fullmatch(q):
            fn = self._function(q[len("data."):])
            if fn is not None:
                value = self._run(fn, q[len("data."):], input, Context(input, self._data))
                return [] if value is None else [value]
        return self._rego.eval_query(query, input)

    def eval_with_coverage(self, query: str, input: Any) -> tuple[list[Any], Coverage]:
        return self._rego.eval_with_coverage(query, input)

    def take_prints(self) -> list[str]:
        return self._rego.take_prints()


def main(argv: list[str]) -> int:
    """Prints the Python generated for the given Rego files, then what falls back."""
    engine = CompiledEngine()
    try:
        for path in argv:
            with open(path, encoding="utf-8") as f:
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
