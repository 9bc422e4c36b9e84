"""A stand-in for socle.policy.engine_regorus while it is being written (tests only)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest


class ShimEngine:
    name = "regorus"

    def __init__(self, rego_version: str = "v1", timeout: float | None = None) -> None:
        import regorus

        self._e = regorus.Engine()
        if rego_version == "v0":
            self._e.set_rego_v0(True)
        # the deprecated builtin the Gatekeeper library still uses
        self._e.add_extension("re_match", 2, lambda p, s: re.search(p, s) is not None)

    def add_policy(self, path: str, source: str) -> None:
        from socle.policy.engine import PolicyError

        try:
            self._e.add_policy(path, source)
        except Exception as err:
            raise PolicyError(str(err).splitlines()[0], path) from None

    def add_data(self, data: dict[str, Any]) -> None:
        self._e.add_data_json(json.dumps(data))

    def add_builtin(self, name: str, arity: int, fn: Any) -> None:
        self._e.add_extension(name, arity, fn)

    def eval_rule(self, rule: str, input: Any) -> Any:
        self._e.set_input_json(json.dumps(input))
        try:
            return json.loads(self._e.eval_rule_as_json("data." + rule))
        except RuntimeError:
            return None

    def eval_query(self, query: str, input: Any) -> list[Any]:
        self._e.set_input_json(json.dumps(input))
        out = json.loads(self._e.eval_query_as_json(query))
        return [r["expressions"][0]["value"] for r in out.get("result", [])]

    def packages(self) -> list[str]:
        return [p.removeprefix("data.") for p in self._e.get_packages()]


def install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the shim only when the real regorus adapter is not there yet."""
    try:
        import socle.policy.engine_regorus  # noqa: F401
    except ImportError:
        from socle.policy import engine

        def create(name: str = "regorus", rego_version: str = "v1",
                   timeout: float | None = None) -> Any:
            return ShimEngine(rego_version, timeout)

        monkeypatch.setattr(engine, "create_engine", create)
