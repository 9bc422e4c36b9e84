"""OPA's compiler strict mode (``conftest test --strict``), checked on regorus's parsed AST.

OPA's strict mode rejects, at compile time:

* unused imports (``import data.lib.x unused``);
* unused local assignments (``x := ...`` never read), unused ``some``/``every`` variables and
  unused function arguments;
* deprecated builtins (``any``, ``all``, ``re_match``, ``net.cidr_overlap``, ``set_diff``,
  ``cast_*``);
* rules and function arguments named ``input`` or ``data``.

Duplicate imports and local variables named ``input``/``data`` are rejected by regorus's parser
already (in every mode). The checks run on the modules as the user wrote them (before socle's
v0 and regorus rewrites), so line numbers are the user's. Messages follow OPA's wording.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from socle.policy.engine import PolicyError

DEPRECATED = frozenset({"any", "all", "re_match", "net.cidr_overlap", "set_diff", "cast_array",
                        "cast_set", "cast_string", "cast_boolean", "cast_null", "cast_object"})
RESERVED = ("input", "data")
COMPREHENSIONS = ("ArrayCompr", "SetCompr", "ObjectCompr")


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str
    kind: str = "rego_compile_error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.kind}: {self.message}"


class StrictError(PolicyError):
    """One or more strict-mode problems; the message has one ``file:line: ...`` line each."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(set(problems))
        lines = [str(p) for p in self.problems]
        head = [] if len(lines) == 1 else [f"{len(lines)} strict-mode errors:"]
        super().__init__("\n".join(head + lines))


@dataclass
class _Scope:
    parent: _Scope | None
    defs: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def define(self, name: str, line: int, kind: str) -> None:
        if name != "_" and not name.startswith("__"):
            self.defs.setdefault(name, []).append((line, kind))


def _line(node: Any) -> int:
    if isinstance(node, dict):
        span = node.get("span")
        if isinstance(span, dict):
            return int(span.get("line", 0))
        if "line" in node:
            return int(node["line"])
        for v in node.values():
            if isinstance(v, dict):
                return _line(v)
    return 0


def _kind(term: Any) -> tuple[str, Any]:
    if isinstance(term, dict) and len(term) == 1:
        ((k, v),) = term.items()
        return k, v
    return "", term


class _Module:
    def __init__(self, path: str, ast: dict[str, Any], text: str) -> None:
        self.path = path
        self.ast = ast
        self.raw = text.encode("utf-8")
        self.problems: list[Problem] = []
        self.names: set[str] = set()  # every variable name read anywhere (for imports)

    def text(self, span: dict[str, Any]) -> str:
        return self.raw[span["start"]:span["end"]].decode("utf-8", "replace")

    def add(self, line: int, msg: str, kind: str = "rego_compile_error") -> None:
        self.problems.append(Problem(self.path, line, msg, kind))

    # -- walking -----------------------------------------------------------------------------

    def uses(self, term: Any, scope: _Scope) -> None:
        """Record every variable read in ``term``; comprehensions open a scope of their own."""
        if isinstance(term, list):
            for t in term:
                self.uses(t, scope)
            return
        if not isinstance(term, dict):
            return
        kind, body = _kind(term)
        if kind == "Var" and isinstance(body, dict):
            name = str(body.get("value"))
            self.names.add(name)
            self._resolve(name, scope)
            return
        if kind in COMPREHENSIONS and isinstance(body, dict):
            inner = _Scope(scope)
            self.query(body.get("query"), inner)
            for key in ("term", "key", "value"):
                if key in body:
                    self.uses(body[key], inner)
            self.report(inner)
            return
        if kind == "Call" and isinstance(body, dict):
            fcn = body.get("fcn")
            _, fb = _kind(fcn)
            name = self.text(fb["span"]).strip() if isinstance(fb, dict) and "span" in fb else ""
            if name in DEPRECATED:
                self.add(_line(term), f"deprecated built-in function calls in expression: "
                                      f"{name}", "rego_type_error")
            # the function's name is no variable read, but an import alias root is
            self._root_names(fcn)
            self.uses(body.get("params"), scope)
            return
        for k, v in body.items() if isinstance(body, dict) else []:
            if k not in ("span", "eidx"):
                self.uses(v, scope)

    def _root_names(self, ref: Any) -> None:
        while True:
            kind, body = _kind(ref)
            if not isinstance(body, dict):
                return
            if kind == "Var":
                self.names.add(str(body.get("value")))
                return
            ref = body.get("refr")

    def _resolve(self, name: str, scope: _Scope | None) -> None:
        while scope is not None:
            if name in scope.defs:
                scope.used.add(name)
                return
            scope = scope.parent

    def _defined_vars(self, term: Any, scope: _Scope, kind: str) -> None:
        """Variables a ``:=`` left-hand side declares (destructuring included)."""
        k, body = _kind(term)
        if k == "Var" and isinstance(body, dict):
            scope.define(str(body.get("value")), _line(body), kind)
        elif k in ("Array", "Object", "Set") and isinstance(body, dict):
            for item in body.get("items") or []:
                self._defined_vars(item, scope, kind)
            for f in body.get("fields") or []:
                if isinstance(f, list) and len(f) == 3:
                    self.uses(f[1], scope)
                    self._defined_vars(f[2], scope, kind)
        else:
            self.uses(term, scope)

    def query(self, query: Any, scope: _Scope) -> None:
        if not isinstance(query, dict):
            return
        for stmt in query.get("stmts") or []:
            self.uses(stmt.get("with_mods") or stmt.get("with") or [], scope)
            kind, lit = _kind(stmt.get("literal"))
            if not isinstance(lit, dict):
                continue
            if kind == "SomeVars":
                for span in lit.get("vars") or []:
                    scope.define(self.text(span).strip(), int(span["line"]), "declared")
            elif kind == "Every":
                inner = _Scope(scope)
                for key in ("key", "value"):
                    span = lit.get(key)
                    if isinstance(span, dict) and "start" in span:
                        inner.define(self.text(span).strip(), int(span["line"]), "declared")
                self.uses(lit.get("domain"), scope)
                self.query(lit.get("query"), inner)
                self.report(inner)
            elif kind == "Expr":
                ek, expr = _kind(lit.get("expr"))
                if ek == "AssignExpr" and isinstance(expr, dict) and expr.get("op") == "ColEq":
                    self._defined_vars(expr.get("lhs"), scope, "assigned")
                    self.uses(expr.get("rhs"), scope)
                else:
                    self.uses(lit.get("expr"), scope)
            else:
                self.uses(lit, scope)

    def report(self, scope: _Scope) -> None:
        for name, defs in scope.defs.items():
            if name in scope.used:
                continue
            for line, kind in defs:
                if kind == "arg":
                    self.add(line, f"unused argument {name}. (hint: use _ (wildcard variable) "
                                   "instead)")
                else:
                    self.add(line, f"{kind} var {name} unused")

    # -- rules and imports -------------------------------------------------------------------

    def rule(self, rule: Any) -> None:
        _, spec = _kind(rule)
        if not isinstance(spec, dict):
            return
        _, head = _kind(spec.get("head"))
        if not isinstance(head, dict):
            return
        root = head.get("refr")
        while True:  # the rule's name: the root of its head reference
            rk, rb = _kind(root)
            if rk == "Var" or not isinstance(rb, dict):
                break
            root = rb.get("refr")
        rule_name = str(rb.get("value")) if isinstance(rb, dict) else ""
        if rule_name in RESERVED:
            self.add(_line(rb), f"rules must not shadow {rule_name} (use a different rule name)")
        outer = _Scope(None)
        for arg in head.get("args") or []:
            ak, ab = _kind(arg)
            if ak == "Var" and isinstance(ab, dict) and ab.get("value") in RESERVED:
                self.add(_line(ab), f"args must not shadow {ab['value']} (use a different "
                                    "variable name)")
            else:
                self._defined_vars(arg, outer, "arg")
        head_terms = [head.get("key"), (head.get("assign") or {}).get("value")]
        ref = head.get("refr")
        while True:  # indexes of a reference head (p[x] := ...) are read by the body
            rk, rb2 = _kind(ref)
            if not isinstance(rb2, dict) or rk == "Var":
                break
            head_terms.append(rb2.get("index"))
            ref = rb2.get("refr")
        bodies = spec.get("bodies") or []
        if not bodies:
            self.uses(head_terms, outer)
        for i, body in enumerate(bodies):
            scope = _Scope(outer)
            self.query(body.get("query"), scope)
            assign = body.get("assign")
            if i == 0 or not assign:
                self.uses(head_terms, scope)
            if assign:
                self.uses(assign.get("value"), scope)
            self.report(scope)
        self.report(outer)

    def imports(self) -> None:
        for imp in self.ast.get("imports") or []:
            span = imp.get("span")
            if not isinstance(span, dict):
                continue
            text = " ".join(self.text(span).split()[1:])
            if text.startswith(("future.", "rego.")):
                continue
            alias = imp.get("as")
            if isinstance(alias, dict) and "start" in alias:
                name = self.text(alias).strip()
            else:
                name = text.split(" as ")[0].rsplit(".", 1)[-1]
            if name not in self.names:
                self.add(int(span["line"]), f"import {text} unused")

    def check(self) -> list[Problem]:
        for r in self.ast.get("rules") or []:
            self.rule(r)
        self.imports()
        return self.problems


def _parse(path: str, source: str, rego_version: str) -> dict[str, Any] | None:
    import regorus  # type: ignore[import-untyped]

    engine = regorus.Engine()
    if rego_version == "v0":
        engine.set_rego_v0(True)
    try:
        engine.add_policy(path, source)
        raw = json.loads(engine.get_ast_as_json())
    except (RuntimeError, ValueError):
        return None  # the engine's own load reports the syntax error
    for item in raw if isinstance(raw, list) else [raw]:
        if isinstance(item, dict) and isinstance(item.get("ast"), dict):
            ast: dict[str, Any] = item["ast"]
            return ast
    return None


def check_module(path: str, source: str, rego_version: str = "v1") -> list[Problem]:
    """Strict-mode problems of one module, in line order."""
    ast = _parse(path, source, rego_version)
    if ast is None:
        return []
    return sorted(set(_Module(path, ast, source).check()))


def check_modules(modules: dict[str, str], rego_version: str = "v1") -> list[Problem]:
    out: list[Problem] = []
    for path, source in modules.items():
        out.extend(check_module(path, source, rego_version))
    return sorted(set(out))


def check(modules: dict[str, str], rego_version: str = "v1") -> None:
    """Raise :class:`StrictError` when any module breaks a strict-mode rule."""
    problems = check_modules(modules, rego_version)
    if problems:
        raise StrictError(problems)


__all__ = ["DEPRECATED", "Problem", "StrictError", "check", "check_module", "check_modules"]
