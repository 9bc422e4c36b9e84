"""JSON documents: key and item lines from the token scan equal the YAML composer's."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socle.formats import json as json_format
from socle.formats import yaml as yaml_format

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
