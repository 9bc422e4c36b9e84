"""Gatekeeper ``K8sNativeValidation`` (CEL) template code, evaluated with cel-python.

Bindings as Gatekeeper gives them to a ValidatingAdmissionPolicy: ``object``, ``oldObject``,
``request``, ``namespaceObject``, ``params`` (the whole constraint object), and ``variables``
holding Gatekeeper's preamble ``variables.anyObject`` (object, or oldObject on DELETE) and
``variables.params`` (the constraint's ``spec.parameters``), then the template's own variables in
the order they are written (each may use the ones before it).

A validation whose expression is false gives a violation whose message is ``messageExpression``
(when it evaluates to a non-empty string), else ``message``, else ``failed expression: <expr>``.
An expression that fails to evaluate gives a violation too (Gatekeeper's default failurePolicy
is Fail). ``matchConditions`` that are false skip the object.

Known gaps of cel-python 0.5.0 (documented in docs/gatekeeper.md): optional field selection
(``a.?b``, ``orValue``) does not parse; int/double heterogeneous comparisons are errors; the
Kubernetes ``quantity``, ``url``, ``ip``/``cidr`` and ``format`` libraries are missing. The string
and list extensions used by the Gatekeeper library (``join``, ``split``, ``lowerAscii``,
``upperAscii``, ``replace``, ``trim``, ``indexOf``, ``lastIndexOf``, ``substring``, ``sum``,
``min``, ``max``, ``isSorted``, ``find``, ``findAll``) are provided here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from socle.core.errors import InputError


def _celpy() -> Any:
    try:
        import celpy  # type: ignore[import-not-found,unused-ignore]
    except ImportError:  # pragma: no cover - depends on the environment
        raise InputError("CEL templates need the cel-python package "
                         "(pip install cel-python==0.5.0)") from None
    return celpy


@dataclass(slots=True)
class CelViolation:
    message: str


def _null_safe(base: Any) -> type:
    """A cel-python value type that compares unequal to null instead of raising."""

    def eq(self: Any, other: Any) -> Any:
        if other is None:
            return False
        return base.__eq__(self, other)

    def ne(self: Any, other: Any) -> Any:
        if other is None:
            return True
        return base.__ne__(self, other)

    return type(f"Null{base.__name__}", (base,), {"__eq__": eq, "__ne__": ne,
                                                   "__hash__": base.__hash__})


_TYPES: dict[str, type] = {}


def _types() -> dict[str, type]:
    if not _TYPES:
        ct = _celpy().celtypes
        for name in ("MapType", "ListType", "IntType", "DoubleType", "BoolType"):
            _TYPES[name] = _null_safe(getattr(ct, name))
        _TYPES["MapType"].__hash__ = None  # type: ignore[assignment]
        _TYPES["ListType"].__hash__ = None  # type: ignore[assignment]
    return _TYPES


def to_cel(value: Any) -> Any:
    """JSON-like Python data as cel-python values (null-safe comparisons)."""
    t = _types()
    ct = _celpy().celtypes
    if value is None:
        return None
    if isinstance(value, bool):
        return t["BoolType"](value)
    if isinstance(value, int):
        return t["IntType"](value)
    if isinstance(value, float):
        return t["DoubleType"](value)
    if isinstance(value, str):
        return ct.StringType(value)
    if isinstance(value, dict):
        return t["MapType"]({ct.StringType(str(k)): to_cel(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return t["ListType"]([to_cel(v) for v in value])
    return ct.StringType(str(value))


def from_cel(value: Any) -> Any:
    ct = _celpy().celtypes
    if value is None:
        return None
    if isinstance(value, ct.BoolType):
        return bool(value)
    if isinstance(value, (ct.IntType, ct.UintType)):
        return int(value)
    if isinstance(value, ct.DoubleType):
        return float(value)
    if isinstance(value, ct.StringType):
        return str(value)
    if isinstance(value, ct.MapType):
        return {str(k): from_cel(v) for k, v in value.items()}
    if isinstance(value, ct.ListType):
        return [from_cel(v) for v in value]
    return str(value)


def _functions() -> dict[str, Callable[..., Any]]:
    ct = _celpy().celtypes
    s = ct.StringType

    def join(lst: Any, sep: Any = "") -> Any:
        return s(str(sep).join(str(x) for x in lst))

    def split(text: Any, sep: Any, limit: Any = -1) -> Any:
        n = int(limit)
        if n == 0:
            return to_cel([])
        parts = str(text).split(str(sep), n - 1 if n > 0 else -1)
        return to_cel(parts)

    def replace(text: Any, old: Any, new: Any, limit: Any = -1) -> Any:
        return s(str(text).replace(str(old), str(new), int(limit)))

    def substring(text: Any, start: Any, end: Any = None) -> Any:
        t = str(text)
        return s(t[int(start):] if end is None else t[int(start):int(end)])

    def index_of(target: Any, item: Any, start: Any = 0) -> Any:
        if isinstance(target, str):
            return ct.IntType(str(target).find(str(item), int(start)))
        for i, x in enumerate(target):
            if x == item:
                return ct.IntType(i)
        return ct.IntType(-1)

    def last_index_of(target: Any, item: Any) -> Any:
        if isinstance(target, str):
            return ct.IntType(str(target).rfind(str(item)))
        for i in range(len(target) - 1, -1, -1):
            if target[i] == item:
                return ct.IntType(i)
        return ct.IntType(-1)

    def find(text: Any, pattern: Any) -> Any:
        m = re.search(str(pattern), str(text))
        return s(m.group(0) if m else "")

    def find_all(text: Any, pattern: Any, limit: Any = -1) -> Any:
        found = [m.group(0) for m in re.finditer(str(pattern), str(text))]
        return to_cel(found if int(limit) < 0 else found[: int(limit)])

    def lst_sum(lst: Any) -> Any:
        total = sum(lst) if len(lst) else ct.IntType(0)
        return total

    return {
        "join": join,
        "split": split,
        "lowerAscii": lambda t: s(str(t).lower()),
        "upperAscii": lambda t: s(str(t).upper()),
        "replace": replace,
        "trim": lambda t: s(str(t).strip()),
        "substring": substring,
        "indexOf": index_of,
        "lastIndexOf": last_index_of,
        "find": find,
        "findAll": find_all,
        "sum": lst_sum,
        "min": lambda lst: min(lst),
        "max": lambda lst: max(lst),
        "isSorted": lambda lst: ct.BoolType(list(lst) == sorted(lst)),
    }


class CelProgram:
    """One template's CEL source, compiled once, evaluated for many objects."""

    def __init__(self, source: dict[str, Any], file: str = "", line: int = 0) -> None:
        celpy = _celpy()
        self.env = celpy.Environment()
        self.functions = _functions()
        self.file = file
        self.line = line

        def compile_(expr: Any, what: str) -> Any:
            if not isinstance(expr, str) or not expr.strip():
                raise InputError(f"CEL {what}: expression must be a non-empty string", file, line)
            try:
                return self.env.program(self.env.compile(expr), functions=self.functions)
            except Exception as err:  # celpy raises its own parse error types
                first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
                raise InputError(f"CEL {what} does not compile: {first}", file, line) from None

        self.variables: list[tuple[str, Any]] = []
        for i, var in enumerate(_as_list(source.get("variables"))):
            if not isinstance(var, dict) or not isinstance(var.get("name"), str):
                raise InputError(f"CEL variables[{i}] needs a name and an expression", file, line)
            self.variables.append((var["name"], compile_(var.get("expression"),
                                                          f"variable {var['name']!r}")))
        self.match_conditions: list[tuple[str, Any]] = []
        for i, mc in enumerate(_as_list(source.get("matchConditions"))):
            if not isinstance(mc, dict):
                raise InputError(f"CEL matchConditions[{i}] must be an object", file, line)
            name = str(mc.get("name", i))
            self.match_conditions.append((name, compile_(mc.get("expression"),
                                                         f"matchCondition {name!r}")))
        self.validations: list[tuple[str, Any, Any, str]] = []
        for i, val in enumerate(_as_list(source.get("validations"))):
            if not isinstance(val, dict):
                raise InputError(f"CEL validations[{i}] must be an object", file, line)
            expr = val.get("expression")
            prog = compile_(expr, f"validations[{i}]")
            msg_expr = val.get("messageExpression")
            msg_prog = compile_(msg_expr, f"validations[{i}].messageExpression") \
                if msg_expr else None
            message = str(val["message"]) if isinstance(val.get("message"), str) else ""
            self.validations.append((str(expr), prog, msg_prog, message))
        if not self.validations:
            raise InputError("CEL source has no validations", file, line)
        # what an expression that fails to evaluate gives: a violation (Fail) or nothing
        # (Ignore); None: the default the caller gives (gator's
        # --default-k8s-native-validation-failure-policy, Fail unless told)
        policy = source.get("failurePolicy")
        if policy is not None and policy not in FAILURE_POLICIES:
            raise InputError(f"CEL failurePolicy must be Fail or Ignore, got {policy!r}",
                             file, line)
        self.failure_policy: str | None = policy

    def evaluate(self, review: dict[str, Any], constraint: dict[str, Any],
                 namespace: dict[str, Any] | None = None,
                 default_failure_policy: str = "Fail") -> list[CelViolation]:
        celpy = _celpy()
        ignore = (self.failure_policy or default_failure_policy) == "Ignore"
        obj = review.get("object")
        old = review.get("oldObject")
        spec = constraint.get("spec") if isinstance(constraint.get("spec"), dict) else {}
        params = spec.get("parameters") if isinstance(spec, dict) else None
        any_obj = old if (review.get("operation") == "DELETE" and obj is None) else obj
        request = {k: v for k, v in review.items()
                   if k not in ("object", "oldObject", "_unstable")}
        variables: dict[Any, Any] = {
            celpy.celtypes.StringType("anyObject"): to_cel(any_obj),
            celpy.celtypes.StringType("params"): to_cel(params),
        }
        activation: dict[str, Any] = {
            "object": to_cel(obj), "oldObject": to_cel(old), "request": to_cel(request),
            "params": to_cel(constraint), "namespaceObject": to_cel(namespace),
            "variables": _types()["MapType"](variables),
        }
        for name, prog in self.variables:
            try:
                value = prog.evaluate(activation)
            except Exception as err:  # a failing variable fails what uses it, lazily
                value = celpy.evaluation.CELEvalError(_short(err))
            if isinstance(value, celpy.evaluation.CELEvalError) and \
                    not _short(value).startswith("composited variable"):  # (gator's words)
                value = celpy.evaluation.CELEvalError(
                    f'composited variable "{name}" fails to evaluate: '
                    f"{_cel_go_words(_short(value))}")
            variables[celpy.celtypes.StringType(name)] = value
            activation["variables"] = _types()["MapType"](variables)
        for _, prog in self.match_conditions:
            try:
                matched = prog.evaluate(activation)
            except Exception:
                continue  # (gator: a condition that fails to evaluate does not skip the object)
            if not isinstance(matched, celpy.evaluation.CELEvalError) and not bool(matched):
                return []
        out: list[CelViolation] = []
        for expr, prog, msg_prog, message in self.validations:
            try:
                ok = prog.evaluate(activation)
            except Exception as err:
                ok = celpy.evaluation.CELEvalError(_short(err))
            if isinstance(ok, celpy.evaluation.CELEvalError):
                if not ignore:  # (gator's words)
                    out.append(CelViolation(f"expression '{expr}' resulted in error: "
                                            f"{_cel_go_words(_short(ok))}"))
                continue
            if bool(ok):
                continue
            text = ""
            if msg_prog is not None:
                try:
                    value = msg_prog.evaluate(activation)
                    text = str(value) if isinstance(value, str) else ""
                except Exception:  # Kubernetes falls back to message
                    text = ""
            out.append(CelViolation(text or message or f"failed expression: {expr}"))
        return out


FAILURE_POLICIES = ("Fail", "Ignore")
_NO_MEMBER = re.compile(r"no such member in mapping: '(.*)'\Z")


def _cel_go_words(text: str) -> str:
    """cel-python's words for an error, as cel-go (Gatekeeper's) says the common ones."""
    m = _NO_MEMBER.match(text)
    return f"no such key: {m.group(1)}" if m else text


def _short(err: BaseException) -> str:
    args = getattr(err, "args", ())
    text = str(args[0]) if args else str(err)
    return text.splitlines()[0] if text else type(err).__name__


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
