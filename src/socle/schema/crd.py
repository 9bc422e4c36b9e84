"""CustomResourceDefinitions to JSON schemas, as kubeconform's openapi2jsonschema does.

For each served version's ``openAPIV3Schema`` (``spec.versions[].schema`` in v1,
``spec.validation`` or per-version schemas in v1beta1):

* every object with ``properties`` (below the root) gets ``additionalProperties: false``
  unless it says otherwise or carries ``x-kubernetes-preserve-unknown-fields: true``, so nested
  typos are caught as the API server's pruning would drop them; as in openapi2jsonschema, not
  below a list (the branches of ``anyOf``, ``oneOf``, ``allOf``);
* ``format: int-or-string`` and ``x-kubernetes-int-or-string: true`` become
  "integer or string" (the format not in an element of a list, such as a ``oneOf`` branch:
  openapi2jsonschema leaves it there, a format no validator knows);
* ``nullable: true`` admits ``null``.

The result is a draft-04 schema (OpenAPI v3 uses draft-04's boolean ``exclusiveMinimum``).
"""

from __future__ import annotations

import copy
from typing import Any

SchemaKey = tuple[str, str, str]  # (group, kind, version)


def _convert(node: Any, root: bool, listed: bool = False, strict: bool = True) -> Any:
    """``node`` converted. ``listed``: an element of a list (an ``anyOf`` branch ...), which
    openapi2jsonschema leaves its ``format: int-or-string``; ``strict``: no list between the
    root and ``node`` (openapi2jsonschema adds ``additionalProperties: false`` only there)."""
    if isinstance(node, list):
        return [_convert(v, False, True, False) for v in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for k, v in node.items():
        if k in ("properties", "patternProperties", "definitions", "$defs"):
            out[k] = ({pk: _convert(pv, False, False, strict) for pk, pv in v.items()}
                      if isinstance(v, dict) else v)
        elif k in ("default", "example", "enum", "const"):
            out[k] = v  # data, not schema
        else:
            out[k] = _convert(v, False, False, strict)
    int_or_string = out.get("x-kubernetes-int-or-string") is True or (
        out.get("format") == "int-or-string" and not listed)
    if int_or_string:
        out.pop("format", None)
        out.pop("type", None)
        if "anyOf" not in out and "oneOf" not in out:
            out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    if out.get("nullable") is True:
        t = out.get("type")
        if isinstance(t, str):
            out["type"] = [t, "null"]
        if isinstance(out.get("enum"), list) and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if (strict and not root and "properties" in out and "additionalProperties" not in out
            and not preserve):
        out["additionalProperties"] = False
    return out


def _group_kind(crd: dict[str, Any]) -> tuple[str, str] | None:
    spec = crd.get("spec")
    if not isinstance(spec, dict):
        return None
    names = spec.get("names")
    group = spec.get("group")
    if not isinstance(names, dict) or not isinstance(group, str):
        return None
    kind = names.get("kind")
    return (group, kind) if isinstance(kind, str) else None


def is_crd(obj: Any) -> bool:
    return (isinstance(obj, dict) and obj.get("kind") == "CustomResourceDefinition"
            and str(obj.get("apiVersion", "")).startswith("apiextensions.k8s.io/"))


def schemas_from_crd(crd: dict[str, Any]) -> dict[SchemaKey, dict[str, Any]]:
    """One JSON schema per version of the CRD that declares one."""
    gk = _group_kind(crd)
    if gk is None:
        return {}
    group, kind = gk
    spec = crd["spec"]
    out: dict[SchemaKey, dict[str, Any]] = {}
    shared = None
    validation = spec.get("validation")
    if isinstance(validation, dict) and isinstance(validation.get("openAPIV3Schema"), dict):
        shared = validation["openAPIV3Schema"]
    versions = spec.get("versions")
    names: list[tuple[str, Any]] = []
    if isinstance(versions, list):
        for v in versions:
            if isinstance(v, dict) and isinstance(v.get("name"), str):
                schema = v.get("schema")
                own = schema.get("openAPIV3Schema") if isinstance(schema, dict) else None
                names.append((v["name"], own if isinstance(own, dict) else shared))
    elif isinstance(spec.get("version"), str):
        names.append((spec["version"], shared))
    for version, schema in names:
        if not isinstance(schema, dict):
            continue
        converted = _convert(copy.deepcopy(schema), True)
        converted["$schema"] = "http://json-schema.org/draft-04/schema#"
        out[(group, kind, version)] = converted
    return out


def catalog_name(group: str, kind: str, version: str) -> str:
    """The public CRDs catalog layout: ``{group}/{kind}_{version}.json`` (lower case)."""
    return f"{group}/{kind.lower()}_{version}.json"
