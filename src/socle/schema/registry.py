"""Finds and compiles the schema for a resource: CRDs in the input, then each location in turn.

Compiled validators are cached per (apiVersion, kind) for the life of the process, so every
worker compiles each schema once.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from socle.core.errors import UsageError
from socle.schema import kubernetes
from socle.schema.crd import SchemaKey
from socle.schema.locations import Fetcher, Location, parse_location, render

_DRAFT4 = "http://json-schema.org/draft-04/schema"


@dataclass
class RegistryOptions:
    kubernetes_version: str = "master"
    locations: list[str] = field(default_factory=lambda: ["default"])
    strict: bool = False
    cache_dir: str | None = None
    insecure_skip_tls_verify: bool = False


class SchemaRegistry:
    def __init__(self, options: RegistryOptions,
                 crd_schemas: dict[SchemaKey, dict[str, Any]] | None = None) -> None:
        self.options = options
        requested = options.kubernetes_version or "master"
        self.locations: list[Location] = [parse_location(x) for x in options.locations]
        # the bundled minor serving this version (only needed, and checked, for "default";
        # kubeconform's default URL reads it where there is one and downloads otherwise)
        self.version = ""
        if any(loc.is_default for loc in self.locations):
            self.version = kubernetes.resolve_version(requested)
        elif any(loc.mirrors_default for loc in self.locations):
            with contextlib.suppress(UsageError):
                self.version = kubernetes.resolve_version(requested)
        self.template_version = _normalize(requested)
        self.crd_schemas = dict(crd_schemas or {})
        self.fetcher = Fetcher(options.cache_dir, options.insecure_skip_tls_verify)
        self._cache: dict[tuple[str, str], Any] = {}

    def add_crd_schemas(self, schemas: dict[SchemaKey, dict[str, Any]]) -> None:
        self.crd_schemas.update(schemas)
        self._cache = {k: v for k, v in self._cache.items() if v is not None}

    def validator(self, api_version: str, kind: str) -> Any | None:
        """A compiled jsonschema_rs validator, or None when no location has the schema."""
        key = (api_version, kind)
        if key in self._cache:
            return self._cache[key]
        schema, where, bundled = self._find(api_version, kind)
        compiled = None if schema is None else compile_schema(schema, where, bundled)
        self._cache[key] = compiled
        return compiled

    def _find(self, api_version: str, kind: str) -> tuple[Any | None, str, bool]:
        """(schema, where it was found, whether it is a bundled Kubernetes schema)."""
        group, _, version = api_version.rpartition("/")
        crd = self.crd_schemas.get((group, kind, version))
        if crd is not None:
            return crd, f"CustomResourceDefinition {kind}.{group}", False
        for loc in self.locations:
            if loc.is_default or (self.version and loc.mirrors_default):
                path = kubernetes.schema_path(kind, api_version, self.version,
                                              self.options.strict)
                if path is not None:
                    with open(path, "rb") as fh:
                        return json.load(fh), path, True
                continue
            where = render(loc.template, kind, api_version, self.template_version,
                           self.options.strict)
            data = self.fetcher.get(where)
            if data is None:
                continue
            try:
                return json.loads(data), where, False
            except ValueError as err:
                raise UsageError(f"schema {where} is not valid JSON: {err}") from None
        return None, "", False


def _normalize(version: str) -> str:
    """``1.30`` -> ``1.30.0`` for templates; ``master`` stays."""
    v = version.lstrip("v")
    if v in ("master", "latest"):
        return "master"
    parts = v.split(".")
    while len(parts) < 3:
        parts.append("0")
    return ".".join(parts)


def compile_schema(schema: Any, where: str, bundled: bool = False) -> Any:
    """A validator for ``schema``. Formats are checked as kubeconform checks them (see
    :mod:`socle.schema.formats`): in schemas of drafts 4 to 7 and those that declare none,
    which kubeconform compiles as draft 4, and in the bundled Kubernetes schemas, which stand
    for kubeconform's default ones (they declare none; socle's copies declare 2020-12 for
    their ``$defs``)."""
    import jsonschema_rs

    from socle.schema.formats import FORMATS, GoPattern, go_patterns

    if not isinstance(schema, dict):
        raise UsageError(f"schema {where} is not a JSON object")
    try:
        declared = str(schema.get("$schema", ""))
        # kubeconform compiles schemas without $schema as draft 4, as OpenAPI v3 expects
        cls: Any = jsonschema_rs.Draft4Validator
        formats = True
        if "2020-12" in declared:
            cls = jsonschema_rs.Draft202012Validator
            formats = bundled
        elif "2019-09" in declared:
            cls = jsonschema_rs.Draft201909Validator
            formats = bundled
        elif "draft-07" in declared:
            cls = jsonschema_rs.Draft7Validator
        elif "draft-06" in declared:
            cls = jsonschema_rs.Draft6Validator
        # patterns as Go reads them (the bundled Kubernetes schemas have none)
        keywords: dict[str, Any] = {}
        if not bundled:
            schema, found = go_patterns(schema)
            if found:
                keywords[GoPattern.KEYWORD] = GoPattern
        compiled = cls(schema, validate_formats=formats, formats=FORMATS, keywords=keywords)
    except Exception as err:
        raise UsageError(f"schema {where} does not compile: {err}") from None
    return _IntegralFloats(compiled) if cls is jsonschema_rs.Draft4Validator else compiled


class _IntegralFloats:
    """A draft-4 validator fed numbers as kubeconform feeds its own: its documents go from
    YAML to JSON through Go, where ``2.0`` becomes ``2``, an integer (draft 4 itself says
    ``2.0`` is no integer; later drafts agree with Go)."""

    __slots__ = ("_validator",)

    def __init__(self, validator: Any) -> None:
        self._validator = validator

    def is_valid(self, instance: Any) -> bool:
        # (most documents are valid as written: the copy is made only for the others; a
        # schema that wants a float where a whole number is written, `not: {type: integer}`,
        # is the one case this reads otherwise than kubeconform)
        return bool(self._validator.is_valid(instance)
                    or self._validator.is_valid(_integral(instance)))

    def iter_errors(self, instance: Any) -> Any:
        return self._validator.iter_errors(_integral(instance))


def _integral(value: Any) -> Any:
    """``value`` with every float that holds a whole number made an int (a copy of what
    changes; ``value`` itself when nothing does)."""
    kind = type(value)
    if kind is float:
        return int(value) if value.is_integer() else value
    if kind is not dict and kind is not list:
        return value
    out: Any = None
    for k, v in (value.items() if kind is dict else enumerate(value)):
        new = _integral(v)
        if new is not v:
            if out is None:
                out = kind(value)
            out[k] = new
    return value if out is None else out
