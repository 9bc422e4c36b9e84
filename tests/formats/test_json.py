"""JSON documents: key and item lines from the token scan equal the YAML composer's."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socle.formats import json as json_format
from socle.formats import yaml as yaml_format
from socle_testing import value_paths

TRICKY = [
    '{"a": 1}',
    '{\n  "apiVersion": "v1",\n  "kind": "List",\n  "items": [\n    {"kind": "Pod", "spec": '
    '{"containers": [{"name": "a"}, {"name": "b", "ports": [80, 443]}]}},\n    []\n  ]\n}\n',
    '{"esc\\"aped": {"tab\\tkey": [1, {"\\u00e9t\\u00e9": null}]}, "plain:colon": "v,al]ue"}',
    '{"empty": {}, "list": [], "nested": [[[]], [{}], [[1, 2], [3]]]}',
    '{"dup": 1, "dup": {"inner": true}}',
    '[\n  {"a": [true, false, null, -1.5e3, "x"]},\n  "s",\n  {"b": {}}\n]',
    '{"unicode": "h\u00e9llo \u2603", "k\u00e9y": {"n\u00e9sted": 1}}',
    '\n\n   {  "spaced"  :\n\n  [  1 ,\n 2  ]  }  \n',
    # line breaks as the YAML reader counts them: inside strings, CRLF, a lone CR
    '["\x85", null, {"key": "v\u2028al\u2029ue", "n": 1}]',
    '{\r\n  "crlf": [1,\r\n    2],\r\n  "x": {"y": null}\r\n}',
]


def test_tricky_json_positions_equal_the_composer() -> None:
    for text in TRICKY:
        json.loads(text)
        assert json_format.positions(text) == yaml_format.positions(text), text


def test_a_lone_carriage_return_ends_a_line() -> None:
    # (as the YAML reader counts lines; its composer cannot read this text, so no comparison)
    text = '{\r\n  "crlf": [1,\r\n    2],\r  "cr": {"x": null}\r}'
    json.loads(text)
    assert json_format.positions(text) == {
        ("crlf",): (2, 3), ("crlf", 0): (2, 12), ("crlf", 1): (3, 5), ("cr",): (4, 3),
        ("cr", "x"): (4, 10)}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=25)


@settings(max_examples=150, deadline=None)
@given(json_values, st.sampled_from([None, 0, 1, 2, 4]), st.booleans())
def test_generated_json_positions_equal_the_composer(value: Any, indent: int | None,
                                                     ascii_only: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    try:
        want = yaml_format.positions(text)
    except Exception:  # text the YAML composer itself cannot read
        return
    assert json_format.positions(text) == want


def test_json_documents_use_the_token_scan(monkeypatch: Any) -> None:
    def composer(text: str) -> Any:
        raise AssertionError("composed")

    monkeypatch.setattr(yaml_format, "positions", composer)
    doc = json_format.load_document('{"kind": "Pod",\n "spec": {"containers": [{}]}}', "p.json")
    assert doc.position_of(("spec", "containers", 0)) == (2, 26)
    assert doc.position_of(("spec", "missing")) == (2, 2)


# --- pretty-printed JSON located by its lines ------------------------------------------------


def _deepest(pos: dict[Any, tuple[int, int]], path: tuple[Any, ...]) -> tuple[int, tuple[int, int]]:
    """What positions() says for path: the deepest of its prefixes that exists."""
    for depth in range(len(path), 0, -1):
        if path[:depth] in pos:
            return depth, pos[path[:depth]]
    return 0, (0, 0)


def _check_locator(text: str) -> int:
    value = json.loads(text)
    pos = json_format.positions(text)
    locator = json_format.Locator(text, value)
    answered = 0
    for path in value_paths(value):
        for probe in (path, (*path, "missing"), (*path, 7), (*path, "x", 0)):
            got = locator.locate(probe)
            if got is not None:
                answered += 1
                assert got == _deepest(pos, probe), (text, probe)
    return answered


containers = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=30).filter(lambda v: isinstance(v, (dict, list)))


@settings(max_examples=300, deadline=None)
@given(containers, st.sampled_from([1, 2, 4]), st.booleans(), st.booleans())
def test_located_lines_equal_the_token_scan(value: Any, indent: int, ascii_only: bool,
                                            crlf: bool) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    if crlf:
        text = text.replace("\n", "\r\n")
    answered = _check_locator(text)
    assert answered > 0  # pretty-printed: the locator answers (the root at least)


@settings(max_examples=200, deadline=None)
@given(containers, st.data())
def test_odd_layouts_are_located_right_or_not_at_all(value: Any, data: st.DataObject) -> None:
    # pretty-printed, then some lines joined: the locator must notice (or still be right)
    text = json.dumps(value, indent=2)
    lines = text.split("\n")
    joins = data.draw(st.lists(st.integers(0, max(0, len(lines) - 2)), max_size=4))
    for j in sorted(set(joins), reverse=True):
        if j + 1 < len(lines):
            lines[j:j + 2] = [lines[j] + " " + lines[j + 1].lstrip()]
    _check_locator("\n".join(lines))


@settings(max_examples=150, deadline=None)
@given(containers, st.randoms(use_true_random=False))
def test_a_locator_answers_the_same_whatever_it_was_asked_before(value: Any, rnd: Any) -> None:
    # its steps are memoised per path prefix: a reused locator must answer as a new one
    text = json.dumps(value, indent=2)
    probes = [p for path in value_paths(value) for p in (path, (*path, "missing"), (*path, 0))]
    rnd.shuffle(probes)
    reused = json_format.Locator(text, value)
    for probe in probes:
        assert reused.locate(probe) == json_format.Locator(text, value).locate(probe), probe


def test_a_kubectl_list_is_located_without_the_token_scan() -> None:
    items = [{"apiVersion": "apps/v1", "kind": "Deployment",
              "metadata": {"name": f"d{i}", "labels": {"app": f"d{i}"}},
              "spec": {"template": {"spec": {"containers": [
                  {"name": "a", "image": "x:1", "securityContext": {}},
                  {"name": "b", "image": "y:2", "ports": [{"containerPort": 80}]}]}}}}
             for i in range(3)]
    text = json.dumps({"apiVersion": "v1", "kind": "List", "items": items}, indent=4)
    locator = json_format.Locator(text, json.loads(text))
    pos = json_format.positions(text)
    path = ("items", 2, "spec", "template", "spec", "containers", 1, "ports", 0,
            "containerPort")
    assert locator.locate(path) == (len(path), pos[path])
    missing = ("items", 1, "spec", "template", "spec", "containers", 0, "securityContext",
               "runAsNonRoot")
    assert locator.locate(missing) == (8, pos[missing[:8]])
    assert locator.locate(("items", 5)) == (1, pos[("items",)])


def test_repeated_keys_are_left_to_the_token_scan() -> None:
    # json.loads keeps the last "a", the text's first "a" comes first: not followed by lines
    text = '{\n  "a": {\n    "x": 1\n  },\n  "a": {\n    "y": {\n      "z": 2\n    }\n  }\n}'
    locator = json_format.Locator(text, json.loads(text))
    assert locator.locate(("a", "y", "z")) is None
    _check_locator(text)  # (what it answers, the root, is right)


_BREAKS = "\n\r\x85\u2028\u2029"


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*_BREAKS, "a", " ", "\u00e9", "\r\n"])).map("".join))
def test_line_starts_are_where_the_yaml_reader_starts_lines(text: str) -> None:
    # (the fast search for "\n" alone must give what reading every character gives)
    expected = [m.end() for m in json_format._LINE_BREAK.finditer(text)]
    assert json_format._line_starts(text) == expected


def test_numbers_json_cannot_hold_are_refused_at_their_place() -> None:
    for text, where in [('{\n  "a": 1e400\n}', (2, 8)), ('[1, NaN]', (1, 5)),
                        ('{"a": -Infinity}', (1, 7))]:
        doc = json_format.load_document(text, "f.json")
        assert doc.error is not None and doc.obj is None
        assert (doc.error.line, doc.error.column) == where, text
        assert "is not a number JSON can hold" in doc.error.message


def test_a_lone_surrogate_becomes_the_replacement_character() -> None:
    doc = json_format.load_document('{"a\\udfff": ["\\ud800x", "\\ud83d\\ude00"]}', "f.json")
    assert doc.error is None
    assert doc.obj == {"a\ufffd": ["\ufffdx", "\U0001f600"]}
    assert json.dumps(doc.obj, ensure_ascii=False).encode("utf-8")  # (printable)
