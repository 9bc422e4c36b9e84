"""Rego to Python: one Python function per rule, from the AST regorus parsed.

Each rule becomes a function of a context ``C`` (``C.input``, ``C.data``, ``C.memo``):

* a query is straight-line code inside ``for _ in ONCE:``; iteration (``some``, ``x[_]``,
  comprehensions) opens nested ``for`` loops and an expression that fails or is undefined
  does ``continue``, which is Rego's backtracking to the next binding;
* complete rules keep every solution's value and raise :class:`Conflict` when two differ
  (regorus then reports the error); rules without arguments are memoised per evaluation;
* partial set rules add to an :class:`RSet`, partial object rules to a dict;
* ``not`` and ``every`` are nested checks (a closure when their query iterates).

Anything this compiler does not handle raises :class:`Unsupported` while compiling a rule; that
rule, and every rule that depends on it, is then evaluated by regorus.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Any

from socle.policy.regoc.runtime import (
    BUILTINS,
    Unsupported,
    parse_format,
    regex_is_safe,
    regorus_knows,
)

Node = dict[str, Any]
Path = tuple[str, ...]


@dataclass
class Definition:
    module: Module
    node: Node  # the "Spec" or "Default" object


@dataclass
class Module:
    path: str
    package: Path
    source: bytes
    imports: dict[str, Path]  # alias -> ("data", ...) or ("input", ...)


@dataclass
class Rule:
    path: Path
    kind: str = ""  # complete, set, object, func
    arity: int = 0
    defs: list[Definition] = field(default_factory=list)
    default: Definition | None = None
    py: str = ""
    deps: set[Path] = field(default_factory=set)
    reason: str | None = None  # why it falls back to regorus (None: compiled)
    code: str = ""
    reads_input: bool = True  # its code reads the input (directly)
    static: bool = False  # its value depends on no input: computed once per program


def kind_of(node: Node) -> tuple[str, Node]:
    ((k, v),) = node.items()
    return k, v


def var_name(node: Node) -> str | None:
    k, v = kind_of(node)
    return str(v["value"]) if k == "Var" else None


def ref_path(node: Node) -> list[str] | None:
    """A ref made only of a var and dotted fields: its parts, else None."""
    k, v = kind_of(node)
    if k == "Var":
        return [str(v["value"])]
    if k == "RefDot":
        base = ref_path(v["refr"])
        return None if base is None else [*base, str(v["field"][1])]
    if k == "RefBrack":
        ik, iv = kind_of(v["index"])
        base = ref_path(v["refr"])
        if base is None or ik not in ("String", "RawString"):
            return None
        return [*base, str(iv["value"])]
    return None


def span_text(module: Module, span: Any) -> str:
    return module.source[span["start"]:span["end"]].decode("utf-8")


def load_modules(asts: list[Any]) -> list[tuple[Module, list[Node]]]:
    out = []
    for entry in asts:
        src = str(entry["source"]["contents"]).encode("utf-8")
        ast = entry["ast"]
        pkg = ref_path(ast["package"]["refr"])
        if pkg is None:
            raise Unsupported("package path")
        module = Module(str(entry["source"]["file"]), ("data", *pkg), src, {})
        for imp in ast.get("imports", []):
            parts = ref_path(imp["refr"])
            if parts is None:
                continue
            if parts[0] in ("future", "rego"):
                continue
            alias = span_text(module, imp["as"]) if imp.get("as") else parts[-1]
            module.imports[alias] = tuple(parts)
        out.append((module, list(ast.get("rules", []))))
    return out


def collect_rules(modules: list[tuple[Module, list[Node]]]) -> dict[Path, Rule]:
    rules: dict[Path, Rule] = {}
    for module, nodes in modules:
        for node in nodes:
            k, v = kind_of(node)
            reason = None
            if k == "Default":
                name = ref_path(v["refr"])
                if name is None:
                    continue
                path = (*module.package, *name)
                rule = rules.setdefault(path, Rule(path))
                if v.get("args"):
                    rule.reason = "default function"
                rule.default = Definition(module, v)
                continue
            hk, hv = kind_of(v["head"])
            arity = 0
            if hk == "Set":
                name = ref_path(hv["refr"])
                kind = "set"
                if hv.get("key") is None:
                    reason = "set rule without a key"
            elif hk == "Func":
                name = ref_path(hv["refr"])
                kind = "func"
                arity = len(hv["args"])
            else:  # Compr
                rk, rv = kind_of(hv["refr"])
                if rk == "RefBrack" and ref_path(hv["refr"]) is None:
                    name = ref_path(rv["refr"])
                    kind = "object"
                    if hv.get("assign") is None:
                        reason = "partial rule without a value"
                else:
                    name = ref_path(hv["refr"])
                    kind = "complete"
            if name is None:
                name = ["<ref head>"]
                reason = "rule head with a computed reference"
            if len(name) != 1:
                reason = "rule head with a dotted reference"
            path = (*module.package, *name)
            rule = rules.setdefault(path, Rule(path, kind, arity))
            if rule.kind == "":
                rule.kind, rule.arity = kind, arity
            if rule.kind != kind or rule.arity != arity:
                rule.reason = "definitions of different kinds"
            if reason and not rule.reason:
                rule.reason = reason
            rule.defs.append(Definition(module, v))
    for i, rule in enumerate(sorted(rules.values(), key=lambda r: r.path)):
        rule.py = ("f_" if rule.kind == "func" else "r_") + str(i) + "_" + _ident(rule.path[-1])
        if rule.kind == "" and rule.default is not None:
            rule.kind = "complete"
    return rules


def _ident(s: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in s)


BIN_OPS = {"Eq": "eq", "Ne": "ne", "Lt": "lt", "Le": "le", "Gt": "gt", "Ge": "ge"}
ARITH_OPS = {"Add": "add", "Sub": "sub", "Mul": "mul", "Div": "div", "Mod": "mod"}
TYPE_CHECKS = {"is_string": ["str"], "is_number": ["int", "float"], "is_object": ["dict"],
               "is_array": ["list"], "is_set": ["RSet"], "is_boolean": ["bool"],
               "is_null": ["NoneType"]}
# builtins whose value is always a string (when they do not raise)
STR_RESULTS = frozenset(("sprintf", "concat", "upper", "lower", "trim", "trim_left",
                         "trim_right", "trim_prefix", "trim_suffix", "trim_space", "substring",
                         "replace", "json.marshal", "format_int"))
# builtins :meth:`RuleCompiler.inline_builtin` writes inline
INLINE_BUILTINS = frozenset(("contains", "startswith", "endswith", "lower", "upper",
                             "trim_space", "regex.match", "object.get", "array.concat",
                             "split", "trim_prefix", "trim_suffix", "strings.any_prefix_match",
                             "strings.any_suffix_match"))
SET_OPS = {"Union": "union", "Intersection": "intersection", "Or": "union", "And": "intersection"}


class Scope:
    """Rego variable -> Python local, and the variables declared with ``some`` (unbound)."""

    def __init__(self, parent: Scope | None = None) -> None:
        self.vars: dict[str, str] = dict(parent.vars) if parent else {}
        self.declared: set[str] = set(parent.declared) if parent else set()
        # values already computed on this path (``x.f``, ``x[k]``, rule and function calls):
        # what computes them -> the local holding them
        self.cse: dict[tuple[str, ...], str] = dict(parent.cse) if parent else {}
        # Python names known to hold a string on this path (a string builtin's result, or a
        # value that passed is_string): string builtins on them need no type check
        self.strs: set[str] = set(parent.strs) if parent else set()

    def child(self) -> Scope:
        return Scope(self)


class RuleCompiler:
    """Compiles every definition of one rule into one Python function."""

    def __init__(self, rules: dict[Path, Rule], prefixes: set[Path], rule: Rule,
                 blocked: frozenset[str] = frozenset(),
                 consts: dict[str, str] | None = None,
                 str_colls: dict[str, tuple[str, str]] | None = None,
                 const_kinds: dict[str, str] | None = None,
                 customs: dict[str, int] | None = None, hoist_negations: bool = True) -> None:
        self.blocked = blocked
        self.customs = customs or {}
        self.hoist_negations = hoist_negations  # see hoist_negated
        # constant arrays, sets and objects: code -> name of a module-level constant
        self.consts = consts
        # constants holding only strings: name -> ("Set" or "Array", name of their frozenset)
        self.str_colls: dict[str, tuple[str, str]] = str_colls if str_colls is not None else {}
        # constant arrays, sets and objects: name -> "Array", "Set" or "Object"
        self.const_kinds: dict[str, str] = const_kinds if const_kinds is not None else {}
        self.rules = rules
        self.prefixes = prefixes
        self.rule = rule
        self.lines: list[str] = []
        self.guard = True  # statements that may raise BuiltinError are guarded (emit)
        # inside an array comprehension: iteration in OPA's order (objects by key, sets
        # sorted), since the array shows it; elsewhere the order cannot be seen
        self.in_array = 0
        # code of the nodes already evaluated before a negation (by id): see hoist_negated
        self.pre: dict[int, str] = {}
        self.bools: set[str] = set()  # inline checks (always a bool)
        self.str_checks: dict[str, str] = {}  # inline ``is_string(x)`` check -> x
        self.ints: set[str] = set()  # temporaries always holding an int (count)
        self.n = 0
        self.module: Module = rule.defs[0].module if rule.defs else rule.default.module  # type: ignore[union-attr]

    # -- output ------------------------------------------------------------------------------

    def emit(self, ind: int, text: str, catch: str = "BuiltinError") -> None:
        """One line of code. A statement that calls a builtin or an operator that may fail
        as OPA's would (:class:`BuiltinError`) is guarded: the expression is undefined for
        this binding (``continue``), as with OPA's default non-strict builtin errors,
        unless the evaluation asks for strict errors (``C.strict``: then regorus reports
        it)."""
        pad = "    " * ind
        if self.guard and not text.endswith(":") and (catch != "BuiltinError"
                                                      or _RAISES.search(text)):
            self.lines += [pad + "try:", pad + "    " + text, pad + f"except {catch}:",
                           pad + "    if C.strict: raise", pad + "    continue"]
            return
        self.lines.append(pad + text)

    def tmp(self, prefix: str = "t") -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def local(self, name: str) -> str:
        self.n += 1
        return f"v_{_ident(name)}_{self.n}"

    # -- the function ------------------------------------------------------------------------

    def compile(self) -> str:
        rule = self.rule
        name = rule.py
        if rule.kind == "func":
            args = [f"a{i}" for i in range(rule.arity)]
            self.emit(0, f"def {name}(C, {', '.join(args)}):")
            self.emit(1, "I = C.input")
            self.emit(1, "res = U")
            start = len(self.lines)
            for d in rule.defs:
                self.function_def(d, args)
            if any(_LOOP.match(line) for line in self.lines[start:]):
                # a function that iterates: memoised for string arguments, per evaluation
                # (a rule often asks twice about the same key: once per definition), or
                # per program when it depends on no input (@FMEMO@, decided by _assemble)
                key = f"({name!r}, {', '.join(args)})"
                strs = " and ".join(f"{a}.__class__ is str" for a in args)
                self.lines[start:start] = [
                    f"    mk = {key} if {strs} else None",
                    "    if mk is not None:",
                    "        res = @FMEMO@.get(mk, MISS)",
                    "        if res is not MISS:",
                    "            return res",
                    "        res = U",
                ]
                self.emit(1, "if mk is not None and len(@FMEMO@) < MEMO_ENTRIES:")
                self.emit(2, "@FMEMO@[mk] = res")
            self.emit(1, "return res")
            return self.finish()
        self.emit(0, f"def {name}(C):")
        # @MEMO@: C.memo (per evaluation), or STATIC (per program) when the rule does not
        # depend on the input (decided once every rule is compiled)
        self.emit(1, f"res = @MEMO@.get({name!r}, MISS)")
        self.emit(1, "if res is not MISS:")
        self.emit(2, "return res")
        self.emit(1, "I = C.input")
        if rule.kind == "set":
            self.emit(1, "out = RSet()")
        elif rule.kind == "object":
            self.emit(1, "out = {}")
        else:
            self.emit(1, "res = U")
        for d in rule.defs:
            self.module = d.module
            self.rule_def(d)
        if rule.kind in ("set", "object"):
            self.emit(1, "res = out")
        if rule.default is not None:
            self.module = rule.default.module
            self.emit(1, "if res is U:")
            self.guard = False  # (a constant: nothing to guard, and no loop to continue)
            _, val = self.expr(rule.default.node["value"], 2, Scope())
            self.guard = True
            self.emit(2, f"res = {val}")
        self.emit(1, f"@MEMO@[{name!r}] = res")
        self.emit(1, "return res")
        return self.finish()

    def finish(self) -> str:
        """The function's source, without ``I = C.input`` when the input is not read."""
        self.rule.reads_input = any(_USES_INPUT.search(line) for line in self.lines
                                    if line != "    I = C.input")
        if not self.rule.reads_input:
            self.lines.remove("    I = C.input")
        return "\n".join(self.lines)

    def bodies(self, d: Definition) -> list[Node]:
        bodies: list[Node] = list(d.node.get("bodies") or [])
        if not bodies:
            bodies = [{"assign": None, "is_else": False, "query": {"stmts": []}}]
        return bodies

    def rule_def(self, d: Definition) -> None:
        _, head = kind_of(d.node["head"])
        bodies = self.bodies(d)
        if self.rule.kind == "set":
            if len(bodies) > 1:
                raise Unsupported("else on a partial set rule")
            self.emit(1, "for _ in ONCE:")
            ind, scope = self.query(bodies[0]["query"]["stmts"], 2, Scope())
            ind, val = self.expr(head["key"], ind, scope)
            self.emit(ind, f"out.add({val})")
            return
        if self.rule.kind == "object":
            if len(bodies) > 1:
                raise Unsupported("else on a partial object rule")
            self.emit(1, "for _ in ONCE:")
            ind, scope = self.query(bodies[0]["query"]["stmts"], 2, Scope())
            _, key_node = kind_of(head["refr"])
            ind, key = self.expr(key_node["index"], ind, scope)
            ind, val = self.expr(head["assign"]["value"], ind, scope)
            self.emit(ind, f"put(out, {key}, {val})")
            return
        self.chain(bodies, head.get("assign"), 1, Scope(), "res",
                   first=d is self.rule.defs[0])

    def chain(self, bodies: list[Node], assign: Node | None, ind: int, scope: Scope,
              target: str, first: bool = False) -> None:
        """A body and its ``else`` bodies; adds the first defined value to ``target``.

        ``first``: ``target`` is still undefined (the first definition of the rule).
        """
        r = self.tmp("e")
        self.emit(ind, f"{r} = U")
        cur = ind
        for i, body in enumerate(bodies):
            value = assign if i == 0 else body.get("assign")
            if i > 0:
                self.emit(cur, f"if {r} is U:")
                cur += 1
            self.emit(cur, "for _ in ONCE:")
            inner, sc = self.query(body["query"]["stmts"], cur + 1, scope.child())
            if value is None:
                val = "True"
            else:
                inner, val = self.expr(value["value"], inner, sc)
            if inner > cur + 1:  # iteration: maybe several solutions
                self.emit(inner, f"{r} = unite({r}, {val})")
            else:  # no iteration: at most one solution, and {r} is still undefined
                self.emit(inner, f"{r} = {val}")
        if first:
            self.emit(ind, f"{target} = {r}")
        else:
            self.emit(ind, f"if {r} is not U:")
            self.emit(ind + 1, f"{target} = unite({target}, {r})")

    def function_def(self, d: Definition, args: list[str]) -> None:
        self.module = d.module
        _, head = kind_of(d.node["head"])
        scope = Scope()
        self.emit(1, "for _ in ONCE:")
        for arg, pattern in zip(args, head["args"], strict=True):
            self.bind_pattern(pattern, arg, 2, scope)
        self.chain(self.bodies(d), head.get("assign"), 2, scope, "res",
                   first=d is self.rule.defs[0])

    def bind_pattern(self, pattern: Node, value: str, ind: int, scope: Scope) -> None:
        """Unifies ``pattern`` (vars bound now, or constants) with a Python value."""
        k, v = kind_of(pattern)
        if k == "Var":
            name = str(v["value"])
            if name == "_":
                return
            if name in scope.vars:
                self.emit(ind, f"if not eq({scope.vars[name]}, {value}): continue")
                return
            py = self.local(name)
            scope.vars[name] = py
            scope.declared.discard(name)
            self.emit(ind, f"{py} = {value}")
            if value in scope.strs:
                scope.strs.add(py)
            return
        if k == "Array":
            n = len(v["items"])
            self.emit(ind, f"if type({value}) is not list or len({value}) != {n}: continue")
            for i, item in enumerate(v["items"]):
                t = self.tmp()
                self.emit(ind, f"{t} = {value}[{i}]")
                self.bind_pattern(item, t, ind, scope)
            return
        if not self.unbound_vars(pattern, scope):
            _, val = self.expr(pattern, ind, scope, no_loops=True)
            self.emit(ind, f"if not eq({val}, {value}): continue")
            return
        raise Unsupported(f"pattern {k}")

    # -- queries -----------------------------------------------------------------------------

    def query(self, stmts: list[Node], ind: int, scope: Scope) -> tuple[int, Scope]:
        for stmt in stmts:
            if stmt.get("with_mods"):
                ind = self.with_input(stmt, ind, scope)
                continue
            ind = self.literal(stmt["literal"], ind, scope)
        return ind, scope

    def with_input(self, stmt: Node, ind: int, scope: Scope) -> int:
        """``literal with input as x``: the literal in a generator of its new bindings,
        evaluated with a context of its own (its input, a new memo), so that every rule it
        reaches sees that input. Other ``with`` targets (data, functions) are left to
        regorus."""
        mods = stmt["with_mods"]
        if len(mods) != 1 or ref_path(mods[0]["refr"]) != ["input"]:
            raise Unsupported("with")
        ind, val = self.expr(mods[0]["as"], ind, scope)
        if not _is_name(val):
            val = self.value(val, ind)
        sub = scope.child()
        sub.cse = {}  # (values computed with the other input)
        fn = self.tmp("w")
        self.emit(ind, f"def {fn}(C, I):")
        self.emit(ind + 1, "for _ in ONCE:")
        inner = self.literal(stmt["literal"], ind + 2, sub)
        new = {name: py for name, py in sub.vars.items() if scope.vars.get(name) != py}
        self.emit(inner, f"yield ({''.join(py + ', ' for py in new.values())})")
        call = f"{fn}(with_input(C, {val}), {val})"
        if not new:
            self.emit(ind, f"if next({call}, MISS) is MISS: continue")
            return ind
        self.emit(ind, f"for ({''.join(py + ', ' for py in new.values())}) in {call}:")
        for name, py in new.items():
            self.bind_local(name, py, scope)
        return ind + 1

    def literal(self, lit: Node, ind: int, scope: Scope) -> int:
        k, v = kind_of(lit)
        if k == "SomeVars":
            for span in v["vars"]:
                name = span_text(self.module, span)
                scope.declared.add(name)
                scope.vars.pop(name, None)
            return ind
        if k == "SomeIn":
            ind, coll = self.expr(v["collection"], ind, scope)
            # a plain variable is the loop's own variable; a pattern is bound in the body
            kname = var_name(v["key"]) if v.get("key") is not None else None
            vname = var_name(v["value"])
            key = self.local(kname) if kname and kname != "_" else self.tmp("k")
            val = self.local(vname) if vname and vname != "_" else self.tmp("x")
            if v.get("key") is not None:
                self.emit(ind, f"for {key}, {val} in {self.items_code(coll)}:")
            else:
                self.emit(ind, f"for {val} in {self.values_code(coll)}:")
            ind += 1
            if v.get("key") is not None:
                if kname and kname != "_":
                    self.bind_local(kname, key, scope)
                else:
                    self.bind_fresh(v["key"], key, ind, scope)
            if vname and vname != "_":
                self.bind_local(vname, val, scope)
                if coll in self.str_colls:  # a constant collection of strings
                    scope.strs.add(val)
            else:
                self.bind_fresh(v["value"], val, ind, scope)
            return ind
        if k == "NotExpr":
            sub = {"Expr": {"expr": v["expr"]}}
            return self.negation([sub], ind, scope)
        if k == "Every":
            return self.every(v, ind, scope)
        if k == "Expr":
            return self.expr_stmt(v["expr"], ind, scope)
        raise Unsupported(f"literal {k}")

    def negation(self, lits: list[Node], ind: int, scope: Scope) -> int:
        hoisted: list[int] = []
        for lit in lits if self.hoist_negations else ():
            if kind_of(lit)[0] == "Expr":
                ind = self.hoist_negated(kind_of(lit)[1]["expr"], ind, scope, hoisted)
        try:
            return self._negation(lits, ind, scope)
        finally:
            for key in hoisted:
                self.pre.pop(key, None)

    # OPA's compiler moves parts of a negated expression out of the negation before it is
    # evaluated (rewriteExprTerms: nested calls; rewriteDynamics: the references given to a
    # call, a reference's computed keys, the items of arrays, sets and objects), so when one
    # of them is undefined (or its builtin fails) the whole query fails instead of the
    # negation succeeding: `not startswith(input.missing, "x")` is undefined, not true. The
    # same parts are evaluated here before the negation (the negation then reuses them, see
    # ``pre``); `==` and `=` keep their own operands inside, as in OPA. conftest's
    # `--rego-version v0` compiles without these rewritings (nothing moves out: the negation
    # of an undefined or failing expression is true); Gatekeeper's v0 templates have them.

    def hoist_negated(self, node: Node, ind: int, scope: Scope, hoisted: list[int]) -> int:
        k, v = kind_of(node)
        if k == "Call":
            operands = list(v["params"])
        elif (k == "BoolExpr" and v["op"] != "Eq") or k in ("ArithExpr", "BinExpr"):
            operands = [v["lhs"], v["rhs"]]
        elif k == "Membership":
            operands = [x for x in (v.get("key"), v["value"], v["collection"]) if x is not None]
        elif k in ("BoolExpr", "AssignExpr"):  # ==, =: the operands' own parts only
            for side in (v["lhs"], v["rhs"]):
                ind = self.hoist_inside(side, ind, scope, hoisted)
            return ind
        else:
            return self.hoist_inside(node, ind, scope, hoisted)
        for op in operands:
            ind = self.hoist_operand(op, ind, scope, hoisted)
        return ind

    def hoist_operand(self, node: Node, ind: int, scope: Scope, hoisted: list[int]) -> int:
        """A call's operand: a reference or a call is evaluated now, a composite's items."""
        k, v = kind_of(node)
        if k in ("RefDot", "RefBrack", "Call", "ArithExpr", "BinExpr"):
            return self.hoist(node, ind, scope, hoisted)
        if k == "Var" and str(v["value"]) not in scope.vars:
            return self.hoist(node, ind, scope, hoisted)  # input, data, a rule
        if k in ("Array", "Set", "Object") and not _is_const(node):
            items = ([x for f in v["fields"] for x in (f[1], f[2])] if k == "Object"
                     else v["items"])
            for item in items:
                ind = self.hoist_operand(item, ind, scope, hoisted)
        return ind

    def hoist_inside(self, node: Node, ind: int, scope: Scope, hoisted: list[int]) -> int:
        """A term: a reference's computed keys, a composite's items, a nested call."""
        k, v = kind_of(node)
        if k in ("Call", "ArithExpr", "BinExpr"):
            return self.hoist(node, ind, scope, hoisted)
        if k in ("Array", "Set", "Object"):
            return self.hoist_operand(node, ind, scope, hoisted)
        keys = []
        while k in ("RefDot", "RefBrack"):
            if k == "RefBrack":
                keys.append(v["index"])
            node = v["refr"]
            k, v = kind_of(node)
        for key in reversed(keys):
            if not _is_const(key):
                ind = self.hoist_operand(key, ind, scope, hoisted)
        if k == "Call":  # f(x).y
            ind = self.hoist(node, ind, scope, hoisted)
        return ind

    def hoist(self, node: Node, ind: int, scope: Scope, hoisted: list[int]) -> int:
        """Evaluates ``node`` now (undefined fails the query here) for the negation to reuse.
        A node that would iterate stays inside: OPA refuses those (unsafe variables)."""
        mark, cse, strs = len(self.lines), dict(scope.cse), set(scope.strs)
        try:
            after, code = self.expr(node, ind, scope, no_loops=True)
        except Unsupported:
            del self.lines[mark:]
            scope.cse, scope.strs = cse, strs
            return ind
        assert after == ind
        if not (_is_name(code) or _is_str_literal(code) or _is_scalar_literal(code)):
            # an inline expression (a call's fast path): computed here, not in the negation
            t = self.value(code, ind)
            for known in (self.bools, self.ints, scope.strs):
                if code in known:
                    known.add(t)
            code = t
        self.pre[id(node)] = code
        hoisted.append(id(node))
        return ind

    def _negation(self, lits: list[Node], ind: int, scope: Scope) -> int:
        flag = self.tmp("n")
        mark = len(self.lines)
        self.emit(ind, f"{flag} = False")
        self.emit(ind, "for _ in ONCE:")
        sub = scope.child()
        inner = ind + 1
        for lit in lits:
            inner = self.literal(lit, inner, sub)
        if inner == ind + 1:  # no iteration: a flag
            self.emit(inner, f"{flag} = True")
            self.emit(ind, f"if {flag}: continue")
            return ind
        # iteration: a closure that returns at the first solution
        body = self.lines[mark + 2:]
        del self.lines[mark:]
        fn = self.tmp("q")
        self.emit(ind, f"def {fn}():")
        self.emit(ind + 1, "for _ in ONCE:")
        for line in body:
            self.lines.append("    " + line)
        self.emit(inner + 1, "return True")
        self.emit(ind + 1, "return False")
        self.emit(ind, f"if {fn}(): continue")
        return ind

    def every(self, v: Node, ind: int, scope: Scope) -> int:
        ind, dom = self.expr(v["domain"], ind, scope)
        self.emit(ind, f"if not is_coll({dom}): continue")
        fn = self.tmp("q")
        kv = self.tmp("k")
        vv = self.tmp("x")
        self.emit(ind, f"def {fn}({kv}, {vv}):")
        self.emit(ind + 1, "for _ in ONCE:")
        sub = scope.child()
        if v.get("key") is not None:
            self.bind_fresh({"Var": {"value": span_text(self.module, v["key"])}}, kv,
                            ind + 2, sub)
        self.bind_fresh({"Var": {"value": span_text(self.module, v["value"])}}, vv,
                        ind + 2, sub)
        inner, _ = self.query(v["query"]["stmts"], ind + 2, sub)
        self.emit(inner, "return True")
        self.emit(ind + 1, "return False")
        ok = self.tmp("ok")
        self.emit(ind, f"{ok} = True")
        self.emit(ind, f"for {kv}, {vv} in items({dom}):")
        self.emit(ind + 1, f"if not {fn}({kv}, {vv}):")
        self.emit(ind + 2, f"{ok} = False")
        self.emit(ind + 2, "break")
        self.emit(ind, f"if not {ok}: continue")
        return ind

    def expr_stmt(self, node: Node, ind: int, scope: Scope) -> int:
        k, v = kind_of(node)
        if k == "AssignExpr":
            return self.assign(v, ind, scope)
        if k == "BoolExpr":
            ind, a = self.expr(v["lhs"], ind, scope)
            ind, b = self.expr(v["rhs"], ind, scope)
            self.emit(ind, f"if not {self.compare(v['op'], a, b)}: continue")
            return ind
        if k == "Membership":
            ind, val = self.expr(node, ind, scope)
            self.emit(ind, f"if not {val}: continue")
            return ind
        ind, val = self.expr(node, ind, scope)
        if val in self.bools:
            self.emit(ind, f"if not {val}: continue")
            if val in self.str_checks:  # from here on, a string
                scope.strs.add(self.str_checks[val])
        else:
            self.emit(ind, f"if {val} is False: continue")
        return ind

    def compare(self, op: str, a: str, b: str) -> str:
        if op in ("Eq", "Ne") and (_is_str_literal(a) or _is_str_literal(b)):
            return f"({a} {'==' if op == 'Eq' else '!='} {b})"
        # a literal null, boolean or number on one side: no call
        lit, other = (a, b) if _is_scalar_literal(a) else (b, a)
        if _is_scalar_literal(lit) and _is_name(other):
            if lit in ("None", "True", "False"):
                if op == "Eq":
                    return f"({other} is {lit})"
                if op == "Ne":
                    return f"({other} is not {lit})"
            elif other in self.ints and lit.isdigit():  # an int against an int literal
                sym = {"Eq": "==", "Ne": "!=", "Lt": "<", "Le": "<=", "Gt": ">", "Ge": ">="}[op]
                return f"({a} {sym} {b})"
            else:
                num = f"({other}.__class__ is int or {other}.__class__ is float)"
                if op == "Eq":
                    return f"({num} and {other} == {lit})"
                if op == "Ne":
                    return f"(not {num} or {other} != {lit})"
                sym = {"Lt": "<", "Le": "<=", "Gt": ">", "Ge": ">="}[op]
                return f"({a} {sym} {b} if {num} else {BIN_OPS[op]}({a}, {b}))"
        return f"{BIN_OPS[op]}({a}, {b})"

    def assign(self, v: Node, ind: int, scope: Scope) -> int:
        lhs, rhs = v["lhs"], v["rhs"]
        if v["op"] == "ColEq":
            ind, val = self.expr(rhs, ind, scope)
            self.bind_fresh(lhs, val, ind, scope)
            return ind
        # unification
        lu = self.unbound_vars(lhs, scope)
        ru = self.unbound_vars(rhs, scope)
        if lu and ru:
            raise Unsupported("unification with unknowns on both sides")
        if not lu and not ru:
            ind, a = self.expr(lhs, ind, scope)
            ind, b = self.expr(rhs, ind, scope)
            self.emit(ind, f"if not eq({a}, {b}): continue")
            return ind
        pattern, other = (lhs, rhs) if lu else (rhs, lhs)
        ind, val = self.expr(other, ind, scope)
        t = self.tmp()
        self.emit(ind, f"{t} = {val}")
        self.bind_pattern(pattern, t, ind, scope)
        return ind

    def bind_local(self, name: str, py: str, scope: Scope) -> None:
        """Rego variable ``name`` is the Python local ``py`` from now on."""
        scope.vars[name] = py
        scope.declared.discard(name)

    def bind_fresh(self, pattern: Node, val: str, ind: int, scope: Scope) -> None:
        k, v = kind_of(pattern)
        if k == "Var":
            name = str(v["value"])
            if name == "_":
                return
            py = self.local(name)
            scope.vars[name] = py
            scope.declared.discard(name)
            self.emit(ind, f"{py} = {val}")
            if val in scope.strs or _is_str_literal(val):
                scope.strs.add(py)
            return
        if k == "Array":
            t = self.tmp()
            self.emit(ind, f"{t} = {val}")
            for name in self.pattern_vars(pattern):
                scope.vars.pop(name, None)
                scope.declared.add(name)
            self.bind_pattern(pattern, t, ind, scope)
            return
        raise Unsupported(f":= to {k}")

    def pattern_vars(self, node: Node) -> list[str]:
        k, v = kind_of(node)
        if k == "Var":
            return [] if v["value"] == "_" else [str(v["value"])]
        if k == "Array":
            return [n for item in v["items"] for n in self.pattern_vars(item)]
        return []

    def unbound_vars(self, node: Node, scope: Scope) -> list[str]:
        """Vars of a pattern (var, array of patterns) that are not bound yet."""
        k, v = kind_of(node)
        if k == "Var":
            name = str(v["value"])
            if name == "_":
                return [name]
            if name in scope.vars:
                return []
            if name in scope.declared:
                return [name]
            if self.resolves(name):
                return []
            return [name]
        if k == "Array":
            return [n for item in v["items"] for n in self.unbound_vars(item, scope)]
        if k == "Object":
            return [n for f in v["fields"] for n in self.unbound_vars(f[2], scope)]
        return []

    def resolves(self, name: str) -> bool:
        return (name in ("input", "data") or name in self.module.imports
                or (*self.module.package, name) in self.rules
                or (*self.module.package, name) in self.prefixes)

    # -- expressions -------------------------------------------------------------------------

    def expr(self, node: Node, ind: int, scope: Scope, no_loops: bool = False
             ) -> tuple[int, str]:
        """Python code for a value; checks for undefined (``continue``) come first."""
        if self.pre:
            done = self.pre.get(id(node))
            if done is not None:
                return ind, done
        k, v = kind_of(node)
        if k in ("String", "RawString"):
            return ind, repr(str(v["value"]))
        if k == "Number":
            return ind, repr(v["value"])
        if k == "Bool":
            return ind, "True" if v["value"] else "False"
        if k == "Null":
            return ind, "None"
        if k in ("Var", "RefDot", "RefBrack"):
            return self.ref(node, ind, scope, no_loops)
        if k in ("Array", "Set", "Object") and _is_const(node) and self.consts is not None:
            code = self.const_code(node)
            if code not in self.consts:
                name = self.consts[code] = f"K{len(self.consts) + 1}"
                self.const_kinds[name] = k
                items = v["fields"] if k == "Object" else v["items"]
                if k != "Object" and all(kind_of(x)[0] in ("String", "RawString")
                                         for x in items):
                    # a collection of strings: membership by a frozenset (== is Rego's there)
                    fs = self.consts[f"frozenset({name})"] = f"{name}_{k[0].lower()}"
                    self.str_colls[name] = (k, fs)
            return ind, self.consts[code]
        if k == "Array":
            parts = []
            for item in v["items"]:
                ind, p = self.expr(item, ind, scope, no_loops)
                parts.append(p)
            return ind, "[" + ", ".join(parts) + "]"
        if k == "Set":
            parts = []
            for item in v["items"]:
                ind, p = self.expr(item, ind, scope, no_loops)
                parts.append(p)
            return ind, "mkset([" + ", ".join(parts) + "])"
        if k == "Object":
            pairs = []
            simple = True
            for f in v["fields"]:
                fk = kind_of(f[1])[0]
                ind, key = self.expr(f[1], ind, scope, no_loops)
                ind, val = self.expr(f[2], ind, scope, no_loops)
                simple = simple and fk in ("String", "RawString")
                pairs.append((key, val))
            if simple and len({p[0] for p in pairs}) == len(pairs):
                return ind, "{" + ", ".join(f"{a}: {b}" for a, b in pairs) + "}"
            return ind, "mkobj([" + ", ".join(f"({a}, {b})" for a, b in pairs) + "])"
        if k in ("ArrayCompr", "SetCompr", "ObjectCompr"):
            return ind, self.comprehension(k, v, ind, scope)
        if k == "BoolExpr":
            ind, a = self.expr(v["lhs"], ind, scope, no_loops)
            ind, b = self.expr(v["rhs"], ind, scope, no_loops)
            return ind, self.compare(v["op"], a, b)
        if k == "ArithExpr":
            ind, a = self.expr(v["lhs"], ind, scope, no_loops)
            ind, b = self.expr(v["rhs"], ind, scope, no_loops)
            op = v["op"]
            if op not in ARITH_OPS:
                raise Unsupported(f"operator {op}")
            return ind, self.value(f"{ARITH_OPS[op]}({a}, {b})", ind)
        if k == "BinExpr":
            ind, a = self.expr(v["lhs"], ind, scope, no_loops)
            ind, b = self.expr(v["rhs"], ind, scope, no_loops)
            op = v["op"]
            if op not in SET_OPS:
                raise Unsupported(f"operator {op}")
            return ind, self.value(f"{SET_OPS[op]}({a}, {b})", ind)
        if k == "UnaryExpr":
            if kind_of(v["expr"])[0] != "Number":
                raise Unsupported("unary minus on a non-literal")
            ind, a = self.expr(v["expr"], ind, scope, no_loops)
            return ind, self.value(f"neg({a})", ind)
        if k == "Membership" and v.get("key") is None:
            ind, coll = self.expr(v["collection"], ind, scope, no_loops)
            ind, val = self.expr(v["value"], ind, scope, no_loops)
            if coll in self.str_colls and _is_name(val):
                check = f"({val}.__class__ is str and {val} in {self.str_colls[coll][1]})"
                self.bools.add(check)
                return ind, check
            return ind, f"member({val}, {coll})"
        if k == "Membership":
            ind, coll = self.expr(v["collection"], ind, scope, no_loops)
            ind, val = self.expr(v["value"], ind, scope, no_loops)
            if v.get("key") is not None:
                ind, key = self.expr(v["key"], ind, scope, no_loops)
                return ind, f"member2({key}, {val}, {coll})"
            return ind, f"member({val}, {coll})"
        if k == "Call":
            return self.call(v, ind, scope, no_loops)
        raise Unsupported(f"expression {k}")

    def const_code(self, node: Node) -> str:
        """Python code building a constant composite value (once, at module level)."""
        saved = self.consts
        self.consts = None
        try:
            _, code = self.expr(node, 0, Scope(), no_loops=True)
        finally:
            self.consts = saved
        return code

    def value(self, code: str, ind: int, check: bool = False) -> str:
        t = self.tmp()
        self.emit(ind, f"{t} = {code}")
        if check:
            self.emit(ind, f"if {t} is U: continue")
        return t

    def comprehension(self, k: str, v: Node, ind: int, scope: Scope) -> str:
        out = self.tmp("c")
        init = {"ArrayCompr": "[]", "SetCompr": "RSet()", "ObjectCompr": "{}"}[k]
        self.emit(ind, f"{out} = {init}")
        self.emit(ind, "for _ in ONCE:")
        array = k == "ArrayCompr"
        self.in_array += array
        try:
            inner, sub = self.query(v["query"]["stmts"], ind + 1, scope.child())
        finally:
            self.in_array -= array
        if k == "ObjectCompr":
            inner, key = self.expr(v["key"], inner, sub)
            inner, val = self.expr(v["value"], inner, sub)
            self.emit(inner, f"put({out}, {key}, {val})")
        else:
            inner, val = self.expr(v["term"], inner, sub)
            self.emit(inner, f"{out}.{'append' if k == 'ArrayCompr' else 'add'}({val})")
        return out

    def call(self, v: Node, ind: int, scope: Scope, no_loops: bool) -> tuple[int, str]:
        parts = ref_path(v["fcn"])
        if parts is None:
            raise Unsupported("computed function reference")
        if parts[0] in scope.vars or parts[0] in scope.declared:
            raise Unsupported("call through a variable")
        target = self.function_path(parts)
        if target is None and parts == ["sprintf"] and "sprintf" not in self.blocked:
            inline = self.sprintf(v["params"], ind, scope, no_loops)
            if inline is not None:
                return inline
        args = []
        for p in v["params"]:
            ind, a = self.expr(p, ind, scope, no_loops)
            args.append(a)
        if target is not None:
            rule = self.rules[target]
            if rule.kind != "func":
                raise Unsupported(f"call of non-function {'.'.join(target)}")
            if len(args) != rule.arity:
                raise Unsupported("function call with an output argument")
            self.rule.deps.add(target)
            key = (rule.py, *args)
            known = scope.cse.get(key) if all(_is_name(a) or _is_str_literal(a)
                                              or _is_scalar_literal(a) for a in args) else None
            if known is not None:
                return ind, known
            t = self.value(f"{rule.py}(C, {', '.join(args)})", ind, check=True)
            scope.cse[key] = t
            return ind, t
        name = ".".join(parts)
        if name == "time.now_ns" and not args and name not in self.blocked:
            return ind, self.value("now_ns(C)", ind)  # (one value per evaluation, as OPA's)
        if name in self.blocked and self.customs.get(name) == len(args):
            # a builtin the caller added (conftest's parse_config...): called directly
            return ind, self.value(f"X_{_ident(name)}({', '.join(args)})", ind)
        spec = BUILTINS.get(name)
        if spec is None and name not in self.blocked and regorus_knows(name, len(args)):
            # a builtin this runtime does not implement: each call is asked of regorus, so
            # the rule keeps OPA's semantics around it (failing builtins, `not`)
            return ind, self.value(f"regorus_builtin({name!r}, {', '.join(args)})", ind)
        if spec is None or name in self.blocked:
            raise Unsupported(f"builtin {name}")
        if spec[0] != len(args):
            raise Unsupported(f"builtin {name} with {len(args)} arguments")
        if name in TYPE_CHECKS:
            a = args[0] if _is_name(args[0]) else self.value(args[0], ind)
            check = "(" + " or ".join(f"{a}.__class__ is {t}" for t in TYPE_CHECKS[name]) + ")"
            self.bools.add(check)
            if name == "is_string":
                self.str_checks[check] = a
            return ind, check
        if name == "count":  # len() raises TypeError on anything else, as count
            t = self.tmp()
            self.emit(ind, f"{t} = len({args[0]})", catch="(BuiltinError, TypeError)")
            self.ints.add(t)
            return ind, t
        fast = self.inline_builtin(name, args, ind, scope)
        if fast is not None:
            return ind, fast
        t = self.value(f"B_{_ident(name)}({', '.join(args)})", ind)
        if name in STR_RESULTS:
            scope.strs.add(t)
        return ind, t

    def inline_builtin(self, name: str, args: list[str], ind: int, scope: Scope) -> str | None:
        """Inline code for a hot builtin (None: the call). The fast path is taken only when
        the operands have the types the builtin accepts; otherwise the builtin itself is
        called, so it answers or raises exactly as before."""
        if name not in INLINE_BUILTINS:
            return None
        if name in ("contains", "startswith", "endswith"):
            s, p = (a if _is_name(a) or _is_str_literal(a) else self.value(a, ind)
                    for a in args)
            fast = {"contains": f"{p} in {s}", "startswith": f"{s}.startswith({p})",
                    "endswith": f"{s}.endswith({p})"}[name]
            cond = self.str_guard([s, p], scope)
            code = (f"({fast})" if not cond
                    else f"({fast} if {cond} else B_{name}({s}, {p}))")
            self.bools.add(code)
            return code
        if name in ("lower", "upper"):
            s = args[0] if _is_name(args[0]) else self.value(args[0], ind)
            cond = self.str_guard([s], scope)
            cond = f"{cond} and {s}.isascii()" if cond else f"{s}.isascii()"
            t = self.value(f"{s}.{name}() if {cond} else B_{name}({s})", ind)
            scope.strs.add(t)
            return t
        if name == "trim_space":
            s = args[0] if _is_name(args[0]) else self.value(args[0], ind)
            cond = self.str_guard([s], scope)
            fast = f"{s}.strip(' \\t\\n\\r\\v\\f')"
            t = self.value(f"{fast} if {cond} else B_trim_space({s})" if cond else fast, ind)
            scope.strs.add(t)
            return t
        if name == "regex.match":
            return self.regex_match(args, ind, scope)
        if name == "object.get":
            return self.object_get(args, ind, scope)
        if name in ("strings.any_prefix_match", "strings.any_suffix_match"):
            s, ps = args
            if ps not in self.str_colls or self.consts is None:
                return None
            # a constant collection of strings: str.startswith with a tuple of them
            tup = self.consts.get(f"tuple({ps})")
            if tup is None:
                tup = self.consts[f"tuple({ps})"] = f"{ps}_t"
            if not _is_name(s):
                s = self.value(s, ind)
            method = "startswith" if name == "strings.any_prefix_match" else "endswith"
            cond = self.str_guard([s], scope)
            code = (f"({s}.{method}({tup}) if {cond} else B_{_ident(name)}({s}, {ps}))"
                    if cond else f"({s}.{method}({tup}))")
            self.bools.add(code)
            return code
        if name == "split":
            s, sep = args
            if not _is_str_literal(sep) or len(ast.literal_eval(sep)) == 0:
                return None
            if not _is_name(s):
                s = self.value(s, ind)
            cond = self.str_guard([s], scope)
            return self.value(f"{s}.split({sep}) if {cond} else B_split({s}, {sep})"
                              if cond else f"{s}.split({sep})", ind)
        if name in ("trim_prefix", "trim_suffix"):
            s, p = args
            if not _is_str_literal(p) or len(ast.literal_eval(p)) == 0:
                return None
            if not _is_name(s):
                s = self.value(s, ind)
            n = len(ast.literal_eval(p))
            fast = (f"({s}[{n}:] if {s}.startswith({p}) else {s})" if name == "trim_prefix"
                    else f"({s}[:-{n}] if {s}.endswith({p}) else {s})")
            cond = self.str_guard([s], scope)
            t = self.value(f"{fast} if {cond} else B_{name}({s}, {p})" if cond else fast, ind)
            scope.strs.add(t)
            return t
        if name == "array.concat":
            a, b = (x if _is_name(x) or x.startswith("[") else self.value(x, ind)
                    for x in args)
            cond = " and ".join(f"{x}.__class__ is list" for x in (a, b)
                                if not x.startswith("[") and self.const_kinds.get(x) != "Array")
            fast = f"{a} + {b}"
            return self.value(f"{fast} if {cond} else B_array_concat({a}, {b})"
                              if cond else fast, ind)
        return None

    def object_get(self, args: list[str], ind: int, scope: Scope) -> str | None:
        """``object.get`` with a key or a literal path of keys: dict lookups when the
        object is an object and the keys strings."""
        obj, key, default = args
        if not _is_name(obj):
            obj = self.value(obj, ind)
        if not _is_name(default) and not _is_str_literal(default) \
                and not _is_scalar_literal(default):
            default = self.value(default, ind)
        if self.consts and key in self.str_colls and self.str_colls[key][0] == "Array":
            # a constant array of strings: its items
            key = next(code for code, name in self.consts.items() if name == key)
        if _is_name(key) or _is_str_literal(key):
            cond = " and ".join(x for x in (f"{obj}.__class__ is dict",
                                            self.str_guard([key], scope)) if x)
            return self.value(f"{obj}.get({key}, {default}) if {cond} "
                              f"else B_object_get({obj}, {key}, {default})", ind)
        path = _list_display(key)
        if not path or not all(_is_name(k) or _is_str_literal(k) for k in path):
            return None
        # a path: each step needs an object (anything else gives the default)
        t = self.tmp()
        guard = self.str_guard(path, scope)
        cond = f"{obj}.__class__ is dict" + (f" and {guard}" if guard else "")
        self.emit(ind, f"{t} = {default}")
        self.emit(ind, f"if {cond}:")
        cur = obj
        for i, k in enumerate(path):
            nxt = self.tmp()
            self.emit(ind + 1 + i, f"{nxt} = {cur}.get({k}, U)")
            if i < len(path) - 1:
                self.emit(ind + 1 + i, f"if {nxt}.__class__ is dict:")
            else:
                self.emit(ind + 1 + i, f"if {nxt} is not U:")
                self.emit(ind + 2 + i, f"{t} = {nxt}")
            cur = nxt
        self.emit(ind, "else:")
        self.emit(ind + 1, f"{t} = B_object_get({obj}, {key}, {default})")
        return t

    def items_code(self, coll: str) -> str:
        if self.in_array:  # (the order is seen: OPA's, objects by key and sets sorted)
            return f"sorted_items({coll})"
        kind = self.const_kinds.get(coll)
        if kind == "Object":
            return f"{coll}.items()"
        if kind == "Array":
            return f"enumerate({coll})"
        return _items(coll)

    def values_code(self, coll: str) -> str:
        if self.in_array:
            return f"sorted_values({coll})"
        kind = self.const_kinds.get(coll)
        if kind == "Object":
            return f"{coll}.values()"
        if kind in ("Array", "Set"):
            return coll
        return _values(coll)

    def str_guard(self, names: list[str], scope: Scope) -> str:
        """The check that the operands are strings ("" when known to be)."""
        return " and ".join(f"{x}.__class__ is str" for x in dict.fromkeys(names)
                            if not _is_str_literal(x) and x not in scope.strs)

    def regex_match(self, args: list[str], ind: int, scope: Scope) -> str:
        p, s = (a if _is_name(a) or _is_str_literal(a) else self.value(a, ind) for a in args)
        if not _is_name(s):
            s = self.value(s, ind)
        if _is_str_literal(p) and self.consts is not None:
            pattern = ast.literal_eval(p)
            if not regex_is_safe(pattern):
                return self.value(f"B_regex_match({p}, {s})", ind)
            code = f"_re.compile({p})"
            rx = self.consts.get(code)
            if rx is None:
                rx = self.consts[code] = f"RX{len(self.consts) + 1}"
            cond = self.str_guard([s], scope)
            if "$" in pattern:  # `$` before a final newline: left to the builtin
                cond = f"{cond} and '\\n' not in {s}" if cond else f"'\\n' not in {s}"
            fast = f"{rx}.search({s}) is not None"
            code = f"({fast} if {cond} else B_regex_match({p}, {s}))" if cond else f"({fast})"
        else:
            # a pattern known at run time: the compiled regexes the builtin found safe
            # (and without `$`) are in REGEXES
            known = self.str_guard([p], scope)
            rx = self.value(f"REGEXES.get({p}) if {known} else None" if known
                            else f"REGEXES.get({p})", ind)
            cond = f"{rx} is not None"
            guard = self.str_guard([s], scope)
            if guard:
                cond += " and " + guard
            code = f"({rx}.search({s}) is not None if {cond} else B_regex_match({p}, {s}))"
        self.bools.add(code)
        return code

    def sprintf(self, params: list[Node], ind: int, scope: Scope, no_loops: bool
                ) -> tuple[int, str] | None:
        """``sprintf("literal", [x, y])`` as string concatenation (None: the generic call)."""
        if len(params) != 2:
            return None
        fk, fv = kind_of(params[0])
        ak, av = kind_of(params[1])
        if fk not in ("String", "RawString") or ak != "Array":
            return None
        try:
            lits, verbs = parse_format(str(fv["value"]))
        except ValueError:
            return None
        if len(verbs) != len(av["items"]):
            return None
        pieces = [repr(lits[0])] if lits[0] else []
        for verb, item, lit in zip(verbs, av["items"], lits[1:], strict=True):
            ind, x = self.expr(item, ind, scope, no_loops)
            if not _is_name(x):
                x = self.value(x, ind)
            if verb in "sv":
                pieces.append(f"({x} if {x}.__class__ is str else F_{verb}({x}))")
            else:
                pieces.append(f"F_{verb}({x})")
            if lit:
                pieces.append(repr(lit))
        if not pieces:
            return ind, "''"
        return ind, self.value(" + ".join(pieces), ind)

    def function_path(self, parts: list[str]) -> Path | None:
        head = parts[0]
        if head in self.module.imports:
            full: Path = (*self.module.imports[head], *parts[1:])
        elif head == "data":
            full = tuple(parts)
        else:
            full = (*self.module.package, *parts)
            if full not in self.rules:
                return None
        if full not in self.rules:
            if full[0] == "data":
                raise Unsupported(f"unknown function {'.'.join(full)}")
            return None
        return full

    # -- references --------------------------------------------------------------------------

    def ref(self, node: Node, ind: int, scope: Scope, no_loops: bool) -> tuple[int, str]:
        chain: list[tuple[str, Any]] = []
        cur = node
        while True:
            k, v = kind_of(cur)
            if k == "RefDot":
                chain.append(("dot", str(v["field"][1])))
                cur = v["refr"]
            elif k == "RefBrack":
                chain.append(("brack", v["index"]))
                cur = v["refr"]
            else:
                break
        chain.reverse()
        k, v = kind_of(cur)
        if k != "Var":
            ind, base = self.expr(cur, ind, scope, no_loops)
            return self.apply(base, chain, ind, scope, no_loops)
        name = str(v["value"])
        if name in scope.vars:
            return self.apply(scope.vars[name], chain, ind, scope, no_loops)
        if name in scope.declared or name == "_":
            raise Unsupported(f"unbound variable {name}")
        if name == "input":
            return self.apply("I", chain, ind, scope, no_loops)
        if name in self.module.imports:
            path = self.module.imports[name]
            if path[0] == "input":
                ind, base = self.apply("I", [("dot", p) for p in path[1:]], ind, scope, no_loops)
                return self.apply(base, chain, ind, scope, no_loops)
            return self.data_ref(list(path[1:]), chain, ind, scope, no_loops)
        if name == "data":
            return self.data_ref([], chain, ind, scope, no_loops)
        local = (*self.module.package, name)
        if local in self.rules or local in self.prefixes:
            return self.data_ref(list(local[1:]), chain, ind, scope, no_loops)
        raise Unsupported(f"unknown name {name}")

    def data_ref(self, start: list[str], chain: list[tuple[str, Any]], ind: int, scope: Scope,
                 no_loops: bool) -> tuple[int, str]:
        path: Path = ("data", *start)
        rest = list(chain)
        while True:
            if path in self.rules:
                rule = self.rules[path]
                if rule.kind == "func":
                    raise Unsupported("function used as a value")
                self.rule.deps.add(path)
                const = _constant_value(rule)
                if const is not None:  # `name := <constant>`: the constant itself
                    ind, base = self.expr(const, ind, Scope(), no_loops)
                    return self.apply(base, rest, ind, scope, no_loops)
                base = scope.cse.get((rule.py,), "")
                if not base:
                    base = self.value(f"{rule.py}(C)", ind, check=True)
                    scope.cse[(rule.py,)] = base
                return self.apply(base, rest, ind, scope, no_loops)
            if path not in self.prefixes:
                break
            if not rest:
                raise Unsupported(f"reference to the package {'.'.join(path)}")
            kind, arg = rest[0]
            if kind == "dot":
                key = arg
            else:
                ak, av = kind_of(arg)
                if ak not in ("String", "RawString"):
                    raise Unsupported(f"iteration over the package {'.'.join(path)}")
                key = str(av["value"])
            path = (*path, key)
            rest = rest[1:]
        return self.apply("C.data", [("dot", p) for p in path[1:]] + rest, ind, scope,
                          no_loops)

    def apply(self, base: str, chain: list[tuple[str, Any]], ind: int, scope: Scope,
              no_loops: bool) -> tuple[int, str]:
        cur = base
        for kind, arg in chain:
            if kind == "dot":
                t = scope.cse.get((cur, ".", arg), "")
                if not t:
                    t = self.tmp()
                    self.emit(ind, f"{t} = {cur}.get({arg!r}, U) if {cur}.__class__ is dict else U")
                    self.emit(ind, f"if {t} is U: continue")
                    scope.cse[(cur, ".", arg)] = t
                cur = t
                continue
            ak, av = kind_of(arg)
            if ak == "Var":
                name = str(av["value"])
                if name == "_" or name in scope.declared or (
                        name not in scope.vars and not self.resolves(name)):
                    if no_loops:
                        raise Unsupported("iteration in a pattern")
                    kv = self.tmp("k")
                    t = self.tmp()
                    self.emit(ind, f"for {kv}, {t} in {self.items_code(cur)}:")
                    ind += 1
                    if name != "_":
                        py = self.local(name)
                        scope.vars[name] = py
                        scope.declared.discard(name)
                        self.emit(ind, f"{py} = {kv}")
                    cur = t
                    continue
            if self.unbound_vars(arg, scope) and ak != "Var":
                raise Unsupported("reference with a pattern index")
            ind, key = self.expr(arg, ind, scope, no_loops)
            t = scope.cse.get((cur, "[]", key), "")
            if not t:
                t = self.tmp()
                self.emit(ind, f"{t} = {_get(cur, key, self.str_colls)}")
                self.emit(ind, f"if {t} is U: continue")
                if _is_name(key) or _is_str_literal(key) or _is_scalar_literal(key):
                    scope.cse[(cur, "[]", key)] = t
            cur = t
        return ind, cur


def _constant_value(rule: Rule) -> Node | None:
    """The value of a rule defined once as ``name := <constant>`` (no body), else None."""
    if rule.kind != "complete" or len(rule.defs) != 1 or rule.default is not None:
        return None
    node = rule.defs[0].node
    bodies = node.get("bodies") or []
    if any(b.get("is_else") or b["query"]["stmts"] for b in bodies) or len(bodies) > 1:
        return None
    _, head = kind_of(node["head"])
    assign = head.get("assign")
    if assign is None or not _is_const(assign["value"]):
        return None
    value: Node = assign["value"]
    return value


def _is_const(node: Node) -> bool:
    k, v = kind_of(node)
    if k in ("String", "RawString", "Number", "Bool", "Null"):
        return True
    if k in ("Array", "Set"):
        return all(_is_const(x) for x in v["items"])
    if k == "Object":
        return all(_is_const(f[1]) and _is_const(f[2]) for f in v["fields"])
    return False


_USES_INPUT = re.compile(r"\bI\b")
# calls that may raise BuiltinError: builtins, sprintf's verbs, arithmetic and set operators
_RAISES = re.compile(r"(?<![\w.])(?:[BX]_[A-Za-z0-9_]+|F_[vsqd]|regorus_builtin|add|sub|mul|div|"
                     r"mod|union|intersection)\(")
_LOOP = re.compile(r" *for (?!_ in ONCE:)")
_ATOM = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _items(coll: str) -> str:
    """Code iterating over the keys and values of a collection (nothing for a scalar)."""
    if coll.startswith("{") and coll.endswith("}"):  # an object's display
        return f"{coll}.items()"
    if not _is_name(coll):
        return f"items({coll})"
    return (f"({coll}.items() if {coll}.__class__ is dict else enumerate({coll}) "
            f"if {coll}.__class__ is list else items({coll}))")


def _values(coll: str) -> str:
    if not _is_name(coll):
        return f"values({coll})"
    return (f"({coll}.values() if {coll}.__class__ is dict else {coll} "
            f"if {coll}.__class__ is list or {coll}.__class__ is RSet else ())")


def _get(coll: str, key: str, str_colls: dict[str, tuple[str, str]] | None = None) -> str:
    """Code for ``coll[key]``, U when undefined."""
    if str_colls and str_colls.get(coll, ("", ""))[0] == "Set" and _is_name(key):
        fs = str_colls[coll][1]
        return f"{key} if {key}.__class__ is str and {key} in {fs} else U"
    if _is_name(coll) and _is_name(key):
        return (f"{coll}.get({key}, U) if {coll}.__class__ is dict and {key}.__class__ is str "
                f"else get({coll}, {key})")
    if _is_name(coll) and key.isdigit():
        return (f"{coll}[{key}] if {coll}.__class__ is list and len({coll}) > {key} "
                f"else get({coll}, {key})")
    return f"get({coll}, {key})"


def _list_display(code: str) -> list[str] | None:
    """The items of the code of a literal array of names and string literals, else None."""
    if not (code.startswith("[") and code.endswith("]")):
        return None
    items = [x.strip() for x in code[1:-1].split(",")]
    if not all(_is_name(x) or (_is_str_literal(x) and "," not in x) for x in items):
        return None
    return items


def _is_name(code: str) -> bool:
    """A Python variable (a local or a constant): can be repeated at no cost."""
    return bool(_ATOM.fullmatch(code)) and code not in ("None", "True", "False")


def _is_scalar_literal(code: str) -> bool:
    if code in ("None", "True", "False"):
        return True
    if not code or code[0] not in "0123456789":
        return False
    try:
        float(code)
    except ValueError:
        return False
    return True


def _is_str_literal(code: str) -> bool:
    return len(code) >= 2 and code[0] in "'\"" and code[-1] == code[0]


HEADER = """\
# generated by socle's Rego compiler (socle.policy.regoc); one function per rule
from socle.policy.regoc.runtime import (
    U, ONCE, RSet, Conflict, BuiltinError, with_input, eq, ne, lt, le, gt, ge, get, items,
    values, member, member2, put, unite, add, sub, mul, div, mod, neg, union, intersection,
    mkset, mkobj, is_coll, sorted_items, sorted_values, regorus_builtin, now_ns, F_v, F_s, F_q,
    F_d,
    REGEXES,
)
import re as _re
# builtins are bound as B_<name> (object.get -> B_object_get) by compile_program

MISS = object()
NoneType = type(None)
STATIC: dict[object, object] = {}  # values of the rules that do not depend on the input
# (and of the functions not depending on it, by arguments: at most MEMO_ENTRIES in all)
MEMO_ENTRIES = 50000
"""


@dataclass
class Program:
    rules: dict[Path, Rule]
    source: str
    namespace: dict[str, Any]
    # "pkg.rule" -> its generated function (None: not compiled), filled by the engine
    entry: dict[str, Any] = field(default_factory=dict)
    code: Any = None  # the compiled module (a code object), for caching


def _assemble(rules: dict[Path, Rule], consts: dict[str, str]) -> str:
    """The module source, after the fallbacks spread to every rule depending on them."""
    # anything depending on a fallback rule falls back too
    changed = True
    while changed:
        changed = False
        for rule in rules.values():
            if rule.reason:
                continue
            for dep in sorted(rule.deps):
                if rules[dep].reason:
                    rule.reason = f"depends on {'.'.join(dep[1:])}"
                    changed = True
                    break
    # rules whose value depends on no input (only on data and constants): memoised per program
    # (the program is rebuilt on add_data and add_policy)
    dynamic = {p for p, r in rules.items() if r.reason is None and r.reads_input}
    changed = True
    while changed:
        changed = False
        for path, rule in rules.items():
            if rule.reason is None and path not in dynamic and rule.deps & dynamic:
                dynamic.add(path)
                changed = True
    parts = [HEADER, "\n".join(f"{name} = {code}" for code, name in consts.items())]
    for path, rule in sorted(rules.items()):
        if rule.reason is None:
            rule.static = path not in dynamic and rule.kind != "func"
            code = rule.code.replace("@MEMO@", "STATIC" if rule.static else "C.memo")
            code = code.replace("@FMEMO@", "C.memo" if path in dynamic else "STATIC")
            what = f"{rule.kind}, static" if rule.static else rule.kind
            parts.append(f"# data.{'.'.join(rule.path[1:])} ({what})\n{code}\n")
    source = "\n\n".join(parts)
    return source


def _drop_uncompilable(rules: dict[Path, Rule]) -> bool:
    """Marks the rules whose own code Python refuses; False when there is none."""
    found = False
    for rule in rules.values():
        if rule.reason is None:
            try:
                compile(rule.code.replace("@MEMO@", "C.memo").replace("@FMEMO@", "C.memo"),
                        "<rule>", "exec")
            except (SyntaxError, RecursionError, MemoryError, ValueError) as err:
                rule.reason = f"beyond Python's limits ({type(err).__name__}: {err})"
                found = True
    return found


def compile_program(asts: list[Any], excluded: dict[Path, str] | None = None,
                    blocked: frozenset[str] = frozenset(),
                    customs: dict[str, int] | None = None,
                    hoist_negations: bool = True) -> Program:
    """Compiles every rule it can; the others keep a ``reason``. ``customs`` (name -> arity)
    are builtins the caller binds as ``X_<name>`` in the namespace (see CompiledEngine)."""
    modules = load_modules(asts)
    rules = collect_rules(modules)
    prefixes: set[Path] = set()
    for path in rules:
        for i in range(1, len(path)):
            prefixes.add(path[:i])
    for path, why in (excluded or {}).items():
        if path in rules:
            rules[path].reason = why
    consts: dict[str, str] = {}
    str_colls: dict[str, tuple[str, str]] = {}
    const_kinds: dict[str, str] = {}
    for rule in rules.values():
        if rule.reason:
            continue
        try:
            rule.code = RuleCompiler(rules, prefixes, rule, blocked, consts,
                                     str_colls, const_kinds, customs,
                                     hoist_negations).compile()
        except Unsupported as err:
            rule.reason = str(err)
        except RecursionError:
            rule.reason = "nested too deeply for the compiler"
    while True:
        source = _assemble(rules, consts)
        try:
            module = compile(source, "<socle compiled rego>", "exec")
            break
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            # Python's own limits (e.g. more than 20 nested loops): the rules it cannot
            # compile fall back to regorus, the others stay compiled
            if not _drop_uncompilable(rules):
                raise
    namespace: dict[str, Any] = {"B_" + _ident(n): fn for n, (_, fn) in BUILTINS.items()}
    exec(module, namespace)
    return Program(rules, source, namespace, code=module)
