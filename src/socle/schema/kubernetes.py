"""Bundled Kubernetes schemas, offline, one self-contained file per kind.

The schemas come from the ``kubernetes-validate`` package (one folder per minor version, per-kind
files whose ``$ref``s point into a shared ``_definitions.json``). On first use of a kind, socle
writes a standalone copy (the kind plus the definitions it reaches, refs made local) into its
cache, laid out as kubeconform's schema locations are::

    <cache>/schemas/<package version>/v1.33.0-standalone-strict/deployment-apps-v1.json

so the same folder also works as ``kubeconform -schema-location``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
from functools import lru_cache
from typing import Any

from socle.core.cache import cache_root
from socle.core.errors import UsageError

_PACKAGE = "kubernetes_validate"
_REF_PREFIX = "/api/_definitions.json#/$defs/"


@lru_cache(maxsize=1)
def _source_dir() -> str:
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("the kubernetes-validate package (bundled schemas) is not installed")
    return os.path.join(next(iter(spec.submodule_search_locations)), "kubernetes-json-schema")


@lru_cache(maxsize=1)
def _package_version() -> str:
    """kubernetes-validate's version, read from its version.py (importlib.metadata costs ~70 ms
    per process, paid again by every worker)."""
    path = os.path.join(os.path.dirname(_source_dir()), "version.py")
    try:
        with open(path, encoding="utf-8") as fh:
            found = re.search(r"""__version__\s*=\s*['"]([^'"]+)['"]""", fh.read())
    except OSError:
        found = None
    if found:
        return found.group(1)
    try:  # pragma: no cover - a layout without version.py
        from importlib.metadata import version

        return version("kubernetes-validate")
    except Exception:  # pragma: no cover
        return "unknown"


def _vkey(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", v))


@lru_cache(maxsize=1)
def versions() -> list[str]:
    """Bundled versions, oldest first, as ``1.33.0``."""
    out = []
    for name in os.listdir(_source_dir()):
        m = re.fullmatch(r"v(\d+\.\d+\.\d+)-local", name)
        if m:
            out.append(m.group(1))
    return sorted(out, key=_vkey)


def latest() -> str:
    return versions()[-1]


def resolve_version(requested: str | None) -> str:
    """``1.30``, ``v1.30.4``, ``1.30.0`` or ``master``/``latest`` -> a bundled ``1.30.0``.

    Patch versions share their minor's schemas (the API does not change within a minor).
    """
    if requested in (None, "", "master", "latest"):
        return latest()
    assert requested is not None
    m = re.fullmatch(r"v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?", requested.strip())
    if not m:
        raise UsageError(f"invalid Kubernetes version {requested!r} (expected e.g. 1.31 or 1.31.2)")
    minor = f"{m.group(1)}.{m.group(2)}"
    for v in versions():
        if v.startswith(minor + "."):
            return v
    raise UsageError(
        f"Kubernetes {requested} is not bundled; bundled versions: "
        f"{versions()[0].rsplit('.', 1)[0]} to {latest().rsplit('.', 1)[0]} "
        "(use -schema-location for others)")


def kind_suffix(api_version: str) -> str:
    """kubeconform's KindSuffix: ``-apps-v1`` for ``apps/v1``, ``-v1`` for ``v1``."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return f"-{group.split('.')[0]}-{version}"
    return f"-{api_version}"


def file_name(kind: str, api_version: str) -> str:
    return f"{kind.lower()}{kind_suffix(api_version).lower()}.json"


def standalone_dir(version: str, strict: bool) -> str:
    return os.path.join(cache_root(), "schemas", _package_version(),
                        f"v{version}-standalone{'-strict' if strict else ''}")


@lru_cache(maxsize=4)
def _definitions(version: str, strict: bool) -> dict[str, Any]:
    path = os.path.join(_source_dir(), f"v{version}-local{'-strict' if strict else ''}",
                        "_definitions.json")
    with open(path, "rb") as fh:
        doc: dict[str, Any] = json.load(fh)
    defs: dict[str, Any] = doc["$defs"]
    return defs


def _localize(node: Any, needed: set[str]) -> Any:
    """Rewrite refs to ``#/$defs/<name>`` and collect the names reached."""
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                name = v[len(_REF_PREFIX):] if v.startswith(_REF_PREFIX) else (
                    v[len("#/$defs/"):] if v.startswith("#/$defs/") else None)
                if name is not None:
                    needed.add(name)
                    out[k] = "#/$defs/" + name
                    continue
            out[k] = _localize(v, needed)
        return out
    if isinstance(node, list):
        return [_localize(v, needed) for v in node]
    return node


def build_standalone(kind_schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    needed: set[str] = set()
    root: dict[str, Any] = _localize(kind_schema, needed)
    root.pop("$id", None)
    done: dict[str, Any] = {}
    todo = list(needed)
    while todo:
        name = todo.pop()
        if name in done or name not in defs:
            continue
        found: set[str] = set()
        done[name] = _localize(defs[name], found)
        todo.extend(found - done.keys())
    if done:
        root["$defs"] = dict(sorted(done.items()))
    root.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    return root


def schema_path(kind: str, api_version: str, version: str, strict: bool) -> str | None:
    """The cached standalone schema file for a kind, built on first use; None if unknown."""
    name = file_name(kind, api_version)
    target = os.path.join(standalone_dir(version, strict), name)
    if os.path.exists(target):
        return target
    src = os.path.join(_source_dir(), f"v{version}-local{'-strict' if strict else ''}", name)
    if not os.path.exists(src):
        return None
    with open(src, "rb") as fh:
        kind_schema = json.load(fh)
    if not _matches_gvk(kind_schema, kind, api_version):
        return None
    schema = build_standalone(kind_schema, _definitions(version, strict))
    _write_atomic(target, schema)
    return target


def _matches_gvk(schema: dict[str, Any], kind: str, api_version: str) -> bool:
    """Only top-level kinds: ``deploymentspec-apps-v1.json`` is no resource."""
    gvks = schema.get("x-kubernetes-group-version-kind")
    if not isinstance(gvks, list):
        return False
    group, _, version = api_version.rpartition("/")
    return any(g.get("kind") == kind and g.get("version") == version
               and (g.get("group") or "") == group for g in gvks if isinstance(g, dict))


def _write_atomic(target: str, schema: dict[str, Any]) -> None:
    import tempfile  # (with shutil, bz2, lzma and random, ~10 ms a run with a warm cache skips)

    os.makedirs(os.path.dirname(target), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(schema, fh, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def resource_kinds(version: str) -> list[tuple[str, str]]:
    """(apiVersion, kind) of every top-level resource in a bundled version."""
    folder = os.path.join(_source_dir(), f"v{version}-local")
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json") or name.startswith(("_", "all")):
            continue
        with open(os.path.join(folder, name), "rb") as fh:
            schema = json.load(fh)
        for g in schema.get("x-kubernetes-group-version-kind") or []:
            group, ver, kind = g.get("group") or "", g.get("version"), g.get("kind")
            api = f"{group}/{ver}" if group else str(ver)
            if file_name(str(kind), api) == name:
                out.append((api, str(kind)))
    return out


def export(version: str, strict: bool, kinds: list[tuple[str, str]] | None = None) -> str:
    """Build every standalone schema of a version; returns the folder."""
    for api, kind in kinds if kinds is not None else resource_kinds(version):
        schema_path(kind, api, version, strict)
    return standalone_dir(version, strict)
