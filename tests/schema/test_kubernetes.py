"""Bundled Kubernetes schemas: versions, standalone files, the kubeconform-compatible cache."""

from __future__ import annotations

import json

import jsonschema_rs
import pytest

from socle.core.errors import UsageError
from socle.schema import kubernetes


def test_every_minor_from_1_25_is_bundled() -> None:
    versions = kubernetes.versions()
    minors = [int(v.split(".")[1]) for v in versions]
    assert minors[0] == 25 and minors == list(range(25, minors[-1] + 1))
    assert kubernetes.resolve_version("1.29") == "1.29.0"
    assert kubernetes.resolve_version("v1.29.7") == "1.29.0"
    assert kubernetes.resolve_version("master") == versions[-1]
    for bad in ("1.10", "banana"):
        with pytest.raises(UsageError):
            kubernetes.resolve_version(bad)


def test_standalone_schema_is_self_contained_and_cached() -> None:
    path = kubernetes.schema_path("Deployment", "apps/v1", "1.33.0", True)
    assert path is not None and path.endswith("v1.33.0-standalone-strict/deployment-apps-v1.json")
    with open(path) as fh:
        schema = json.load(fh)
    refs = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.add(node["$ref"])
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)
    assert refs and all(r.startswith("#/$defs/") for r in refs)
    assert {r.removeprefix("#/$defs/") for r in refs} <= set(schema["$defs"])
    v = jsonschema_rs.validator_for(schema)
    ok = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
          "spec": {"selector": {}, "template": {"spec": {"containers": [{"name": "a"}]}}}}
    assert v.is_valid(ok)
    assert not v.is_valid({**ok, "spec": {**ok["spec"], "replicas": "2"}})
    assert not v.is_valid({**ok, "unknown": 1})  # strict
    assert kubernetes.schema_path("Deployment", "apps/v1", "1.33.0", True) == path


def test_only_top_level_kinds_have_schemas() -> None:
    assert kubernetes.schema_path("DeploymentSpec", "apps/v1", "1.33.0", False) is None
    assert kubernetes.schema_path("Deployment", "apps/v2", "1.33.0", False) is None
    assert kubernetes.schema_path("Deployment", "extensions/v1beta1", "1.33.0", False) is None
