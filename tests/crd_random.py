"""Random CustomResourceDefinitions and custom resources for the differential test of CRD
conversion against kubeconform's own converter (``scripts/openapi2jsonschema.py``): schemas
of strings (enums, patterns, lengths, formats), integers and numbers (bounds, formats),
booleans, arrays, objects (required properties, maps), ``format: int-or-string`` and
``anyOf``/``oneOf`` branches, nested three deep; resources that fit them, some of them changed
(a value of another type, a key removed or added). The features socle reads otherwise on
purpose (``x-kubernetes-int-or-string``, ``x-kubernetes-preserve-unknown-fields``,
``nullable``: see docs/validate.md) are left out. Seeded."""

from __future__ import annotations

import copy
import json
import os
import random
from typing import Any

from socle_testing import value_at, value_paths

PATTERNS = {"^[a-z]+$": "abc", "^[0-9]{2,4}$": "123", "[a-z]": "x1",
            "^v[0-9]+\\.[0-9]+$": "v1.2", "^(dev|prod)-[a-z0-9]*$": "dev-a1"}
FORMATS = {"date-time": "2024-01-02T03:04:05Z", "int32": "12", "byte": "aGVsbG8=",
           "email": "a@b.c", "uri": "https://x.test/a", "hostname": "a.b", "date": "2024-01-02",
           "uuid": "123e4567-e89b-12d3-a456-426614174000", "ipv4": "10.0.0.1",
           "duration": "5s", "quantity": "1Gi"}
NAMES = ["name", "size", "mode", "items", "count", "ref", "port", "image", "x", "y"]
WRONG: list[Any] = [None, "", "0", 0, -1, 1.5, 3000000000, True, [], {}, "a b", "ABC",
                    "abcdefghijk", "2024-13-45", "not an email", "1e3", "12", "25%",
                    {"extra": 1}]


class Generator:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)

    def schema(self, depth: int = 0) -> dict[str, Any]:
        r = self.r
        kinds = ["string", "string", "integer", "number", "boolean", "int-or-string"]
        if depth < 3:
            kinds += ["array", "object", "object", "branches"]
        kind = r.choice(kinds)
        s: dict[str, Any] = {}
        if kind == "string":
            s["type"] = "string"
            x = r.random()
            if x < 0.2:
                s["enum"] = r.sample(["a", "b", "Always", "Never", "1"], r.randint(1, 3))
            elif x < 0.35:
                s["pattern"] = r.choice(sorted(PATTERNS))
            elif x < 0.5:
                s["minLength"], s["maxLength"] = r.randint(0, 3), r.randint(3, 8)
            elif x < 0.7:
                s["format"] = r.choice(sorted(FORMATS))
        elif kind == "integer":
            s["type"] = "integer"
            if r.random() < 0.4:
                s["minimum"] = r.randint(-5, 5)
            if r.random() < 0.4:
                s["maximum"] = r.randint(5, 100)
            if r.random() < 0.3:
                s["format"] = r.choice(["int32", "int64"])
            if r.random() < 0.1:
                s["exclusiveMinimum"] = True
                s.setdefault("minimum", 0)
        elif kind == "number":
            s["type"] = "number"
            if r.random() < 0.3:
                s["minimum"] = r.choice([0, 0.5, -1])
        elif kind == "boolean":
            s["type"] = "boolean"
        elif kind == "int-or-string":
            s["format"] = "int-or-string"
        elif kind == "branches":
            s["anyOf" if r.random() < 0.5 else "oneOf"] = [self.schema(depth + 1),
                                                          self.schema(depth + 1)]
        elif kind == "array":
            s["type"] = "array"
            s["items"] = self.schema(depth + 1)
            if r.random() < 0.3:
                s["minItems"] = r.randint(0, 2)
            if r.random() < 0.3:
                s["maxItems"] = r.randint(2, 4)
        else:
            s["type"] = "object"
            if r.random() < 0.2:
                s["additionalProperties"] = self.schema(depth + 1)
            else:
                props = {f"{r.choice(NAMES)}{i}": self.schema(depth + 1)
                         for i in range(r.randint(1, 4))}
                s["properties"] = props
                if r.random() < 0.5:
                    s["required"] = r.sample(sorted(props), r.randint(1, len(props)))
        return s

    def value(self, s: dict[str, Any]) -> Any:
        r = self.r
        if "enum" in s:
            return r.choice(s["enum"])
        for branches in ("anyOf", "oneOf"):
            if branches in s:
                return self.value(r.choice(s[branches]))
        if s.get("format") == "int-or-string":
            return r.choice([8080, "http", "25%"])
        kind = s.get("type")
        if kind == "string":
            if s.get("format") in FORMATS:
                return FORMATS[s["format"]]
            if "pattern" in s:
                return PATTERNS[s["pattern"]]
            return "abcdefgh"[:max(s.get("minLength", 0), min(3, s.get("maxLength", 3)))]
        if kind == "integer":
            low = s.get("minimum", 0) + (1 if s.get("exclusiveMinimum") else 0)
            return r.randint(low, max(low, s.get("maximum", 100)))
        if kind == "number":
            return s.get("minimum", 0) + 1.5
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "array":
            n = max(s.get("minItems", 0), min(2, s.get("maxItems", 2)))
            return [self.value(s["items"]) for _ in range(n)]
        if "additionalProperties" in s:
            return {"k1": self.value(s["additionalProperties"])}
        return {k: self.value(sub) for k, sub in s.get("properties", {}).items()
                if k in s.get("required", []) or r.random() < 0.6}

    def mutate(self, value: Any) -> Any:
        """One change somewhere in ``value`` (the root gets an unknown key)."""
        r = self.r
        paths = value_paths(value)
        path = r.choice(paths)
        if not path:
            if isinstance(value, dict):
                value["unknownField"] = 1
            return value
        parent = value_at(value, path[:-1])
        what = r.random()
        if what < 0.7:
            parent[path[-1]] = copy.deepcopy(r.choice(WRONG))
        elif what < 0.85 and isinstance(parent, dict):
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]]["zzUnknown"] = "x"
        else:
            parent[path[-1]] = copy.deepcopy(r.choice(WRONG))
        return value


def crd(kind: str, spec_schema: dict[str, Any]) -> dict[str, Any]:
    root = {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"}, "spec": spec_schema}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{kind.lower()}s.fuzz.example.com"},
            "spec": {"group": "fuzz.example.com", "scope": "Namespaced",
                     "names": {"kind": kind, "plural": kind.lower() + "s"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": root}}]}}


def generate(folder: str, seed: int, kinds: int = 6, per_kind: int = 12
             ) -> list[dict[str, Any]]:
    """CRDs (returned) and ``per_kind`` resources of each, one JSON file each, under
    ``folder``/crs."""
    g = Generator(seed)
    os.makedirs(os.path.join(folder, "crs"), exist_ok=True)
    crds = []
    for k in range(kinds):
        kind = f"Fuzz{k}"
        spec = g.schema()
        if spec.get("type") != "object":
            spec = {"type": "object", "properties": {"field": spec}, "required": ["field"]}
        crds.append(crd(kind, spec))
        for i in range(per_kind):
            value = g.value(spec)
            if g.r.random() < 0.6:
                value = g.mutate(value)
            resource = {"apiVersion": "fuzz.example.com/v1", "kind": kind,
                        "metadata": {"name": f"cr-{k}-{i}"}, "spec": value}
            with open(os.path.join(folder, "crs", f"{kind}-{i:02d}.json"), "w",
                      encoding="utf-8") as fh:
                json.dump(resource, fh, indent=1)
    return crds
