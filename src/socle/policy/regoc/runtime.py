"""Run-time support of the generated code: values, Rego value order, and builtins.

Values are the plain Python values of the input (dict, list, str, int, float, bool, None)
plus :class:`RSet` for Rego sets. Undefined is the sentinel :data:`U`. Semantics are OPA's
(what conftest and Gatekeeper run): a builtin failing as OPA's would raises
:class:`BuiltinError`, which the generated code turns into an undefined expression; a case
this runtime does not answer is asked of regorus for that one call
(:func:`regorus_builtin`); anything else unexpected (``TypeError``, ``ValueError``,
:class:`Conflict`...) makes the engine evaluate the whole call again with regorus.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections.abc import Callable, Iterable
from decimal import Context, Decimal
from functools import cmp_to_key
from typing import Any


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "U"


U: Any = _Undefined()
ONCE = (0,)


class Conflict(Exception):
    """A complete rule, function or object produced two different values."""


class Halt(ValueError):
    """A failure no policy may turn into undefined: a builtin added by socle refusing what it
    was asked (the webhook's file builtins reading outside the policy folder). It ends the
    evaluation with an error on every engine."""


class BuiltinError(Exception):
    """A builtin failed as OPA's would (an operand of the wrong type, a string that is no
    number, a division by zero...). OPA, conftest and Gatekeeper evaluate the expression as
    undefined then and go on (unless builtin errors are strict): the generated code does
    the same. Other exceptions mean "ask regorus" (see the module's docstring)."""


class Unsupported(Exception):
    """A construct or builtin the compiler does not handle (compile time)."""


def fp(v: Any, depth: int = 2) -> Any:
    """A cheap hashable fingerprint: Rego-equal values (1 == 1.0, true != 1) get equal ones.

    Containers deeper than ``depth`` count only by kind and size, so a set of findings or
    containers does not hash whole pod specs; values with equal fingerprints are then
    compared with :func:`eq` (which stops at identical objects).
    """
    t = type(v)
    if t is str or t is int or t is float or v is None:
        return v
    if t is bool:
        return (_BOOL, v)
    if t is list:
        if depth == 0:
            return (_ARR, len(v))
        return (_ARR, *[fp(x, depth - 1) for x in v])
    if t is dict:
        if depth == 0:
            return (_OBJ, len(v))
        return (_OBJ, frozenset([(k, fp(x, depth - 1)) for k, x in v.items()]))
    if t is RSet:
        return (_SET, len(v))
    raise TypeError(f"not a Rego value: {t.__name__}")


_BOOL = "\0b"
_ARR = "\0a"
_OBJ = "\0o"
_SET = "\0s"


class RSet(list):  # type: ignore[type-arg]
    """A Rego set: the values in insertion order, deduplicated with Rego equality.

    A list subclass, so that iterating, ``len`` and creating an empty set cost no Python
    call; build one with :meth:`add` or :func:`mkset` (``RSet(items)`` would not
    deduplicate). Small sets (most sets of findings) compare a new value with each element;
    from :data:`_LINEAR` elements on, values are also kept in buckets by fingerprint (``b``).
    Code telling arrays from sets tests the exact type (``type(x) is list``).
    """

    __slots__ = ("b",)

    b: dict[Any, list[Any]]

    def add(self, x: Any) -> None:
        if len(self) < _LINEAR:
            if type(x) is str:
                # == between a string and anything else is Rego equality
                if list.__contains__(self, x):
                    return
            else:
                # Python's == is never false for Rego-equal values (only maybe true for
                # unequal ones, true == 1): a C-level filter before eq
                for y in self:
                    if x == y and eq(x, y):
                        return
            self.append(x)
            if len(self) == _LINEAR:
                b = self.b = {}
                for y in self:
                    k = fp(y)
                    bucket = b.get(k)
                    if bucket is None:
                        b[k] = [y]
                    else:
                        bucket.append(y)
            return
        k = fp(x)
        bucket = self.b.get(k)
        if bucket is None:
            self.b[k] = [x]
            self.append(x)
            return
        for y in bucket:
            if eq(x, y):
                return
        bucket.append(x)
        self.append(x)

    def __contains__(self, x: object) -> bool:
        if len(self) < _LINEAR:
            if type(x) is str:
                return list.__contains__(self, x)
            return any(x == y and eq(x, y) for y in self)
        bucket = self.b.get(fp(x))
        return bucket is not None and any(eq(x, y) for y in bucket)

    def __eq__(self, other: object) -> bool:
        return (type(other) is RSet and len(self) == len(other)
                and all(x in other for x in self))

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None

    def __repr__(self) -> str:
        return "RSet(" + list.__repr__(self) + ")"


_LINEAR = 8


def mkset(items: Iterable[Any]) -> RSet:
    out = RSet()
    for x in items:
        out.add(x)
    return out


# --- order and equality ------------------------------------------------------------------------

def okey(v: Any) -> Any:
    """A sort key in OPA's value order: null, bool, number, string, array, object, set
    (regorus puts sets before objects)."""
    t = type(v)
    if t is str:
        return (3, v)
    if t is int or t is float:
        return (2, v)
    if t is bool:
        return (1, v)
    if v is None:
        return (0,)
    if t is list:
        return (4, tuple(okey(x) for x in v))
    if t is RSet:
        return (7, tuple(sorted(okey(x) for x in v)))
    if t is dict:
        return (6, tuple(sorted((okey(k), okey(x)) for k, x in v.items())))
    raise TypeError(f"not a Rego value: {t.__name__}")


def eq(a: Any, b: Any) -> bool:
    if a is b:
        return type(a) is not float or a == a
    ta = type(a)
    tb = type(b)
    if ta is tb:
        if ta is dict:
            if len(a) != len(b):
                return False
            for k, x in a.items():
                y = b.get(k, U)
                if y is U or not eq(x, y):
                    return False
            return True
        if ta is list:
            return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b, strict=True))
        return bool(a == b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        return bool(a == b)
    return False


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def _num_or_str(ta: type, tb: type) -> bool:
    if ta is tb:
        return ta is str or ta is int or ta is float
    return (ta is int or ta is float) and (tb is int or tb is float)


def lt(a: Any, b: Any) -> bool:
    if _num_or_str(type(a), type(b)):
        return bool(a < b)
    return rcmp(a, b) < 0


def le(a: Any, b: Any) -> bool:
    if _num_or_str(type(a), type(b)):
        return bool(a <= b)
    return rcmp(a, b) <= 0


def gt(a: Any, b: Any) -> bool:
    return lt(b, a)


def ge(a: Any, b: Any) -> bool:
    return le(b, a)


# --- access ------------------------------------------------------------------------------------

def get(x: Any, k: Any) -> Any:
    """``x[k]``: undefined when missing or not indexable."""
    t = type(x)
    if t is dict:
        tk = type(k)
        if tk is str:
            return x.get(k, U)
        if tk is bool or tk is list or tk is dict or tk is RSet:
            for kk, v in x.items():
                if eq(kk, k):
                    return v
            return U
        return x.get(k, U)
    if t is list:
        tk = type(k)
        if tk is int:
            return x[k] if 0 <= k < len(x) else U
        if tk is float and k.is_integer():
            i = int(k)
            return x[i] if 0 <= i < len(x) else U
        return U
    if t is RSet:
        return k if k in x else U
    return U


def items(x: Any) -> Iterable[tuple[Any, Any]]:
    t = type(x)
    if t is dict:
        return x.items()  # type: ignore[no-any-return]
    if t is list:
        return enumerate(x)
    if t is RSet:
        return zip(x, x, strict=True)
    return ()


def sorted_items(x: Any) -> Iterable[tuple[Any, Any]]:
    """:func:`items` in OPA's order: an object's keys sorted, a set's elements sorted."""
    t = type(x)
    if t is dict:
        return [(k, x[k]) for k in ordered(list(x))]
    if t is list:
        return enumerate(x)
    if t is RSet:
        xs = ordered(list(x))
        return zip(xs, xs, strict=True)
    return ()


def sorted_values(x: Any) -> Iterable[Any]:
    t = type(x)
    if t is dict:
        return [x[k] for k in ordered(list(x))]
    if t is list:
        return x  # type: ignore[no-any-return]
    if t is RSet:
        return ordered(list(x))
    return ()


def values(x: Any) -> Iterable[Any]:
    t = type(x)
    if t is dict:
        return x.values()  # type: ignore[no-any-return]
    if t is list or t is RSet:
        return x  # type: ignore[no-any-return]
    return ()


def member(v: Any, coll: Any) -> bool:
    t = type(coll)
    if t is RSet:
        return v in coll
    if t is list:
        return any(eq(v, x) for x in coll)
    if t is dict:
        return any(eq(v, x) for x in coll.values())
    return False


def member2(k: Any, v: Any, coll: Any) -> bool:
    x = get(coll, k)
    return x is not U and type(coll) is not RSet and eq(x, v)


def is_coll(x: Any) -> bool:
    t = type(x)
    return t is dict or t is list or t is RSet


def mkobj(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for k, v in pairs:
        if type(k) is not str and type(k) is not int and type(k) is not float:
            raise TypeError("object key of another type")  # (true would be 1 in a dict)
        out[k] = v
    return out


def _holds_set(v: Any) -> bool:
    t = type(v)
    if t is RSet:
        return True
    if t is list:
        return any(_holds_set(x) for x in v)
    if t is dict:
        return any(_holds_set(x) for x in v.values())
    return False


def regorus_builtin(name: str, *args: Any) -> Any:
    """One call of builtin ``name`` evaluated by regorus, for the arguments this runtime does
    not answer itself (a float for ``to_number``, non-ASCII case mapping, a regular
    expression outside the common syntax...). Only the call is handed over, not the rule:
    when regorus fails on it, that is a :class:`BuiltinError` like any other (undefined, or
    the rule's error in strict mode)."""
    if name in _ANY_COLLECTION:
        args = tuple(list(a) if type(a) is RSet else a for a in args)
    if any(_holds_set(a) for a in args):
        raise TypeError(f"{name}: sets left to regorus")  # (JSON would make them arrays)
    import regorus  # type: ignore[import-untyped]

    # a new engine each time (~10 µs, as much as reusing one): a regorus engine may only be
    # used, and dropped, on the thread that made it, and the webhook evaluates on many
    engine = regorus.Engine()
    engine.set_input_json(json.dumps({"a": [to_json(a) for a in args]}))
    params = [f"input.a[{i}]" for i in range(len(args))]
    call = f" {name} ".join(params) if name == "%" else f"{name}({', '.join(params)})"
    try:
        rows = json.loads(engine.eval_query_as_json(f"x := {call}")).get("result")
    except RuntimeError as err:
        said = [ln for ln in str(err).splitlines() if ln.startswith("error:")]
        raise BuiltinError(f"{name}: {said[0][7:] if said else 'failed'}") from None
    if not rows:
        raise BuiltinError(f"{name}: undefined")
    return rows[0]["bindings"]["x"]


# builtins whose calls are not handed to regorus one by one: their value is a set (JSON would
# make it an array), they are relations, or OPA gives them one value per query (time, random)
_NOT_DELEGATED = frozenset(("intersection", "union", "graph.reachable", "graph.reachable_paths",
                            "walk", "trace", "print", "http.send", "rand.intn", "uuid.rfc4122",
                            "time.now_ns", "opa.runtime", "cast_set", "json.match_schema",
                            "json.verify_schema"))
# builtins that answer the same for a set as for an array of its elements
_ANY_COLLECTION = frozenset(("sum", "product", "max", "min"))
_KNOWN: dict[tuple[str, int], bool] = {}
_UNKNOWN_CALL = re.compile(r"could not find function|expects \d+ arguments?\b")


def regorus_knows(name: str, arity: int) -> bool:
    """Whether ``name`` is a regorus builtin taking ``arity`` arguments whose calls
    :func:`regorus_builtin` may evaluate (asked of regorus once per name and arity)."""
    key = (name, arity)
    known = _KNOWN.get(key)
    if known is None:
        known = False
        if name not in _NOT_DELEGATED and not name.startswith("__"):
            try:
                regorus_builtin(name, *([None] * arity))
                known = True
            except BuiltinError as err:  # (a type error: the builtin exists, this arity too)
                known = not _UNKNOWN_CALL.search(str(err))
        _KNOWN[key] = known
    return known


def now_ns(ctx: Any) -> int:
    """``time.now_ns()``: the same instant for the whole evaluation, as in OPA."""
    now: int | None = ctx.memo.get("\0now")
    if now is None:
        now = ctx.memo["\0now"] = time.time_ns()
    return now


def with_input(ctx: Any, value: Any) -> Any:
    """The context of an expression evaluated ``with input as value``: the same data and
    error mode, that input, a memo of its own."""
    return type(ctx)(value, ctx.data, ctx.strict)


def truthy(v: Any) -> bool:
    return v is not U and v is not False


def put(obj: dict[Any, Any], k: Any, v: Any) -> None:
    """Adds one entry of an object comprehension or partial object rule."""
    if type(k) is not str and type(k) is not int and type(k) is not float:
        raise TypeError("object key of another type")  # (true would be 1 in a dict)
    old = obj.get(k, U)
    if old is not U and not eq(old, v):
        raise Conflict("object keys must be unique")
    obj[k] = v


def unite(res: Any, v: Any) -> Any:
    """The value of a complete rule so far (``res``) and one more solution."""
    if res is U or eq(res, v):
        return v if res is U else res
    raise Conflict("complete rules must not produce multiple outputs")


# --- arithmetic --------------------------------------------------------------------------------

def _num(x: Any) -> Any:
    t = type(x)
    if t is int or t is float:
        return x
    raise BuiltinError("operand must be a number")


def _int(x: Any) -> int:
    """An integer operand as OPA takes it: an int, or a float with an integer value."""
    if type(x) is int:
        return x
    if type(x) is float and x.is_integer():
        return int(x)
    _num(x)
    raise BuiltinError("operand must be an integer number")


# OPA computes with arbitrary precision and gives the nearest float64 (0.1 + 0.2 is 0.3, not
# 0.30000000000000004): with a float among the operands, so does this (integers stay exact)
_EXACT = Context(prec=40)


def _dec(x: Any) -> Decimal:
    return Decimal(x) if type(x) is int else Decimal(repr(_num(x)))


def add(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a + b
    return float(_EXACT.add(_dec(a), _dec(b)))


def sub(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a - b
    if type(a) is RSet and type(b) is RSet:
        return mkset(x for x in a if x not in b)
    return float(_EXACT.subtract(_dec(a), _dec(b)))


def mul(a: Any, b: Any) -> Any:
    if type(a) is int and type(b) is int:
        return a * b
    return float(_EXACT.multiply(_dec(a), _dec(b)))


def div(a: Any, b: Any) -> Any:
    if _num(b) == 0:
        _num(a)
        raise BuiltinError("divide by zero")
    if type(a) is int and type(b) is int and a % b == 0:
        return a // b  # (exact, however large, as OPA's big numbers)
    r = float(_EXACT.divide(_dec(a), _dec(b)))
    return int(r) if r.is_integer() and abs(r) < 2**53 else r


def mod(a: Any, b: Any) -> Any:
    if type(a) is not int or type(b) is not int:
        _num(a)
        _num(b)
        return regorus_builtin("%", a, b)  # (floats)
    if b == 0:
        raise BuiltinError("modulo by zero")
    r = abs(a) % abs(b)  # (Go's remainder: the sign of the dividend; exact for big ones)
    return -r if a < 0 else r


def neg(a: Any) -> Any:
    return -_num(a)


def union(a: Any, b: Any) -> RSet:
    if type(a) is not RSet or type(b) is not RSet:
        raise BuiltinError("union of non-sets")
    out = mkset(a)
    for x in b:
        out.add(x)
    return out


def intersection(a: Any, b: Any) -> RSet:
    if type(a) is not RSet or type(b) is not RSet:
        raise BuiltinError("intersection of non-sets")
    return mkset(x for x in a if x in b)


# --- output ------------------------------------------------------------------------------------

def to_json(v: Any) -> Any:
    """A value as regorus prints it: sets as sorted lists, whole floats as integers."""
    t = type(v)
    if t is dict:
        out = {}
        for k, x in v.items():
            if type(k) is not str:  # (a number key: its text, as in OPA's JSON)
                k = _fmt_top(k)
            tx = type(x)
            if tx is str or tx is int or tx is bool or x is None:
                out[k] = x
            elif not x and (tx is list or tx is RSet or tx is dict):
                # (most sets of findings are empty)
                out[k] = {} if tx is dict else []
            elif tx is list and len(x) == 1:  # (a rule's value in a batch of rules)
                y = x[0]
                ty = type(y)
                if ty is str or ty is int or ty is bool or y is None:
                    out[k] = [y]
                elif not y and (ty is list or ty is RSet or ty is dict):
                    out[k] = [{} if ty is dict else []]
                else:
                    out[k] = [to_json(y)]
            elif tx is list:  # (a path: often only strings and integers)
                items = []
                for y in x:
                    ty = type(y)
                    if ty is str or ty is int or ty is bool or y is None:
                        items.append(y)
                    else:
                        items = to_json(x)
                        break
                out[k] = items
            else:
                out[k] = to_json(x)
        return out
    if t is list or t is RSet:
        if not v:
            return []
        if t is RSet and len(v) > 1:
            v = ordered(v)
        items = []
        for x in v:
            tx = type(x)
            if tx is str or tx is int or tx is bool or x is None:
                items.append(x)
            elif not x and (tx is list or tx is RSet or tx is dict):
                items.append({} if tx is dict else [])
            else:
                items.append(to_json(x))
        return items
    if t is str or t is int or t is bool or v is None:
        return v
    if t is float:
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    raise TypeError(f"not a Rego value: {t.__name__}")


_RANK = {type(None): 0, bool: 1, int: 2, float: 2, str: 3, list: 4, dict: 6}


def rcmp(a: Any, b: Any) -> int:
    """-1, 0 or 1: ``a`` against ``b`` in OPA's value order (as :func:`okey`, lazily)."""
    ta = type(a)
    tb = type(b)
    if ta is tb and (ta is str or ta is int):
        return -1 if a < b else (1 if a > b else 0)
    ra = 7 if ta is RSet else _RANK[ta]
    rb = 7 if tb is RSet else _RANK[tb]
    if ra != rb:
        return -1 if ra < rb else 1
    if ra <= 3:
        if ra == 0:
            return 0
        return -1 if a < b else (1 if a > b else 0)
    if ra == 4:
        for x, y in zip(a, b, strict=False):
            c = rcmp(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    if ra == 7:
        a = ordered(a)
        b = ordered(b)
        for x, y in zip(a, b, strict=False):
            c = rcmp(x, y)
            if c:
                return c
        return (len(a) > len(b)) - (len(a) < len(b))
    ka = ordered(list(a))
    kb = ordered(list(b))
    for x, y in zip(ka, kb, strict=False):
        c = rcmp(x, y) or rcmp(a[x], b[y])
        if c:
            return c
    return (len(a) > len(b)) - (len(a) < len(b))


_RKEY = cmp_to_key(rcmp)


def ordered(xs: list[Any]) -> list[Any]:
    """The values sorted in OPA's value order."""
    if len(xs) <= 1:
        return xs
    t = type(xs[0])
    if t is str:
        for x in xs:
            if type(x) is not str:
                break
        else:
            return sorted(xs)
    return sorted(xs, key=_RKEY)


# --- builtins ----------------------------------------------------------------------------------

def _s(x: Any) -> str:
    if type(x) is not str:
        raise BuiltinError("operand must be a string")
    return x


def _count(x: Any) -> int:
    t = type(x)
    if t is str or t is list or t is dict or t is RSet:
        return len(x)
    raise BuiltinError("count: operand must be a collection or string")


def _fmt_num(v: Any) -> str:
    if type(v) is int:
        return str(v)
    return _go_float(v)


def _go_float(f: float) -> str:
    """A float as OPA prints it: Go's shortest %v (``strconv`` 'g', exponent from 1e+06 and
    below 1e-04: 1e+06, 2.5e-05, 999999.5)."""
    if not math.isfinite(f):
        raise ValueError("NaN and infinities left to regorus")
    sign, digits, exp = Decimal(repr(f)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0") or "0"
    assert isinstance(exp, int)
    dp = len("".join(map(str, digits))) + exp  # the decimal point's place in ds
    if ds == "0":
        dp = 1
    x = dp - 1
    out = "-" if sign else ""
    if x < -4 or x >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{out}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if dp <= 0:
        return f"{out}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return out + ds + "0" * (dp - len(ds))
    return f"{out}{ds[:dp]}.{ds[dp:]}"


_INT64 = 2**63


def _go_number(v: Any) -> tuple[str, str]:
    """How OPA's sprintf hands a number to Go's fmt: ("int64", "5"), ("big.Int", ...) or
    ("float64", "2.5"). (Input numbers reach OPA as float64, so a whole float that Go
    prints without an exponent is an int64 there.)"""
    if type(v) is int:
        return ("int64", str(v)) if -_INT64 <= v < _INT64 else ("big.Int", str(v))
    g = _go_float(v)
    if v.is_integer() and "e" not in g:
        return "int64", g
    return "float64", g


_PLAIN = re.compile(r'[ !#-\[\]-~]*')


_QUOTED: dict[str, str] = {}


def _quote(s: str) -> str:
    q = _QUOTED.get(s)
    if q is not None:
        return q
    if _PLAIN.fullmatch(s):
        q = '"' + s + '"'
        if len(_QUOTED) < 4096:
            _QUOTED[s] = q
        return q
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif ch.isprintable():
            out.append(ch)
        else:
            raise ValueError("quoting left to regorus")
    out.append('"')
    return "".join(out)


def _fmt_inner(v: Any) -> str:
    t = type(v)
    if t is str:
        return _quote(v)  # (Go's quoting, as OPA prints a string inside a value)
    if t is list:
        return "[" + ", ".join(_fmt_inner(x) for x in v) + "]"
    if t is dict:
        return "{" + ", ".join(f"{_fmt_inner(k)}: {_fmt_inner(v[k])}"
                               for k in ordered(list(v))) + "}"
    if t is RSet:
        if not v:
            return "set()"  # (OPA's; {} is an empty object)
        return "{" + ", ".join(_fmt_inner(x) for x in ordered(v)) + "}"
    return _fmt_top(v)


def _fmt_top(v: Any) -> str:
    t = type(v)
    if t is str:
        return v  # type: ignore[no-any-return]
    if t is bool:
        return "true" if v else "false"
    if v is None:
        return "null"
    if t is int or t is float:
        return _fmt_num(v)
    return _fmt_inner(v)


_VERB = re.compile(r"%(.)", re.S)
_FORMATS: dict[str, tuple[list[str], str]] = {}


def parse_format(fmt: str) -> tuple[list[str], str]:
    """A format as literal texts and verbs: ``lits[i]`` comes before ``verbs[i]``."""
    lits: list[str] = []
    verbs: list[str] = []
    text: list[str] = []
    pos = 0
    for m in _VERB.finditer(fmt):
        text.append(fmt[pos:m.start()])
        pos = m.end()
        verb = m.group(1)
        if verb == "%":
            text.append("%")
            continue
        if verb not in "svdq":
            raise ValueError("sprintf verb left to regorus")
        lits.append("".join(text))
        text = []
        verbs.append(verb)
    if "%" in fmt[pos:]:
        raise ValueError("sprintf: stray %")
    text.append(fmt[pos:])
    lits.append("".join(text))
    if len(_FORMATS) < 4096:
        _FORMATS[fmt] = (lits, "".join(verbs))
    return lits, "".join(verbs)


def _sprintf(fmt: Any, args: Any) -> str:
    try:
        return _sprintf_here(fmt, args)
    except ValueError:  # a verb or a value this runtime does not format
        return regorus_builtin("sprintf", fmt, args)  # type: ignore[no-any-return]


def _sprintf_here(fmt: Any, args: Any) -> str:
    if type(fmt) is not str:
        raise BuiltinError("sprintf: operand 1 must be a string")
    if type(args) is not list:
        raise BuiltinError("sprintf: operand 2 must be an array")
    parsed = _FORMATS.get(fmt)
    lits, verbs = parsed if parsed is not None else parse_format(fmt)
    if len(args) != len(verbs):
        raise ValueError("sprintf: missing or extra arguments")
    out = [lits[0]]
    for i, verb in enumerate(verbs, 1):
        a = args[i - 1]
        ta = type(a)
        if ta is str and (verb == "s" or verb == "v"):
            out.append(a)
        else:
            out.append(_VERBS[verb](a))
        out.append(lits[i])
    return "".join(out)


_VERBS: dict[str, Callable[[Any], str]] = {}

# sprintf's verbs, for the generated code (a format known when compiling), as OPA's sprintf
# does them: numbers go to Go's fmt as int64, big.Int or float64, anything else as its
# string, so a verb that does not fit prints Go's %!verb(type=value). A value this runtime
# does not format (NaN, a non-ASCII string inside a collection...) is formatted by regorus.

def F_v(x: Any) -> str:
    try:
        return _fmt_top(x)
    except ValueError:
        return regorus_builtin("sprintf", "%v", [x])  # type: ignore[no-any-return]


def F_s(x: Any) -> str:
    t = type(x)
    if t is str:
        return x  # type: ignore[no-any-return]
    if t is int or t is float:
        try:
            kind, text = _go_number(x)
        except ValueError:
            return regorus_builtin("sprintf", "%s", [x])  # type: ignore[no-any-return]
        return text if kind == "big.Int" else f"%!s({kind}={text})"
    return F_v(x)


def F_d(x: Any) -> str:
    t = type(x)
    if t is int:
        return str(x)  # (OPA's -1; regorus prints "--1")
    try:
        if t is float:
            kind, text = _go_number(x)
            return text if kind == "int64" else f"%!d({kind}={text})"
        return f"%!d(string={_fmt_top(x)})"
    except ValueError:
        return regorus_builtin("sprintf", "%d", [x])  # type: ignore[no-any-return]


def F_q(x: Any) -> str:
    t = type(x)
    try:
        if t is str:
            return _quote(x)
        if t is int or t is float:
            kind, text = _go_number(x)
            if kind == "int64":
                return _quote_rune(int(text))
            return f"%!q({kind}={text})"
        return _quote(_fmt_top(x))
    except ValueError:
        return regorus_builtin("sprintf", "%q", [x])  # type: ignore[no-any-return]


_RUNE_ESCAPES = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t",
                 11: "\\v", 39: "\\'", 92: "\\\\"}


def _quote_rune(n: int) -> str:
    """Go's %q of an integer: the character quoted as a rune literal ('a', '\\x05')."""
    if n < 0 or n > 0x10FFFF or 0xD800 <= n <= 0xDFFF:
        return "'\ufffd'"
    if n in _RUNE_ESCAPES:
        return f"'{_RUNE_ESCAPES[n]}'"
    c = chr(n)
    if c.isprintable():
        return f"'{c}'"
    if n < 0x80:
        return f"'\\x{n:02x}'"
    return f"'\\u{n:04x}'" if n < 0x10000 else f"'\\U{n:08x}'"


_VERBS.update(v=F_v, s=F_s, d=F_d, q=F_q)


def _object_get(obj: Any, key: Any, default: Any) -> Any:
    if type(obj) is not dict:
        raise BuiltinError("object.get: operand 1 must be an object")
    if type(key) is list:
        cur: Any = obj
        for k in key:
            tc = type(cur)
            cur = get(cur, k) if tc is dict or tc is list else U
            if cur is U:
                return default
        return cur
    v = get(obj, key)
    return default if v is U else v


def _array_concat(a: Any, b: Any) -> list[Any]:
    if type(a) is not list or type(b) is not list:
        raise BuiltinError("array.concat: operands must be arrays")
    return a + b


def _concat(sep: Any, xs: Any) -> str:
    _s(sep)
    if isinstance(xs, RSet):
        seq = ordered(xs)
    elif type(xs) is list:
        seq = xs
    else:
        raise BuiltinError("concat: operand 2 must be an array or set")
    return sep.join(_s(x) for x in seq)  # type: ignore[no-any-return]


def _substring(s: Any, start: Any, length: Any) -> str:
    s = _s(s)
    if type(start) is not int or type(length) is not int:
        start, length = _int(start), _int(length)
    if start < 0:
        raise BuiltinError("substring: negative offset")
    if start >= len(s):
        return ""
    if length < 0:
        return s[start:]  # type: ignore[no-any-return]
    return s[start:start + length]  # type: ignore[no-any-return]


def _indexof(s: Any, sub: Any) -> int:
    if _s(sub) == "":
        raise BuiltinError("indexof: empty search character")  # (as OPA)
    return _s(s).find(sub)


def _trim_left(s: Any, cut: Any) -> str:
    return _s(s).lstrip(_s(cut))


def _trim_right(s: Any, cut: Any) -> str:
    return _s(s).rstrip(_s(cut))


def _trim(s: Any, cut: Any) -> str:
    return _s(s).strip(_s(cut))


def _trim_prefix(s: Any, p: Any) -> str:
    s = _s(s)
    p = _s(p)
    return s[len(p):] if s.startswith(p) else s  # type: ignore[no-any-return]


def _trim_suffix(s: Any, p: Any) -> str:
    s = _s(s)
    p = _s(p)
    return s[:-len(p)] if p and s.endswith(p) else s  # type: ignore[no-any-return]


def _trim_space(s: Any) -> str:
    return _s(s).strip(" \t\n\r\v\f")


def _split(s: Any, sep: Any) -> list[str]:
    s = _s(s)
    sep = _s(sep)
    if sep == "":
        return list(s)
    return s.split(sep)  # type: ignore[no-any-return]


def _is(kind: Any) -> Callable[[Any], Any]:
    def fn(x: Any) -> Any:
        t = type(x)
        if kind == "number":
            return t is int or t is float
        if kind == "string":
            return t is str
        if kind == "object":
            return t is dict
        if kind == "array":
            return t is list
        if kind == "set":
            return t is RSet
        if kind == "boolean":
            return t is bool
        return x is None
    return fn


def _keys(obj: Any) -> RSet:
    if type(obj) is not dict:
        raise BuiltinError("object.keys: operand must be an object")
    return mkset(obj.keys())


def _sort(xs: Any) -> list[Any]:
    if type(xs) is not list and type(xs) is not RSet:
        raise BuiltinError("sort: operand must be an array or set")
    return ordered(list(xs))


def _strings(x: Any, name: str) -> list[str]:
    """An operand of ``strings.any_*_match``: a string or a collection of strings, as a list
    (OPA checks every element before it compares any)."""
    xs = [x] if type(x) is str else list(values(x)) if type(x) in (list, RSet) else None
    if xs is None or not all(type(v) is str for v in xs):
        raise BuiltinError(f"{name}: strings or collections of strings")
    return xs


def _any_prefix(s: Any, ps: Any) -> bool:
    name = "strings.any_prefix_match"
    ss, prefixes = _strings(s, name), tuple(_strings(ps, name))
    return any(a.startswith(prefixes) for a in ss)


def _any_suffix(s: Any, ps: Any) -> bool:
    name = "strings.any_suffix_match"
    ss, suffixes = _strings(s, name), tuple(_strings(ps, name))
    return any(a.endswith(suffixes) for a in ss)


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}
# The subset of regex syntax where Go's regexp (OPA's) and Python's re agree (and, but for
# literal braces, Rust's regex crate, regorus').
_SAFE_REGEX = re.compile(r"(?:[A-Za-z0-9_\-.^$*+?()\[\]|/:@ ,=<>!#%&;'\"~`]"
                         r"|\\[sdwSDW.\\/\-()\[\]{}|*+?$^]|\{[0-9]+(?:,[0-9]*)?\}"
                         # a brace that starts no repetition is a literal for Go and Python
                         # (Rust refuses it): `{"a": 1}`; Go reads `{,3}` literally, Python not
                         r"|\{(?![0-9]*,?[0-9]*\})|\})*")


def regex_is_safe(pattern: str) -> bool:
    """Whether Python's re reads the pattern as Rust's regex crate does (and it is valid)."""
    if not _SAFE_REGEX.fullmatch(pattern) or "(?" in pattern:
        return False
    try:
        re.compile(pattern)
    except re.error:  # (an unbalanced bracket: regorus gives the error)
        return False
    return True


# the safe patterns without `$` (no newline check needed), compiled: the generated code
# matches with them directly when the pattern is only known at run time
REGEXES: dict[str, re.Pattern[str]] = {}


def _regex_match(pattern: Any, s: Any) -> bool:
    if type(pattern) is not str or type(s) is not str:  # (_s inlined in the hot builtins)
        raise BuiltinError("operand must be a string")
    rx = _REGEX_CACHE.get(pattern)
    if rx is None:
        if not regex_is_safe(pattern):
            return regorus_builtin("regex.match", pattern, s)  # type: ignore[no-any-return]
        rx = re.compile(pattern)
        if len(_REGEX_CACHE) < 4096:
            _REGEX_CACHE[pattern] = rx
            if "$" not in pattern:
                REGEXES[pattern] = rx
    if "\n" in s and "$" in pattern:  # (Python's $ also matches before a final newline)
        return regorus_builtin("regex.match", pattern, s)  # type: ignore[no-any-return]
    return rx.search(s) is not None


def _object_union(a: Any, b: Any) -> dict[Any, Any]:
    if type(a) is not dict or type(b) is not dict:
        raise BuiltinError("object.union: operands must be objects")
    out = dict(a)
    for k, v in b.items():
        old = out.get(k, U)
        out[k] = _object_union(old, v) if type(old) is dict and type(v) is dict else v
    return out


def _object_filter(obj: Any, keys: Any) -> dict[Any, Any]:
    if type(obj) is not dict:
        raise BuiltinError("object.filter: operand 1 must be an object")
    if type(keys) is dict:
        ks = list(keys.keys())
    elif type(keys) is list or type(keys) is RSet:
        ks = list(keys)
    else:
        raise BuiltinError("object.filter: operand 2 must be a collection")
    wanted = {k for k in ks if type(k) is str}
    if len(wanted) != len(ks):
        return regorus_builtin("object.filter", obj, keys)  # type: ignore[no-any-return]
    return {k: v for k, v in obj.items() if k in wanted}


def _array_slice(a: Any, start: Any, stop: Any) -> list[Any]:
    if type(a) is not list:
        raise BuiltinError("array.slice: operand 1 must be an array")
    if type(start) is not int or type(stop) is not int:
        start, stop = _int(start), _int(stop)
    start = max(start, 0)
    stop = min(stop, len(a))
    return a[start:stop] if start < stop else []


def _startswith(s: Any, p: Any) -> bool:
    if type(s) is not str or type(p) is not str:
        raise BuiltinError("operand must be a string")
    return s.startswith(p)


def _endswith(s: Any, p: Any) -> bool:
    if type(s) is not str or type(p) is not str:
        raise BuiltinError("operand must be a string")
    return s.endswith(p)


def _contains(s: Any, p: Any) -> bool:
    if type(s) is not str or type(p) is not str:
        raise BuiltinError("operand must be a string")
    return p in s


# Go's strings.ToUpper/ToLower (OPA's) map each character on its own with Unicode's simple
# mappings; Python's str.upper/lower use the full ones ("ß" -> "SS") and context (a final
# sigma). Character by character, a mapping to several characters is not a simple one: the
# character stays, but for the Greek letters with ypogegrammeni, whose simple uppercase is
# their titlecase ("ᾳ" -> "ᾼ"), and "İ", whose simple lowercase is "i".

def _go_upper(s: str) -> str:
    return "".join(u if len(u := c.upper()) == 1 else t if len(t := c.title()) == 1 else c
                   for c in s)


def _go_lower(s: str) -> str:
    return "".join(lo if len(lo := c.lower()) == 1 else "i" if c == "\u0130" else c
                   for c in s)


def _upper(s: Any) -> str:
    s = _s(s)
    return s.upper() if s.isascii() else _go_upper(s)


def _lower(s: Any) -> str:
    if type(s) is not str:
        raise BuiltinError("operand must be a string")
    return s.lower() if s.isascii() else _go_lower(s)


def _replace(s: Any, old: Any, new: Any) -> str:
    return _s(s).replace(_s(old), _s(new))


def _json_marshal(v: Any) -> str:
    return json.dumps(to_json(v), separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _format_int(n: Any, base: Any) -> str:
    _num(n)
    if type(base) not in (int, float) or base not in (2, 8, 10, 16):
        raise BuiltinError("format_int: operand 2 must be one of 2, 8, 10, 16")
    i = int(n)
    digits = {2: "b", 8: "o", 10: "d", 16: "x"}[base]
    return format(i, digits)


def _to_number(x: Any) -> Any:
    t = type(x)
    if t is int or t is float:
        return x
    if x is None:
        return 0
    if t is bool:
        return 1 if x else 0
    if t is str:
        if _INTEGER.fullmatch(x):
            return int(x)
        if not (_FLOATISH.fullmatch(x) and _DIGITS.search(x)):  # not even ParseFloat's
            raise BuiltinError(f"to_number: {x!r} is not a number")
        return regorus_builtin("to_number", x)
    raise BuiltinError("to_number: operand must be a number, string, boolean or null")


_INTEGER = re.compile(r"-?[0-9]+")
# what Go's strconv.ParseFloat may accept: decimal and hexadecimal forms with their
# underscores, infinities and NaN (whatever OPA then makes of them, regorus is asked)
_FLOATISH = re.compile(r"[+-]?(?:[0-9_]*\.?[0-9_]*(?:[eE][+-]?[0-9_]+)?"
                       r"|0[xX][0-9a-fA-F_]*\.?[0-9a-fA-F_]*(?:[pP][+-]?[0-9_]+)?"
                       r"|(?i:inf|infinity|nan))")
_DIGITS = re.compile(r"[0-9]|(?i:inf|nan)")


def _abs(x: Any) -> Any:
    return abs(_num(x))


def _is_int_valued(x: Any) -> Any:
    raise ValueError("left to regorus")


def _validity(name: str) -> Callable[[Any], Any]:
    """``json.is_valid`` and its kind: false for a value that is not a string, as OPA (regorus
    fails), else regorus' answer."""
    def fn(x: Any) -> Any:
        return False if type(x) is not str else regorus_builtin(name, x)
    return fn


# name -> (arity, function). A builtin missing here is asked of regorus per call when regorus
# has it (see regorus_knows), else its rule falls back to regorus.
BUILTINS: dict[str, tuple[int, Callable[..., Any]]] = {
    "sprintf": (2, _sprintf),
    "object.get": (3, _object_get),
    "object.keys": (1, _keys),
    "object.union": (2, _object_union),
    "object.filter": (2, _object_filter),
    "array.concat": (2, _array_concat),
    "array.slice": (3, _array_slice),
    "concat": (2, _concat),
    "count": (1, _count),
    "split": (2, _split),
    "startswith": (2, _startswith),
    "endswith": (2, _endswith),
    "contains": (2, _contains),
    "upper": (1, _upper),
    "lower": (1, _lower),
    "trim": (2, _trim),
    "trim_left": (2, _trim_left),
    "trim_right": (2, _trim_right),
    "trim_prefix": (2, _trim_prefix),
    "trim_suffix": (2, _trim_suffix),
    "trim_space": (1, _trim_space),
    "substring": (3, _substring),
    "indexof": (2, _indexof),
    "replace": (3, _replace),
    "sort": (1, _sort),
    "is_number": (1, _is("number")),
    "is_string": (1, _is("string")),
    "is_object": (1, _is("object")),
    "is_array": (1, _is("array")),
    "is_set": (1, _is("set")),
    "is_boolean": (1, _is("boolean")),
    "is_null": (1, _is("null")),
    "strings.any_prefix_match": (2, _any_prefix),
    "strings.any_suffix_match": (2, _any_suffix),
    "regex.match": (2, _regex_match),
    "json.marshal": (1, _json_marshal),
    "format_int": (2, _format_int),
    "to_number": (1, _to_number),
    "abs": (1, _abs),
    **{name: (1, _validity(name)) for name in ("json.is_valid", "yaml.is_valid",
                                               "base64.is_valid", "semver.is_valid",
                                               "net.cidr_is_valid")},
}
