"""The Rego engine interface, and the factory that picks an implementation.

Two implementations (``regorus`` by default, ``opa`` for reference fidelity) live in their
own modules. Every caller goes through :func:`create_engine`; nothing else imports an engine
package directly.

Contract:

* ``add_policy(path, source)`` adds one Rego module (``path`` is used in error messages);
  raises :class:`PolicyError` with file:line on a compile/parse error.
* ``add_data(data)`` merges a JSON-like document under ``data``.
* ``add_builtin(name, arity, fn)`` registers a custom builtin (conftest's ``parse_config``).
* ``eval_rule(rule, input)`` evaluates ``data.<pkg>.<rule>`` (a dotted path without ``data.``)
  against ``input`` and returns the plain Python value (``None`` when undefined).
* ``eval_query(query, input)`` evaluates an arbitrary query; returns the list of bindings
  results as OPA's ``result`` array of ``expressions`` values (first expression per result).
* ``packages()`` lists the loaded packages (``data.main`` -> ``"main"``).
* Engines are built once per run and reused for every input (never one per file).

Extensions (both engines implement them):

* ``eval_rules(rules, input)`` sets ``input`` once and evaluates several rules: the fast path
  of ``socle test`` (one input swap, no re-parse, per document).
* ``prepare()`` compiles what can be compiled before the first input (OPA compiles every
  module; regorus parses at ``add_policy`` and resolves names lazily).
* ``modules()`` the modules as loaded (after any v0 rewrite): ``{path: source}``.
* ``coverage`` (bool) and ``eval_with_coverage(query, input)`` returning
  ``(values, {file: (covered_lines, not_covered_lines)})``.
* ``take_prints()`` the output of Rego ``print`` since the last call.

Values are plain JSON-like Python values: sets come back as sorted lists, as OPA prints them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Protocol

from socle.core.errors import SocleError

ENGINES = ("regorus", "opa")
DEFAULT_ENGINE = "regorus"
REGO_VERSIONS = ("v0", "v1")

Coverage = dict[str, tuple[set[int], set[int]]]


class PolicyError(SocleError):
    """A policy that does not compile, or an evaluation that failed (exit 2)."""


class Engine(Protocol):
    name: str
    coverage: bool

    def add_policy(self, path: str, source: str) -> None: ...

    def add_data(self, data: dict[str, Any]) -> None: ...

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None: ...

    def eval_rule(self, rule: str, input: Any) -> Any: ...

    def eval_query(self, query: str, input: Any) -> list[Any]: ...

    def packages(self) -> list[str]: ...

    def eval_rules(self, rules: list[str], input: Any) -> dict[str, Any]: ...

    def prepare(self) -> None: ...

    def modules(self) -> dict[str, str]: ...

    def eval_with_coverage(self, query: str, input: Any) -> tuple[list[Any], Coverage]: ...

    def take_prints(self) -> list[str]: ...


def create_engine(name: str = DEFAULT_ENGINE, rego_version: str = "v1",
                  timeout: float | None = None) -> Engine:
    """A new engine of the named kind (``regorus`` or ``opa``)."""
    if rego_version not in REGO_VERSIONS:
        raise PolicyError(f"unknown Rego version {rego_version!r} (one of v0, v1)")
    if name == "regorus":
        from socle.policy.engine_regorus import RegorusEngine

        return RegorusEngine(rego_version=rego_version, timeout=timeout)
    if name == "opa":
        from socle.policy.engine_opa import OpaEngine

        return OpaEngine(rego_version=rego_version, timeout=timeout)
    raise PolicyError(f"unknown engine {name!r} (one of {', '.join(ENGINES)})")


def available(name: str) -> bool:
    """True when the named engine's package can be imported."""
    import importlib.util

    module = {"regorus": "regorus", "opa": "opa_bindings"}.get(name)
    return module is not None and importlib.util.find_spec(module) is not None


# --- helpers shared by the engine modules ------------------------------------------------------

def _sort_key(value: Any) -> tuple[int, str]:
    order = {type(None): 0, bool: 1, int: 2, float: 2, str: 3, list: 4, dict: 6}
    return (order.get(type(value), 5), json.dumps(value, sort_keys=True, default=str))


def plain(value: Any) -> Any:
    """A JSON-like copy of an engine value: sets become sorted lists, tuples lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (set, frozenset)):
        return sorted((plain(v) for v in value), key=_sort_key)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def jsonable(value: Any) -> Any:
    """An input document as JSON would carry it (dates and other scalars become strings)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    return str(value)


_REGORUS_LOC = re.compile(r"-->\s*(?P<file>.+?):(?P<line>\d+):(?P<col>\d+)")
_OPA_LOC = re.compile(r"(?P<file>[^\s:][^:\n]*?):(?P<line>\d+): (?P<msg>rego_[a-z_]+: [^\n]*)")


def error_from_regorus(text: str, default_file: str | None = None) -> PolicyError:
    """A one-line PolicyError from a regorus error (location arrow, then ``error: ...``)."""
    text = text.split("\nStack backtrace:")[0].strip()
    m = _REGORUS_LOC.search(text)
    msg = ""
    for line in text.splitlines():
        s = line.strip()
        if s.startswith("error:"):
            msg = s[len("error:"):].strip()
            break
    if not msg:
        msg = " ".join(s.strip() for s in text.splitlines() if s.strip() and "|" not in s
                       and not s.startswith("-->")) or text
    if m:
        return PolicyError(msg, m.group("file"), int(m.group("line")), int(m.group("col")))
    return PolicyError(msg, default_file)


def error_from_opa(text: str, default_file: str | None = None) -> PolicyError:
    """A one-line PolicyError from an OPA error (``file:line: rego_xxx_error: msg``)."""
    m = _OPA_LOC.search(text)
    if m:
        more = len(_OPA_LOC.findall(text)) - 1
        msg = m.group("msg") + (f" (and {more} more)" if more > 0 else "")
        return PolicyError(msg, m.group("file"), int(m.group("line")))
    first = text.strip().splitlines()[0] if text.strip() else "evaluation failed"
    return PolicyError(first, default_file)
