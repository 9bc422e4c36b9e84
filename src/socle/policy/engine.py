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
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from socle.core.errors import SocleError

ENGINES = ("regorus", "opa")
DEFAULT_ENGINE = "regorus"


class PolicyError(SocleError):
    """A policy that does not compile, or an evaluation that failed (exit 2)."""


class Engine(Protocol):
    name: str

    def add_policy(self, path: str, source: str) -> None: ...

    def add_data(self, data: dict[str, Any]) -> None: ...

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None: ...

    def eval_rule(self, rule: str, input: Any) -> Any: ...

    def eval_query(self, query: str, input: Any) -> list[Any]: ...

    def packages(self) -> list[str]: ...


def create_engine(name: str = DEFAULT_ENGINE, rego_version: str = "v1",
                  timeout: float | None = None) -> Engine:
    """A new engine of the named kind (``regorus`` or ``opa``)."""
    if name == "regorus":
        from socle.policy.engine_regorus import RegorusEngine

        engine: Engine = RegorusEngine(rego_version=rego_version, timeout=timeout)
        return engine
    if name == "opa":
        from socle.policy.engine_opa import OpaEngine

        opa: Engine = OpaEngine(rego_version=rego_version, timeout=timeout)
        return opa
    raise PolicyError(f"unknown engine {name!r} (one of {', '.join(ENGINES)})")
