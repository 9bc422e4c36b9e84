"""CRD -> JSON schema conversion, as kubeconform's openapi2jsonschema does it."""

from __future__ import annotations

import jsonschema_rs

from socle.formats.yaml import load_all
from socle.schema.crd import catalog_name, is_crd, schemas_from_crd

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: certs.example.com}
spec:
  group: example.com
  names: {kind: Cert, plural: certs}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties:
                port: {format: int-or-string}
                size: {x-kubernetes-int-or-string: true}
                note: {type: string, nullable: true}
                free:
                  type: object
                  x-kubernetes-preserve-unknown-fields: true
                  properties:
                    known: {type: string}
                min: {type: integer, minimum: 1, exclusiveMinimum: true}
    - name: v2
      served: true
      storage: false
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec: {type: object, properties: {port: {type: integer}}}
"""


def _validator(version: str = "v1") -> jsonschema_rs.Validator:
    crd = load_all(CRD)[0]
    assert is_crd(crd)
    schemas = schemas_from_crd(crd)
    assert set(schemas) == {("example.com", "Cert", "v1"), ("example.com", "Cert", "v2")}
    return jsonschema_rs.Draft4Validator(schemas[("example.com", "Cert", version)])


def test_int_or_string_accepts_both_and_nothing_else() -> None:
    v = _validator()
    for value in (443, "https"):
        assert v.is_valid({"spec": {"port": value, "size": value}})
    assert not v.is_valid({"spec": {"port": 1.5}})
    assert not v.is_valid({"spec": {"size": [1]}})


def test_nested_objects_are_strict_but_the_root_and_preserved_fields_are_not() -> None:
    v = _validator()
    assert not v.is_valid({"spec": {"typo": 1}})
    assert v.is_valid({"spec": {}, "metadata": {"name": "x"}, "anything": 1})
    assert v.is_valid({"spec": {"free": {"known": "a", "unknown": {"deep": True}}}})


def test_nullable_and_draft4_exclusive_minimum() -> None:
    v = _validator()
    assert v.is_valid({"spec": {"note": None}})
    assert not v.is_valid({"spec": {"min": 1}})
    assert v.is_valid({"spec": {"min": 2}})


def test_each_version_gets_its_own_schema() -> None:
    assert not _validator("v2").is_valid({"spec": {"port": "https"}})


def test_legacy_v1beta1_validation_and_malformed_crds() -> None:
    legacy = {
        "apiVersion": "apiextensions.k8s.io/v1beta1", "kind": "CustomResourceDefinition",
        "spec": {"group": "g.io", "version": "v1alpha1", "names": {"kind": "Thing"},
                 "validation": {"openAPIV3Schema": {"type": "object", "properties": {
                     "spec": {"type": "object", "properties": {"a": {"type": "string"}}}}}}},
    }
    schemas = schemas_from_crd(legacy)
    assert list(schemas) == [("g.io", "Thing", "v1alpha1")]
    for broken in ({}, {"spec": None}, {"spec": {"group": "g", "names": "x"}},
                   {"spec": {"group": "g", "names": {"kind": "K"}, "versions": "nope"}}):
        assert schemas_from_crd(broken) == {}


def test_catalog_layout() -> None:
    assert catalog_name("cert-manager.io", "Certificate", "v1") == \
        "cert-manager.io/certificate_v1.json"
