"""Format checks as kubeconform makes them (the values and verdicts below are kubeconform
v0.7.0's; tests/compat/test_kubeconform_differential.py compares with the binary)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from socle.core.errors import UsageError
from socle.schema import formats
from socle.schema.registry import compile_schema
from socle_testing import run_socle

CASES = [
    ("date-time", "2024-01-02T03:04:05Z", True), ("date-time", "2024-01-02t03:04:05.5+01:00", True),
    ("date-time", "2016-12-31T23:59:60Z", True), ("date-time", "2016-12-31T22:59:60-01:00", True),
    ("date-time", "2024-01-02T12:59:60Z", False), ("date-time", "2024-02-30T00:00:00Z", False),
    ("date-time", "2024-01-02 03:04:05Z", False), ("date-time", "2024-01-02T03:04:05", False),
    ("date", "2024-02-29", True), ("date", "2023-02-29", False), ("date", "2024-1-2", False),
    ("time", "03:04:05Z", True), ("time", "+1:+2:+3Z", True), ("time", "03:04:05", False),
    ("duration", "1h30m", True), ("duration", ".5s", True), ("duration", "0", True),
    ("duration", "P1Y2M3DT4H5M6S", True), ("duration", "P1W", True), ("duration", "5", False),
    ("duration", "1y", False), ("duration", "PT", False), ("duration", "P1M1Y", False),
    ("period", "2024-01-02T00:00:00Z/P1D", True), ("period", "P1D", False),
    ("email", "a@b.c", True), ("email", "@b.c", True), ("email", "a..b@c", False),
    ("email", "a@[IPv6:::1]", True), ("email", "é@x.y", False),
    ("hostname", "a.b.", True), ("hostname", "-a.b", False), ("hostname", "a_b.c", False),
    ("hostname", "a" * 64 + ".b", False),
    ("ipv4", "1.2.3.4", True), ("ipv4", "+1.2.3.4", True), ("ipv4", "01.2.3.4", False),
    ("ipv4", "256.1.1.1", False),
    ("ipv6", "::ffff:1.2.3.4", True), ("ipv6", "fe80::1%eth0", False), ("ipv6", "1.2.3.4", False),
    ("uri", "https://x.test/a?b#c", True), ("uri", "x:y", True), ("uri", "http://ü.test/", True),
    ("uri", "https://x.test/ a", True), ("uri", "/relative", False),
    ("uri", "http://x.test/%zz", False), ("uri", "http://host:port/", False),
    ("uri", "http://::1/", False), ("uri", "http://a b/", False),
    ("uri-reference", "relative", True), ("uri-reference", "a:b/c", True),
    ("uri-reference", ":x", False), ("uri-reference", "a\\b", False),
    ("uri-template", "/a/{b}/c", True), ("uri-template", "a{", False),
    ("uuid", "123e4567-E89B-12d3-a456-426614174000", True),
    ("uuid", "123e4567e89b12d3a456426614174000", False),
    ("json-pointer", "", True), ("json-pointer", "/a~0b", True), ("json-pointer", "/a~2", False),
    ("relative-json-pointer", "0#", True), ("relative-json-pointer", "01", False),
    ("regex", "(?i)x", True), ("regex", "^(?i)abc$", True), ("regex", "(?U)a+", True),
    ("regex", "\\pL", True), ("regex", "\\Q.\\E", True),
    ("regex", "a{", True), ("regex", "[a-z", False), ("regex", "(?=x)", False),
    ("regex", "(a)\\1", False), ("regex", "(?x)a", False),
    ("semver", "1.2.3-rc.1+b", True), ("semver", "1.2.3-01", False), ("semver", "1.2", False),
]


@pytest.mark.parametrize(("fmt", "value", "ok"), CASES, ids=[f"{f}:{v!r}" for f, v, _ in CASES])
def test_format_verdicts(fmt: str, value: str, ok: bool) -> None:
    assert formats.FORMATS[fmt](value) is ok


def _validator(fmt: str, declared: str | None, bundled: bool = False) -> object:
    schema: dict[str, object] = {"type": "object",
                                 "properties": {"at": {"type": "string", "format": fmt}}}
    if declared:
        schema["$schema"] = declared
    return compile_schema(schema, "test", bundled)


@pytest.mark.parametrize(("declared", "bundled", "asserted"), [
    (None, False, True),  # kubeconform: draft 4
    ("http://json-schema.org/draft-04/schema#", False, True),
    ("http://json-schema.org/draft-07/schema#", False, True),
    ("https://json-schema.org/draft/2020-12/schema", False, False),  # an annotation there
    ("https://json-schema.org/draft/2020-12/schema", True, True),  # kubeconform's default
])
def test_formats_are_asserted_where_kubeconform_asserts_them(
        declared: str | None, bundled: bool, asserted: bool) -> None:
    v = _validator("date-time", declared, bundled)
    assert v.is_valid({"at": "2024-01-02T03:04:05Z"})  # type: ignore[attr-defined]
    assert v.is_valid({"at": "yesterday"}) is not asserted  # type: ignore[attr-defined]
    # formats kubeconform does not check stay unchecked, whatever jsonschema_rs knows
    for fmt in ("idn-email", "int32", "byte"):
        assert _validator(fmt, declared, bundled).is_valid({"at": "%%"})  # type: ignore[attr-defined]


def test_a_non_string_value_is_the_type_check_s_business() -> None:
    v = _validator("date-time", None)
    assert v.is_valid({"at": None}) is False  # type: ignore[attr-defined]  (string, not null)
    assert v.is_valid({}) is True  # type: ignore[attr-defined]


def _pattern_validator(pattern: str) -> object:
    return compile_schema({"type": "object", "properties": {
        "a": {"type": "string", "pattern": pattern}}}, "test")


@pytest.mark.parametrize(("pattern", "value", "ok"), [
    ("^\\s*$", "\t \r\n", True), ("^\\s*$", "\u00a0", False), ("^\\s*$", "\v", False),
    ("^\\S+$", "\u2028", True),  # Go's \s is ASCII, ECMA's is Unicode
    ("^[[:alpha:]]+$", "abC", True), ("^[[:alpha:]]+$", "ab1", False),  # POSIX classes
    ("^(?i)abc$", "ABC", True), ("^\\pL+$", "été", True), ("^\\d+$", "١٢٣", False),
    ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "my-app", True),
    ("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "My-app", False),
])
def test_patterns_are_read_as_go_reads_them(pattern: str, value: str, ok: bool) -> None:
    v = _pattern_validator(pattern)
    assert v.is_valid({"a": value}) is ok  # type: ignore[attr-defined]
    if not ok:
        [err] = list(v.iter_errors({"a": value}))  # type: ignore[attr-defined]
        assert err.message == f'{json.dumps(value, ensure_ascii=False)} does not match "{pattern}"'


@pytest.mark.parametrize("pattern", ["(?=x)", "(a)\\1", "^\\u0041$", "[a-z"])
def test_a_pattern_go_refuses_makes_the_schema_unusable(pattern: str) -> None:
    # kubeconform cannot compile such a schema either ("could not find schema")
    with pytest.raises(UsageError, match="no regular expression Go reads"):
        _pattern_validator(pattern)


def test_fields_named_as_keywords_have_their_patterns_read_as_go_reads_them() -> None:
    # a field may be called "default", "enum" or "pattern": its schema is a schema (socle had
    # taken the first two for data and left their patterns to the ECMA reading, which
    # refused the whole schema for a POSIX class)
    schema = {"type": "object", "properties": {
        name: {"type": "string", "pattern": "^[[:alpha:]]+$"}
        for name in ("default", "enum", "example", "const", "pattern")}}
    v = compile_schema(schema, "test")
    for name in schema["properties"]:
        assert v.is_valid({name: "abc"}) and not v.is_valid({name: "ab1"}), name


def test_a_pattern_finding_keeps_its_rule_and_message(tmp_path: Path) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "ps.p.test"},
           "spec": {"group": "p.test", "scope": "Namespaced",
                    "names": {"kind": "P", "plural": "ps"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                        "openAPIV3Schema": {"type": "object", "properties": {"spec": {
                            "type": "object", "properties": {
                                "name": {"type": "string", "pattern": "^[[:lower:]]+$"}}}}}}}]}}
    (tmp_path / "crd.json").write_text(json.dumps(crd), encoding="utf-8")
    (tmp_path / "p.yaml").write_text("apiVersion: p.test/v1\nkind: P\nmetadata:\n  name: p\n"
                                     "spec:\n  name: Upper\n", encoding="utf-8")
    r = run_socle("validate", "-o", "json", str(tmp_path))
    assert r.code == 1, r.err
    [f] = json.loads(r.out)["findings"]
    assert (f["ruleId"], f["line"], f["message"]) == (
        "schema/pattern", 6, '/spec/name: "Upper" does not match "^[[:lower:]]+$"')
