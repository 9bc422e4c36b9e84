"""The reference engine: real OPA (v1.20.2) as a Go shared library (``opa-golib-python-bindings``).

Selected with ``--engine opa``. It has no v0 parser, so with ``--rego-version v0`` every module
goes through :func:`socle.policy.v0.rewrite_v0` first (lines are kept, so errors point at the
user's file). Deprecated v0 builtins are renamed and provided in Python, as for regorus.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from socle.policy.engine import Coverage, PolicyError, error_from_opa, jsonable, plain
from socle.policy.v0 import package_of, rename_deprecated, rewrite_v0


class OpaEngine:
    name = "opa"

    def __init__(self, rego_version: str = "v1", timeout: float | None = None) -> None:
        try:
            import opa_bindings  # type: ignore[import-untyped]
        except ImportError as err:
            raise PolicyError(f"the opa engine is not installed ({err}); see docs/test.md for "
                              "installing opa-golib-python-bindings==0.4.4") from None
        self._mod = opa_bindings
        self._engine = opa_bindings.OpaEngine()
        self._prints: list[str] = []
        self._engine.print_handler = self._on_print
        self.rego_version = rego_version
        self.timeout = timeout
        self.coverage = False
        self.trace = False
        self.last_trace: list[Any] = []
        self._modules: dict[str, str] = {}
        self._compiled = False
        from socle.policy.engine_regorus import COMPAT_BUILTINS

        for bname, (arity, fn) in COMPAT_BUILTINS.items():
            self._engine.register_function(bname, fn, arity=arity)

    def _on_print(self, message: str, location: str) -> None:
        self._prints.append(f"{location}: {message}")

    # -- loading -----------------------------------------------------------------------------

    def add_policy(self, path: str, source: str) -> None:
        src = rewrite_v0(source) if self.rego_version == "v0" else rename_deprecated(source)
        try:
            self._engine.add_policy(path, src)
        except self._mod.OpaError as err:
            raise error_from_opa(err.message, path) from None
        self._modules[path] = src
        self._compiled = False

    def add_data(self, data: dict[str, Any]) -> None:
        try:
            self._engine.add_data(jsonable(data))
        except self._mod.OpaError as err:
            raise PolicyError(f"data: {err.message}") from None
        self._compiled = False

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None:
        self._engine.register_function(name, fn, arity=arity)
        self._compiled = False

    def prepare(self) -> None:
        if not self._compiled:
            try:
                self._engine.eval_query("x := 1")
            except self._mod.OpaError as err:
                raise error_from_opa(err.message) from None
            self._compiled = True

    def modules(self) -> dict[str, str]:
        return dict(self._modules)

    def packages(self) -> list[str]:
        out: list[str] = []
        for src in self._modules.values():
            pkg = package_of(src)
            if pkg and pkg not in out:
                out.append(pkg)
        return out

    # -- evaluation --------------------------------------------------------------------------

    def eval_rule(self, rule: str, input: Any) -> Any:
        try:
            value = self._engine.eval_document(rule, jsonable(input), trace=self.trace)
        except self._mod.OpaUndefinedError:
            self._keep_trace()
            return None
        except self._mod.OpaError as err:
            raise error_from_opa(err.message) from None
        self._keep_trace()
        return plain(value)

    def _keep_trace(self) -> None:
        if self.trace and self._engine.last_trace:
            self.last_trace = list(self._engine.last_trace)

    def eval_rules(self, rules: list[str], input: Any) -> dict[str, Any]:
        doc = jsonable(input)
        return {r: self.eval_rule(r, doc) for r in rules}

    def eval_query(self, query: str, input: Any) -> list[Any]:
        values, _ = self._query(query, input, coverage=False)
        return values

    def _query(self, query: str, input: Any, coverage: bool) -> tuple[list[Any], Any]:
        try:
            rows = self._engine.eval_query(f"__socle_x := ({query})", jsonable(input),
                                           coverage=coverage, trace=self.trace)
        except self._mod.OpaError as err:
            raise error_from_opa(err.message) from None
        self._keep_trace()
        return [plain(r.get("__socle_x")) for r in rows], self._engine.last_coverage

    def eval_with_coverage(self, query: str, input: Any) -> tuple[list[Any], Coverage]:
        values, report = self._query(query, input, coverage=True)
        cov: Coverage = {}
        for path, f in ((report or {}).get("files") or {}).items():
            covered: set[int] = set()
            missed: set[int] = set()
            for key, target in (("covered", covered), ("not_covered", missed)):
                for span in f.get(key) or []:
                    start = span["start"]["row"]
                    end = span["end"]["row"]
                    target.update(range(start, end + 1))
            cov[path] = (covered, missed - covered)
        return values, cov

    def take_prints(self) -> list[str]:
        out, self._prints = self._prints, []
        return out
