"""The fast path and the reference loader agree, and both read YAML as go-yaml v2 does.

Expectations come from go-yaml v2's resolve.go/decode.go semantics (the table below) and, where
Go and gopkg.in/yaml.v2@v2.4.0 are in the module cache, from go-yaml v2 itself: the oracle tests
at the end build a tiny Go program offline (GOPROXY=off) and compare every table entry and
3,000 generated documents. go-yaml's parser (a port of an old libyaml) and PyYAML's libyaml
differ on a few flow forms with ":" ("{a: 0:}" is "0:" for go-yaml, an error for libyaml), so
the generated documents for the oracle leave ":", "#" and quotes out of their scalars.
"""

from __future__ import annotations

import json
import math
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socle.formats.yaml import fast_load, quiet_native_stderr, reference_load, resolve_plain

INF, NAN = math.inf, math.nan


def same(a: Any, b: Any) -> bool:
    """Equal values of equal types: True != 1, 1 != 1.0, nan == nan, -0.0 != 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):  # JSON objects: order does not matter
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def test_comparator_is_strict() -> None:
    assert not same(True, 1) and not same(1, 1.0) and not same(0.0, -0.0)
    assert not same({"a": 1}, {"a": True}) and not same([1], [1, 2]) and not same("1", 1)
    assert same(NAN, NAN) and same({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]})


# (plain scalar as written, the value go-yaml v2 decodes into interface{})
PLAIN: list[tuple[str, Any]] = [
    # booleans: YAML 1.1 words in three spellings each, nothing else
    *[(w, True) for w in ["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE",
                          "on", "On", "ON"]],
    *[(w, False) for w in ["n", "N", "no", "No", "NO", "false", "False", "FALSE",
                           "off", "Off", "OFF"]],
    *[(w, w) for w in ["yES", "tRUE", "oN", "t", "f", "T", "F", "o", "nO", "ofF"]],
    # nulls
    *[(w, None) for w in ["~", "null", "Null", "NULL"]],
    *[(w, w) for w in ["nUll", "None", "nil", "NUll"]],
    # ints: strconv.ParseInt(s, 0, 64) after removing "_", then ParseUint
    ("0", 0), ("-0", 0), ("+0", 0), ("1", 1), ("-1", -1), ("+1", 1), ("42", 42),
    ("017", 15), ("-017", -15), ("+017", 15), ("007", 7), ("00", 0),
    ("0o17", 15), ("0O17", 15), ("-0o17", -15), ("0o", "0o"), ("0o8", "0o8"),
    ("0x1F", 31), ("0X1f", 31), ("-0x1F", -31), ("+0x1F", 31), ("0x", "0x"), ("0x1G", "0x1G"),
    ("0b101", 5), ("0B101", 5), ("-0b101", -5), ("+0b101", 5), ("0b", "0b"), ("0b2", "0b2"),
    ("1_000", 1000), ("1__0", 10), ("1_", 1), ("_1", "_1"), ("0x_1F", 31), ("0b_1", 1),
    ("+_1", 1), ("-_1", -1), ("-__9", -9),
    ("9223372036854775807", 9223372036854775807),
    ("-9223372036854775808", -9223372036854775808),
    ("9223372036854775808", 9223372036854775808),  # uint64
    ("18446744073709551615", 18446744073709551615),
    ("0xFFFFFFFFFFFFFFFF", 18446744073709551615),
    ("01777777777777777777777", 18446744073709551615),
    # beyond int64/uint64: a float when it looks like one, else a string
    ("-9223372036854775809", -9.223372036854776e18),
    ("18446744073709551616", 1.8446744073709552e19),
    ("+18446744073709551615", 1.8446744073709552e19),  # ParseUint takes no sign
    ("+9223372036854775808", 9.223372036854776e18),
    ("99999999999999999999999", 1e23),
    ("02000000000000000000000", 2e21),  # octal overflow, read again as a decimal float
    ("0x10000000000000000", "0x10000000000000000"),
    # leading zeros that are not octal: floats
    ("08", 8.0), ("09", 9.0), ("0_8", 8.0), ("-09", -9.0), ("019", 19.0),
    # floats
    ("1.0", 1.0), ("1.", 1.0), ("0.", 0.0), (".5", 0.5), ("-.5", -0.5), ("+.5", 0.5),
    ("0.1", 0.1), ("-0.0", -0.0), ("+0.0", 0.0), ("1.50", 1.5),
    ("1e3", 1000.0), ("1E3", 1000.0), ("1e+3", 1000.0), ("1e-3", 0.001), ("0e0", 0.0),
    ("1.5e3", 1500.0), ("-1.5E-3", -0.0015), ("1_000.5", 1000.5), ("1_0.5_5", 10.55),
    ("1_e3", 1000.0), ("1e3_", 1000.0), ("+_.5", 0.5), ("-._5", -0.5),
    (".5_5", 0.55), (".5e1_0", 5e9), ("._5", "._5"), (".5_", ".5_"), (".5__5", ".5__5"),
    ("1e400", "1e400"), ("-1e400", "-1e400"), (".5e400", ".5e400"),  # ParseFloat ErrRange
    ("1e-400", 0.0),  # underflow is not an error
    ("1.5e", "1.5e"), ("e5", "e5"), ("12e", "12e"), ("0x1p3", "0x1p3"), ("0x1F.5", "0x1F.5"),
    # infinities and NaN: only the YAML spellings
    (".inf", INF), (".Inf", INF), (".INF", INF), ("+.inf", INF), ("+.Inf", INF),
    ("+.INF", INF), ("-.inf", -INF), ("-.Inf", -INF), ("-.INF", -INF),
    (".nan", NAN), (".NaN", NAN), (".NAN", NAN),
    *[(w, w) for w in ["inf", "-inf", "+inf", "Infinity", "-Infinity", "infinity", "nan",
                       "NaN", "NAN", ".iNf", "+.nan", "-.nan", ".", "+", "+-1", "--1"]],
    # timestamps stay strings (decode.go keeps the text for interface{})
    *[(w, w) for w in ["2001-12-14", "2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10",
                       "2002-12-14T00:00:00Z", "2001-12-14 21:59:43.10 -5", "2001-1-2"]],
    # sexagesimal (YAML 1.1 base 60) is not supported by go-yaml: strings
    *[(w, w) for w in ["1:20", "190:20:30", "-1:20", "1:20.5", "12:00"]],
    # versions, addresses, and other almost-numbers
    *[(w, w) for w in ["1.5.3", "1.2.3", "v1.2", "1.2.3-beta", "10.0.0.1", "0.0.0.0/0",
                       "1/2", "3Mi", "100m", "1Gi", "0.5Gi", "1e", "2x", "25%"]],
    # strings with indicators inside
    *[(w, w) for w in ["a:b", "a#b", "http://x:80/y?z=1#f", "a b  c", "-a", "--flag=1",
                       "a,b", "é", "日本語", "😀", "a'b", 'a"b', "<<a", "a%x"]],
]

# (scalar as written in a value position, value) for quoted, escaped and block forms
QUOTED: list[tuple[str, Any]] = [
    *[(f'"{w}"', w) for w in ["yes", "on", "~", "null", "0x1F", "017", "08", "1e3", "1.0",
                              "12", ".inf", "1:20", "2001-12-14", "", " lead", "<<"]],
    *[(f"'{w}'", w) for w in ["no", "off", "NULL", "0b1", "1_000", "-1", "+1", ""]],
    ("'It''s'", "It's"), ('"a\\"b"', 'a"b'), ('"a\\\\b"', "a\\b"),
    ('"\\x41"', "A"), ('"\\u00e9"', "é"), ('"\\U0001F600"', "😀"), ('"\\N"', "\x85"),
    ('"\\_"', "\xa0"), ('"\\t"', "\t"), ('"\\0"', "\x00"), ('"\\e"', "\x1b"),
    ('"\\L"', "\u2028"), ('"\\P"', "\u2029"), ('"\\a\\b\\v\\f\\r\\n"', "\x07\x08\x0b\x0c\r\n"),
    ('"\\ "', " "), ('"\\xe9"', "é"), ('"a # b"', "a # b"), ("'a: b'", "a: b"),
    ("!!str 123", "123"), ("!!str yes", "yes"), ('!!int "12"', 12), ("!!float 1", 1.0),
    ("!!bool yes", True), ('!!null ""', None), ("!!timestamp 2001-12-14", "2001-12-14"),
    ("!!binary aGVsbG8=", "hello"), ("!custom x", "x"), ("!custom 12", "12"),
]

# (document, value) for structures: block scalars, folding, flow, merges, keys
DOCS: list[tuple[str, Any]] = [
    ("a: |\n  x\n  y\n\nb: 1\n", {"a": "x\ny\n", "b": 1}),
    ("a: |-\n  x\n\n", {"a": "x"}),
    ("a: |+\n  x\n\nb: 1\n", {"a": "x\n\n", "b": 1}),
    ("a: >\n  a\n  b\n\n  c\n", {"a": "a b\nc\n"}),
    ("a: >-\n  a\n   b\n", {"a": "a\n b"}),
    ("a: |2\n   lead\n", {"a": " lead\n"}),
    ("a: >+\n  z\n\n\n", {"a": "z\n\n\n"}),
    ("a: |\n  yes\n  0x1F\n", {"a": "yes\n0x1F\n"}),
    ("a: |\n  ---\n  ...\n", {"a": "---\n...\n"}),
    ("a: multi\n  line\n  yes\n", {"a": "multi line yes"}),
    ('a: "dq\n  folded"\n', {"a": "dq folded"}),
    ("a: 'sq\n\n  para'\n", {"a": "sq\npara"}),
    ("a: [1, yes, ~, 0x1F, \"q\", {b: c}]\nb: {x: , y: null}\nc: []\nd: {}\n",
     {"a": [1, True, None, 31, "q", {"b": "c"}], "b": {"x": None, "true": None}, "c": [],
      "d": {}}),
    ('{"a":yes, "b":0x1F}\n', {"a": True, "b": 31}),
    ("k: [a,\n  yes]\n", {"k": ["a", True]}),
    ("k:\n\n  yes\n", {"k": True}),
    ("k:\n  # comment\n  0x1F\n", {"k": 31}),
    ("a: b # comment\nc: \"d # not\"\ne: f#g\nh: i:j\n",
     {"a": "b", "c": "d # not", "e": "f#g", "h": "i:j"}),
    # keys: non-string keys become their text; floats as Go's FormatFloat(f, 'g', -1, 32)
    ("yes: 1\nNo: 2\n1: a\n0x1F: b\n1.5: c\n0.1: e\n1e20: f\n1234567.0: g\n"
     "123456.0: h\n3.14159265358979: i\n.inf: j\n-.inf: k\n.nan: l\n0.00001: m\n-0.0: n\n",
     {"true": 1, "false": 2, "1": "a", "31": "b", "1.5": "c", "0.1": "e", "1e+20": "f",
      "1.234567e+06": "g", "123456": "h", "3.1415927": "i", ".inf": "j", "-.inf": "k",
      ".nan": "l", "1e-05": "m", "-0": False}),  # the value "n" is a boolean
    ('"": x\n', {"": "x"}), ("1.0: d\n", {"1": "d"}), ("1e39: x\n", {".inf": "x"}),
    # merge keys, in order, as go-yaml v2 applies them
    ("a: 1\n<<: {a: 2, b: 3}\n", {"a": 2, "b": 3}),
    ("<<: {a: 2, b: 3}\na: 1\n", {"a": 1, "b": 3}),
    ("base: &b {x: 1, y: 2}\nother: &o {y: 3, z: 4}\nm:\n  <<: [*b, *o]\n  w: 0\n",
     {"base": {"x": 1, "true": 2}, "other": {"true": 3, "z": 4},
      "m": {"x": 1, "true": 2, "z": 4, "w": 0}}),
    ('"<<": {a: 1}\n', {"<<": {"a": 1}}),
    ("a: &x {b: 1}\nc: *x\n", {"a": {"b": 1}, "c": {"b": 1}}),
    ("a: !custom {b: 1}\nc: !!set {x, z}\n", {"a": {"b": 1}, "c": {"x": None, "z": None}}),
    ("%YAML 1.1\n---\na: 1\n", {"a": 1}),
    ("a: 1\na: 2\n", {"a": 2}),
    ("- - - deep\n", [[["deep"]]]),
    ("k" * 1024 + ": 1\n", {"k" * 1024: 1}),  # (the longest implicit key YAML allows)
    ('"' + "k" * 1022 + '": 1\n', {"k" * 1022: 1}),
    ("k: " + "v" * 2000 + "\n", {"k": "v" * 2000}),
    # a "?" starting a flow entry is a key indicator (rapidyaml read "?x" as a string)
    ("k: [?x]\n", {"k": [{"x": None}]}), ("k: [b, ?c]\n", {"k": ["b", {"c": None}]}),
    ("k: {?b: c}\n", {"k": {"b": "c"}}), ('k: ["x?y", \'a?\']\n', {"k": ["x?y", "a?"]}),
    ("k: x?y\n", {"k": "x?y"}), ("k: [a] # what?\n", {"k": ["a"]}),
    # tabs as separators, which rapidyaml misread next to flow collections
    ("k:\t{b: c}\n", {"k": {"b": "c"}}), ("k: {b:\tc}\n", {"k": {"b": "c"}}),
    ("k: [b\t, c]\n", {"k": ["b", "c"]}), ("k: {b: c}\t# x\n", {"k": {"b": "c"}}),
    ("k: |-2 # c\n   x\n", {"k": " x"}), ("k: | #c\n  x\n", {"k": "x\n"}),
    ("k: ! x\n", {"k": "x"}),
    # a block scalar running to the end of a text with no final line break keeps none
    # (rapidyaml added one): the last document of a file saved without it
    ("a: |\n  x", {"a": "x"}), ("a: >\n  x\n  y", {"a": "x y"}),
    ("k:\n  a: |\n    x \n    y", {"k": {"a": "x \ny"}}),
    ("10.: a\n", {"10": "a"}), ("k: 1_0.\n", {"k": 10.0}),  # "10." is a float for go-yaml
    ("k: &a-b_1 x\nl: *a-b_1\n", {"k": "x", "l": "x"}), ('k: "a\\\\/b"\n', {"k": "a\\/b"}),
    ("k: {b: c} # d\n", {"k": {"b": "c"}}),
]

# documents go-yaml v2 / sigs.k8s.io/yaml refuse
REFUSED = [
    "~: 1\n", "null: 1\n", "18446744073709551615: 1\n", "? [a, b]\n: 1\n", "? {a: 1}\n: 2\n",
    "<<: [1, 2]\n", "a: !!int abc\n", "a: !!float 18446744073709551615\n",
    "a: !!timestamp 12\n", 'a: "\\q"\n', 'a: "\\ud83d"\n', "a: !!binary '%%%'\n",
    # a flow closer where a block node starts (rapidyaml reads it as a plain scalar)
    "k: }\n", "k: ]\n", "- }\n", "a: 1\n]: 2\n", "k:\n  }\n", "k: # c\n  ]\n",
    # an implicit key over 1,024 characters from its start to the ":" (rapidyaml takes it)
    "k" * 1025 + ": 1\n", "a:\n  " + "k" * 1025 + ": 1\n", '"' + "k" * 1023 + '": 1\n',
    "{" + "k" * 1100 + ": 1}\n", '["' + "\\U0001F600" * 103 + '": 1]\n',
    # go-yaml v2 ends a plain scalar at a "?" in a flow collection (libyaml 0.2, the reference
    # loader's parser, and rapidyaml read on)
    "k: [curl, http://x/health?full=1]\n", "k: {a: b?}\n", "[a?b]\n", "k: [a ?b]\n",
    "k: [\n  http://x?y\n]\n", "k: [a, {b: c?d}]\n",
    # what rapidyaml reads and go-yaml refuses: a comment eating a flow collection's closer,
    # anchors, aliases and tags without a name, "%" starting a node, text after a block
    # scalar header, a tab where go-yaml allows none
    "k: {b: c #x}\n", "k: & x\n", "k: [x, &]\n", "k: [x, *]\n", "k: [x, !]\n", "k: [%x]\n",
    "k: {a: %y}\n", "k: |2 x\n", "env:\n  | - name: A\n", "- \tx\n", "k: |\n  \tx\n",
    # rapidyaml makes a key with leading spaces of the line after this comment
    "v:\n  - a\n  - name #x: v\n    b: {}\n",
    # anchor and alias names go-yaml does not take (ASCII letters, digits, "_", "-" only), an
    # unquoted cron schedule (an alias to nothing), "\/" (a YAML 1.2 escape: libyaml 0.2 and
    # rapidyaml read it), text after a flow collection on its line
    "k: &n\\ x\n", "k: &!n x\n", "k: &n} x\n", "- *.example.com\n", "s: */5 * * * *\n",
    'k: "http:\\/\\/x"\n', '{"k": "a\\/b"}\n', "- {a: 1}   - b\n", "k: [x] y\n",
]

# (document with one slot, path to the slot's value)
CONTEXTS: list[tuple[str, tuple[str | int, ...]]] = [
    ("k: {}\n", ("k",)), ("- {}\n", (0,)), ("[{}]\n", (0,)), ("{{k: {}}}\n", ("k",)),
    ("k: [a, {}]\n", ("k", 1)), ("k:\n  - {}\n", ("k", 0)), ("k: [\n  {}\n]\n", ("k", 0)),
    ("k:\n\n  {}\n", ("k",)), ("k: # c\n  {}\n", ("k",)), ('{{"k":{}}}\n', ("k",)),
    ("k:\t{}\n", ("k",)), ("- - {}\n", (0, 0)), ("? a\n: {}\n", ("a",)),
    ("k: {{a: b\n  ,c: {}}}\n", ("k", "c")), ("a:\n  b:\n    - x: {}\n", ("a", "b", 0, "x")),
]


_FLOW_CHARS = frozenset(",[]{}")


def _at(value: Any, path: tuple[str | int, ...]) -> Any:
    for step in path:
        value = value[step]
    return value


def _check_fast(doc: str, expected: Any) -> None:
    with quiet_native_stderr():
        ok, value = fast_load(doc)
    if ok:
        assert same(value, expected), f"fast path read {doc!r} as {value!r}"


@pytest.mark.parametrize(("text", "expected"), PLAIN, ids=[repr(t) for t, _ in PLAIN])
def test_plain_scalar_is_typed_as_go_yaml_v2(text: str, expected: Any) -> None:
    assert same(resolve_plain(text), expected)
    for context, path in CONTEXTS:
        if (_FLOW_CHARS | {"?"}).intersection(text) and _FLOW_CHARS.intersection(context):
            # "a,b" is one scalar only outside flow collections; in them go-yaml v2 ends a
            # plain scalar at a "?" and refuses the rest (test_refused_like_kubernetes)
            continue
        doc = context.format(text)
        got = reference_load(doc)
        assert same(_at(got, path), expected), f"reference read {doc!r} as {got!r}"
        _check_fast(doc, got)


@pytest.mark.parametrize(("text", "expected"), QUOTED, ids=[repr(t) for t, _ in QUOTED])
def test_quoted_escaped_and_tagged_scalars(text: str, expected: Any) -> None:
    for context, path in CONTEXTS[:4]:
        doc = context.format(text)
        got = reference_load(doc)
        assert same(_at(got, path), expected), f"reference read {doc!r} as {got!r}"
        _check_fast(doc, got)


@pytest.mark.parametrize(("doc", "expected"), DOCS, ids=[repr(d[:30]) for d, _ in DOCS])
def test_structures(doc: str, expected: Any) -> None:
    got = reference_load(doc)
    assert same(got, expected), got
    _check_fast(doc, expected)


@pytest.mark.parametrize("doc", REFUSED)
def test_refused_like_kubernetes(doc: str) -> None:
    import yaml

    from socle.core.errors import InputError

    with pytest.raises((yaml.YAMLError, InputError)):
        reference_load(doc)
    with quiet_native_stderr():
        ok, value = fast_load(doc)
    assert not ok, f"fast path accepted {doc!r} as {value!r}"


def test_fast_path_takes_ordinary_manifests() -> None:
    """The gate is not so timid that the fast path never runs."""
    doc = ("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web-0001\n"
           "  labels: {app: web, tier: \"1\"}\nspec:\n  replicas: 3\n  template:\n"
           "    spec:\n      containers:\n        - name: app\n          image: nginx:1.25.3\n"
           "          args: [\"--port=8080\"]\n          ports:\n            - containerPort: 80\n"
           "          resources: {limits: {cpu: 500m, memory: 1.5Gi}}\n")
    ok, value = fast_load(doc)
    assert ok
    assert same(value, reference_load(doc))


def test_remembered_safe_keys_and_values_stay_few_and_change_no_verdict() -> None:
    """The fast path remembers keys and number-like values it found safe: the memory stays
    bounded over many distinct ones, and a risky scalar next to remembered ones is still
    declined (as a key or a value, in a mapping or a sequence)."""
    from socle.formats import yaml as yaml_format

    for i in range(3 * yaml_format._SAFE_MOST):
        ok, _ = fast_load(f"k{i}: {i}Mi\nl: [{i}m]\n")
        assert ok
    assert len(yaml_format._SAFE_KEYS) <= yaml_format._SAFE_MOST
    assert len(yaml_format._SAFE_NUMERIC) <= yaml_format._SAFE_MOST
    for risky in ("k1: 0x1F\n", "k1: [1Mi, 017]\n", "k2: 1_000\n", "0x1F: 1Mi\n",
                  "k1: {1.0: 5Mi}\n", "k3: yes\n"):
        assert fast_load(risky) == (False, None), risky
        assert fast_load(risky.replace(":", ": 1Mi\nk9:", 1))[0] is False, risky


# --- generated documents -----------------------------------------------------------------

_TOKENS = [t for t, _ in PLAIN] + [t for t, _ in QUOTED if not t.startswith("!")]
_scalar_text = st.one_of(
    st.sampled_from(_TOKENS),
    st.text(alphabet="019.eE+-_xXoObByYnN~: #'\"", min_size=1, max_size=6),
    st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True),
)


def _block(node: Any, indent: int) -> str:
    pad = " " * indent
    if isinstance(node, dict):
        if not node:
            return "{}"
        out = []
        for k, v in node.items():
            body = _block(v, indent + 2)
            sep = "\n" if isinstance(v, (dict, list)) and v else " "
            out.append(f"{pad}{k}:{sep}{body}")
        return "\n".join(out)
    if isinstance(node, list):
        if not node:
            return "[]"
        out = []
        for v in node:
            body = _block(v, indent + 2)
            sep = "\n" if isinstance(v, (dict, list)) and v else " "
            out.append(f"{pad}-{sep}{body}")
        return "\n".join(out)
    return str(node)


def _flow(node: Any) -> str:
    if isinstance(node, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in node.items()) + "}"
    if isinstance(node, list):
        return "[" + ", ".join(_flow(v) for v in node) + "]"
    return str(node)


_keys = st.one_of(st.sampled_from(["a", "b", "yes", "1", "0x1F", "1.5", "on", "k-1", '"q"']),
                  st.from_regex(r"[a-z]{1,6}", fullmatch=True))
_tree = st.recursive(
    _scalar_text,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_keys, inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def _documents(draw: st.DrawFn) -> str:
    tree = draw(st.dictionaries(_keys, _tree, min_size=1, max_size=4))
    if draw(st.booleans()):
        return _block(tree, 0) + "\n"
    return _flow(tree) + "\n"


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents())
def test_generated_documents_agree(doc: str) -> None:
    import yaml

    from socle.core.errors import InputError

    try:
        expected = reference_load(doc)
    except (yaml.YAMLError, InputError, RecursionError):
        expected = _REFUSED
    with quiet_native_stderr():
        ok, value = fast_load(doc)
    if ok:
        assert expected is not _REFUSED, f"fast path accepted {doc!r}; reference refuses it"
        assert same(value, expected), f"{doc!r}: fast {value!r} != reference {expected!r}"


_REFUSED = object()


# --- go-yaml v2 itself, where Go and the module cache are present ----------------------------

_ORACLE_GO = r"""
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	yaml "gopkg.in/yaml.v2"
)

func keyText(k interface{}) (string, bool) {
	switch t := k.(type) {
	case string:
		return t, true
	case int:
		return strconv.Itoa(t), true
	case int64:
		return strconv.FormatInt(t, 10), true
	case bool:
		return strconv.FormatBool(t), true
	case float64:
		s := strconv.FormatFloat(t, 'g', -1, 32)
		switch s {
		case "+Inf":
			s = ".inf"
		case "-Inf":
			s = "-.inf"
		case "NaN":
			s = ".nan"
		}
		return s, true
	}
	return "", false
}

func typed(v interface{}) (interface{}, bool) {
	switch x := v.(type) {
	case nil:
		return []interface{}{"null"}, true
	case bool:
		return []interface{}{"bool", x}, true
	case int, int64, uint64:
		return []interface{}{"int", fmt.Sprint(x)}, true
	case float64:
		s := strconv.FormatFloat(x, 'g', -1, 64)
		if math.IsInf(x, 1) { s = "inf" } else if math.IsInf(x, -1) { s = "-inf" }
		return []interface{}{"float", s}, true
	case string:
		return []interface{}{"str", x}, true
	case []interface{}:
		out := []interface{}{}
		for _, e := range x {
			t, ok := typed(e)
			if !ok { return nil, false }
			out = append(out, t)
		}
		return []interface{}{"seq", out}, true
	case map[interface{}]interface{}:
		out := map[string]interface{}{}
		for k, e := range x {
			ks, ok := keyText(k)
			if !ok { return nil, false }
			t, ok := typed(e)
			if !ok { return nil, false }
			out[ks] = t
		}
		return []interface{}{"map", out}, true
	}
	return nil, false
}

func main() {
	data, _ := io.ReadAll(os.Stdin)
	enc := json.NewEncoder(os.Stdout)
	for _, doc := range bytes.Split(data, []byte{0}) {
		var v interface{}
		if err := yaml.Unmarshal(doc, &v); err != nil {
			enc.Encode([]interface{}{"error"})
			continue
		}
		t, ok := typed(v)
		if !ok {
			enc.Encode([]interface{}{"error"})
			continue
		}
		enc.Encode(t)
	}
}
"""


def _from_oracle(t: list[Any]) -> Any:
    kind = t[0]
    if kind == "error":
        return _REFUSED
    if kind == "null":
        return None
    if kind in ("bool", "str"):
        return t[1]
    if kind == "int":
        return int(t[1])
    if kind == "float":
        return float(t[1])
    if kind == "seq":
        return [_from_oracle(x) for x in t[1]]
    return {k: _from_oracle(v) for k, v in t[1].items()}


@pytest.fixture(scope="module")
def go_yaml_v2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed")
    cache = subprocess.run([go, "env", "GOMODCACHE"], capture_output=True, text=True).stdout
    if not (Path(cache.strip()) / "gopkg.in" / "yaml.v2@v2.4.0").is_dir():
        pytest.skip("gopkg.in/yaml.v2@v2.4.0 is not in the Go module cache")
    work = tmp_path_factory.mktemp("goyaml")
    (work / "go.mod").write_text("module oracle\n\ngo 1.21\n\nrequire gopkg.in/yaml.v2 v2.4.0\n")
    (work / "main.go").write_text(_ORACLE_GO)
    env = {**os.environ, "GOFLAGS": "-mod=mod", "GOPROXY": "off", "GOSUMDB": "off"}
    built = subprocess.run([go, "build", "-o", "oracle", "."], cwd=work, env=env,
                           capture_output=True, text=True, timeout=300)
    if built.returncode != 0:
        pytest.skip(f"cannot build the go-yaml v2 oracle offline: {built.stderr[-300:]}")
    return work / "oracle"


def _ask(oracle: Path, docs: list[str]) -> list[Any]:
    out = subprocess.run([str(oracle)], input="\0".join(docs).encode(), capture_output=True,
                         check=True, timeout=60).stdout.decode()
    return [_from_oracle(json.loads(line)) for line in out.split("\n") if line]


def test_tables_match_go_yaml_v2_itself(go_yaml_v2: Path) -> None:
    docs = [f"k: {t}\n" for t, _ in PLAIN] + [f"k: {t}\n" for t, _ in QUOTED]
    docs += [d for d, _ in DOCS] + REFUSED
    expected: list[Any] = [{"k": v} for _, v in PLAIN] + [{"k": v} for _, v in QUOTED]
    expected += [v for _, v in DOCS] + [_REFUSED] * len(REFUSED)
    wrong = []
    for doc, want, got in zip(docs, expected, _ask(go_yaml_v2, docs), strict=True):
        if want is _REFUSED or got is _REFUSED:
            if want is not got:
                wrong.append((doc, want, got))
        elif not same(got, want):
            wrong.append((doc, want, got))
    assert not wrong, wrong


def _random_tree(rng: random.Random, depth: int = 0) -> Any:
    scalars = [t for t, _ in PLAIN if not set(t) & set(":#'\",[]{}")]
    roll = rng.random()
    if depth >= 3 or roll < 0.5:
        if rng.random() < 0.7:
            return rng.choice(scalars)
        return "".join(rng.choice("019.eE+-_xXoObByYnN~") for _ in range(rng.randint(1, 6)))
    if roll < 0.75:
        return [_random_tree(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    # distinct letter keys: Go maps iterate in random order, so two keys with one JSON text
    # ("yes" and "on") would make go-yaml's answer a coin toss
    keys = {"".join(rng.choice("abcdefgh") for _ in range(rng.randint(1, 4)))
            for _ in range(rng.randint(0, 4))}
    return {k: _random_tree(rng, depth + 1) for k in sorted(keys)}


def test_reference_matches_go_yaml_v2_on_generated_documents(go_yaml_v2: Path) -> None:
    import yaml

    from socle.core.errors import InputError

    rng = random.Random(20240601)
    docs = []
    for _ in range(3000):
        tree = {"k": _random_tree(rng)}
        docs.append((_block(tree, 0) if rng.random() < 0.5 else _flow(tree)) + "\n")
    wrong = []
    for doc, got in zip(docs, _ask(go_yaml_v2, docs), strict=True):
        try:
            mine = reference_load(doc)
        except (yaml.YAMLError, InputError):
            mine = _REFUSED
        if got is _REFUSED or mine is _REFUSED:
            if got is not mine:
                wrong.append((doc, got, mine))
        elif not same(mine, got):
            wrong.append((doc, got, mine))
    assert not wrong, wrong[:5]


def _sorted(value: Any) -> Any:
    """Go maps have no order: compare mappings by sorted keys."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


_ANCHOR_PIECES = ["&x ", "&y ", "*x", "*y", "a", "1", "yes", "{k: ", "}", "[", "]", ", ", "\n",
                  "\n  ", "\n- ", "b: ", "c: ", "- ", "'q'", "~"]


def test_anchored_documents_rapidyaml_resolves_read_as_go_yaml_v2(go_yaml_v2: Path) -> None:
    """Anchors and aliases that the fast path resolves with rapidyaml: go-yaml v2 agrees."""
    rng = random.Random(20261126)
    docs: list[tuple[str, Any]] = []
    with quiet_native_stderr():
        for _ in range(40_000):
            doc = "k: " + "".join(rng.choice(_ANCHOR_PIECES)
                                  for _ in range(rng.randint(1, 16))) + "\n"
            ok, value = fast_load(doc, strict=True)
            if ok and ("&" in doc or "*" in doc):
                docs.append((doc, value))
    assert len(docs) > 1000  # the generator reaches the resolver often enough to mean something
    wrong = [(doc, mine, got) for (doc, mine), got in
             zip(docs, _ask(go_yaml_v2, [d for d, _ in docs]), strict=True)
             if got is _REFUSED or not same(mine, got)]
    assert not wrong, wrong[:5]


_MANIFEST = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels:
    app: web
    tier: "front"
spec:
  replicas: 3
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: nginx:1.25
          args: [--port, "8080"]
          command:
            - sh
            - -c
            - |
              echo start
          env:
            - name: A
              value: x
      volumes:
      - name: v
        emptyDir: {}
      - name: key
        secret:
          items: [{key: k, path: p}]
  note: |
    ends the text with a block scalar
    ---
"""
_INSERTS = [" ", "  ", "\t", "- ", ":", ": ", "#", " #x", "?", "|", ">", "'", '"', "-", "---",
            "...", "{", "}", "[", "]", ",", "&a ", "*a", "!", "%", "@", "\\", "x", "|2 ", "? "]


def _mutate(rng: random.Random, lines: list[str]) -> str:
    """A manifest with one to three typing slips: a line re-indented, a character put in or
    taken out, a line repeated or joined to the next."""
    ls = list(lines)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(ls) - 1)
        op = rng.random()
        if op < 0.3:
            body = ls[i].lstrip(" ")
            indent = len(ls[i]) - len(body) + rng.choice([-3, -2, -1, 1, 2, 3])
            ls[i] = " " * max(0, indent) + body
        elif op < 0.6:
            j = rng.randint(0, len(ls[i]))
            ls[i] = ls[i][:j] + rng.choice(_INSERTS) + ls[i][j:]
        elif op < 0.75:
            if ls[i]:
                j = rng.randrange(len(ls[i]))
                ls[i] = ls[i][:j] + ls[i][j + 1:]
        elif op < 0.85:
            ls.insert(i, ls[i])
        else:
            ls[i] = ls[i] + rng.choice(["", " "]) + ls.pop(i + 1).lstrip()
    return "\n".join(ls)


def test_mistyped_manifests_the_fast_path_takes_read_as_go_yaml_v2(go_yaml_v2: Path) -> None:
    """Whatever slips a hand-edited manifest has, a document rapidyaml is trusted with reads as
    go-yaml v2 reads it: the same value, never one go-yaml refuses. (This found "?" in flow
    collections, comments inside them, tabs, bare anchors and block scalar headers.)"""
    rng = random.Random(20261127)
    lines = _MANIFEST.split("\n")
    docs: list[tuple[str, Any]] = []
    with quiet_native_stderr():
        for _ in range(6000):
            doc = _mutate(rng, lines)
            ok, value = fast_load(doc)
            if ok:
                docs.append((doc, value))
    assert len(docs) > 1000
    wrong = [(doc, mine, "refused" if got is _REFUSED else got) for (doc, mine), got in
             zip(docs, _ask(go_yaml_v2, [d for d, _ in docs]), strict=True)
             if got is _REFUSED or not same(mine, got)]
    assert not wrong, wrong[:3]
