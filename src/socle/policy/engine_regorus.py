"""The default engine: regorus (Rust) through the ``gordon-to-regorus`` wheel (import ``regorus``).

Policies are parsed once; each input is swapped in with ``set_input`` and rules are evaluated
with ``eval_rule`` (no re-parse, no re-compile). Gaps of this regorus build are closed here:

* builtins it lacks are provided in Python (``crypto.md5/sha1/sha256``, ``crypto.hmac.*``,
  ``io.jwt.decode``, and the deprecated v0 ``re_match``, ``any``, ``all``, ``set_diff``,
  ``cast_*`` under the names :func:`socle.policy.v0.rename_deprecated` gives them);
* ``f("x")`` with no body is rewritten to ``f("x") := true`` (:func:`fix_for_regorus`).

A module regorus has parsed before, unchanged (same text, same regorus and source fixes), is
not parsed again when it is added: it cannot fail to parse, so it is handed to regorus only
when something evaluates with regorus (the compiled engine, whose programs are cached,
usually never does). Such modules are remembered in ``$SOCLE_CACHE_DIR/rego-parsed/``, with
their fixed text; an entry is trusted only when owned by the user and not group/world-writable
(it is policy code). Parsing and fixing the ~90 modules of a ``socle check`` cost ~80 ms.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from socle.core.cache import policy_cache, read_trusted, write_atomic
from socle.policy.engine import (
    Coverage,
    PolicyError,
    error_from_regorus,
    jsonable,
    plain,
    time_limited,
)
from socle.policy.v0 import fix_for_regorus, package_of, rename_deprecated


def _b64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _jwt_decode(token: str) -> list[Any]:
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("encoded JWT must have 3 sections")
    header = json.loads(_b64url(parts[0]))
    payload = json.loads(_b64url(parts[1]))
    return [header, payload, _b64url(parts[2]).hex()]


def _hmac(algo: str) -> Callable[[str, str], str]:
    def fn(x: str, key: str) -> str:
        return hmac.new(key.encode(), x.encode(), algo).hexdigest()
    return fn


def _cast(kind: type, name: str) -> Callable[[Any], Any]:
    def fn(x: Any) -> Any:
        if kind is list and isinstance(x, (list, tuple, set)):
            return list(x)
        if isinstance(x, kind):
            return x
        raise TypeError(f"{name}: operand 1 must be {kind.__name__}")
    return fn


# name -> (arity, function): builtins this regorus build lacks, and the v0 compat names.
PY_BUILTINS: dict[str, tuple[int, Callable[..., Any]]] = {
    "crypto.md5": (1, lambda s: hashlib.md5(s.encode()).hexdigest()),
    "crypto.sha1": (1, lambda s: hashlib.sha1(s.encode()).hexdigest()),
    "crypto.sha256": (1, lambda s: hashlib.sha256(s.encode()).hexdigest()),
    "crypto.hmac.md5": (2, _hmac("md5")),
    "crypto.hmac.sha1": (2, _hmac("sha1")),
    "crypto.hmac.sha256": (2, _hmac("sha256")),
    "crypto.hmac.sha512": (2, _hmac("sha512")),
    "crypto.hmac.equal": (2, lambda a, b: hmac.compare_digest(a.encode(), b.encode())),
    "io.jwt.decode": (1, _jwt_decode),
}
COMPAT_BUILTINS: dict[str, tuple[int, Callable[..., Any]]] = {
    "socle.compat.any": (1, lambda xs: any(x is True for x in xs)),
    "socle.compat.all": (1, lambda xs: all(x is True for x in xs)),
    "socle.compat.set_diff": (2, lambda a, b: [x for x in a if x not in b]),
    "socle.compat.cast_array": (1, _cast(list, "cast_array")),
    "socle.compat.cast_set": (1, _cast(list, "cast_set")),
    "socle.compat.cast_string": (1, _cast(str, "cast_string")),
    "socle.compat.cast_boolean": (1, _cast(bool, "cast_boolean")),
    "socle.compat.cast_null": (1, lambda x: None),
    "socle.compat.cast_object": (1, _cast(dict, "cast_object")),
}


_UNDEFINED_JSON = '"<undefined>"'


# --- modules parsed before -----------------------------------------------------------------------

def _parsed_dir() -> str | None:
    return policy_cache("rego-parsed")


@lru_cache(maxsize=1)
def _parsed_digest() -> str:
    """Changes with regorus (its library file) and with the source fixes (their code)."""
    import regorus  # type: ignore[import-untyped]

    from socle.policy import v0

    h = hashlib.sha256(b"1")
    for mod in (regorus, v0):
        path = getattr(mod, "__file__", None) or ""
        with contextlib.suppress(OSError):
            st = os.stat(path)
            h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}".encode())
    h.update(sys.version.encode())
    return h.hexdigest()


def _parsed_key(rego_version: str, source: str) -> str:
    h = hashlib.sha256(_parsed_digest().encode())
    h.update(rego_version.encode())
    h.update(source.encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _parsed_before(key: str) -> str | None:
    """The fixed text of a module regorus parsed before, or None."""
    folder = _parsed_dir()
    data = None if folder is None else read_trusted(os.path.join(folder, key))
    if data is None:
        return None
    try:
        return data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError:
        return None


def _remember_parsed(key: str, fixed: str) -> None:
    folder = _parsed_dir()
    if folder is not None:
        with contextlib.suppress(UnicodeEncodeError):
            write_atomic(os.path.join(folder, key), fixed.encode("utf-8", "surrogatepass"))


class RegorusEngine:
    name = "regorus"

    def __init__(self, rego_version: str = "v1", timeout: float | None = None) -> None:
        try:
            import regorus
        except ImportError as err:  # pragma: no cover - a dependency
            raise PolicyError(f"the regorus engine is not installed ({err}); "
                              "pip install gordon-to-regorus==0.13.0") from None
        self._raw = regorus.Engine()
        self._deferred: list[tuple[str, str]] = []  # parsed before: given to regorus when used
        self.rego_version = rego_version
        self.timeout = timeout
        self.coverage = False
        if rego_version == "v0":
            self._raw.set_rego_v0(True)
        self._raw.set_gather_prints(True)
        self._modules: dict[str, str] = {}
        self._builtins: set[str] = set()
        for bname, (arity, fn) in {**PY_BUILTINS, **COMPAT_BUILTINS}.items():
            self._raw.add_extension(bname, arity, fn)
            self._builtins.add(bname)

    @property
    def _engine(self) -> Any:
        """The regorus engine, holding every module added so far."""
        if self._deferred:
            deferred, self._deferred = self._deferred, []
            for path, src in deferred:
                self._parse(path, src)
        return self._raw

    def _parse(self, path: str, src: str) -> None:
        try:
            with time_limited(f"{path} (parsing the policy)"):
                self._raw.add_policy(path, src)
        except RuntimeError as err:
            raise error_from_regorus(str(err), path) from None

    # -- loading -----------------------------------------------------------------------------

    def add_policy(self, path: str, source: str) -> None:
        key = _parsed_key(self.rego_version, source)
        if path not in self._modules:
            src = _parsed_before(key)
            if src is not None:  # cannot fail to parse: parsed when regorus is used
                self._deferred.append((path, src))
                self._modules[path] = src
                return
        src = fix_for_regorus(rename_deprecated(source))
        self._parse(path, src)  # (before what was deferred: regorus does not mind the order)
        self._modules[path] = src
        _remember_parsed(key, src)

    def add_data(self, data: dict[str, Any]) -> None:
        try:
            self._engine.add_data(data)
        except (RuntimeError, TypeError, OverflowError):
            try:
                self._engine.add_data_json(json.dumps(jsonable(data)))
            except RuntimeError as err:
                raise error_from_regorus(str(err)) from None

    def add_builtin(self, name: str, arity: int, fn: Callable[..., Any]) -> None:
        def call(*args: Any) -> Any:
            return fn(*(plain(a) for a in args))
        self._engine.add_extension(name, arity, call)
        self._builtins.add(name)

    def prepare(self) -> None:
        """Parsing happened in add_policy; regorus resolves names at first evaluation."""

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

    def _set_input(self, input: Any) -> None:
        if input is None:
            self._engine.set_input_json("null")
            return
        try:
            self._engine.set_input(input)
        except (RuntimeError, TypeError, OverflowError, ValueError):
            # integers beyond int64, or values regorus cannot take directly
            self._engine.set_input_json(json.dumps(jsonable(input)))

    def _eval(self, rule: str) -> Any:
        try:
            text = self._engine.eval_rule_as_json("data." + rule)
        except RuntimeError as err:
            msg = str(err)
            if "not a valid rule path" in msg:
                return None
            raise error_from_regorus(msg) from None
        if text == _UNDEFINED_JSON:
            return None
        return json.loads(text)

    def eval_rule(self, rule: str, input: Any) -> Any:
        self._set_input(input)
        return self._eval(rule)

    def eval_rules(self, rules: list[str], input: Any) -> dict[str, Any]:
        self._set_input(input)
        return {r: self._eval(r) for r in rules}

    def eval_query(self, query: str, input: Any) -> list[Any]:
        self._set_input(input)
        try:
            raw = json.loads(self._engine.eval_query_as_json(query))
        except RuntimeError as err:
            raise error_from_regorus(str(err)) from None
        out = []
        for result in raw.get("result", []):
            exprs = result.get("expressions") or []
            if exprs:
                out.append(exprs[0].get("value"))
        return out

    def eval_with_coverage(self, query: str, input: Any) -> tuple[list[Any], Coverage]:
        self._engine.clear_coverage_data()
        self._engine.set_enable_coverage(True)
        try:
            values = self.eval_query(query, input)
            report = json.loads(self._engine.get_coverage_report_as_json())
        finally:
            self._engine.set_enable_coverage(False)
        cov: Coverage = {}
        for f in report.get("files", []):
            cov[f["path"]] = (set(f.get("covered", [])), set(f.get("not_covered", [])))
        return values, cov

    def take_prints(self) -> list[str]:
        # (only an evaluation prints, and it gave regorus the deferred modules first: asking
        # for prints does not need them)
        return list(self._raw.take_prints())
