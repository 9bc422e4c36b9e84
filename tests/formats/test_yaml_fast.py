"""The fast path's shortcuts find exactly what the slower forms they replace find."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from socle.formats import yaml as y
from socle.formats.yaml import fast_load, quiet_native_stderr, reference_load

# the gate's tests as regular expressions (the forms before str.find replaced them)
_RESERVED_CHAR = re.compile(r"[@`]")
_INDICATOR = re.compile(r"[&*!][^\s,\[\]{}]")

# pieces that matter to the marker search and the gate, glued together at random
PIECES = ["---", "...", "--- a", "...x", "----", " ---", "---\t", "...\x85", "---\x1c", "\n",
          "\r\n", "a: 1\n", "#c\n", "&a", "*a", "!t", "& ", "*\n", "!,", "&[", "a: ", "- ",
          "? ", "[", "{", ",", "  ", "x", "@", "`", "a@b", " @x", "\t", "::", "%", "<<",
          "&&x", ":", "-"]
streams = st.lists(st.sampled_from(PIECES), max_size=14).map("".join)


def _old_needs_reference(text: str) -> bool:
    """The gate's structural tests as regular expressions (the form before str.find)."""
    if text[0] in "&*!%" or "\n%" in text or "<<" in text:
        return True
    if any(y._starts_node(text, m.start()) for m in _INDICATOR.finditer(text)):
        return True
    if ("[" in text or "{" in text) and any(h in text for h in y._FLOW_COLON_HINTS) \
            and y._FLOW_COLON.search(text):
        return True
    for m in _RESERVED_CHAR.finditer(text):
        if m.start() == 0 or text[m.start() - 1] in y._BEFORE_RESERVED:
            return True
    return False


@settings(max_examples=3000, deadline=None)
@given(streams)
def test_marker_lines_are_the_marker_regex_matches(text: str) -> None:
    assert list(y._marker_lines(text)) == [m.start() for m in y._MARKER_LINE.finditer(text)]


@settings(max_examples=3000, deadline=None)
@given(streams.filter(bool))
def test_gate_sends_to_the_reference_loader_whatever_the_regex_gate_did(text: str) -> None:
    if _old_needs_reference(text):
        assert y._gate(text) != y._FAST


def test_duplicate_keys_found_without_a_hook_at_any_depth() -> None:
    docs = ["a: 1\na: 2\n", "a:\n  b: 1\n  c: [1, {d: 1, d: 2}]\n", "- {x: 1, x: 1}\n",
            "a: {b: {c: {d: 1, e: 2, d: 3}}}\n", "k: [1, 2]\nj: {}\nk: []\n"]
    with quiet_native_stderr():
        for doc in docs:
            ok, _ = fast_load(doc, strict=True)
            assert not ok, doc  # declined: the reference loader reports the key and its line
            ok, value = fast_load(doc, strict=False)
            assert ok and value == reference_load(doc, strict=False), doc


def test_documents_without_duplicates_stay_on_the_fast_path_in_strict_mode() -> None:
    doc = "a: 1\nb: [1, {a: 1, b: null}, [], {}]\nc: {a: {a: {a: ~x}}}\nd: ''\n"
    with quiet_native_stderr():
        ok, value = fast_load(doc, strict=True)
    assert ok and value == reference_load(doc, strict=True)


def test_billion_laughs_still_refused_with_many_aliases() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [{', '.join(['*' + prev] * 10)}]")
    doc = y.load_document("\n".join(lines) + "\n", "bomb.yaml")
    assert doc.error is not None and "expand" in doc.error.message


def test_documents_larger_than_the_emit_buffer_stay_on_the_fast_path() -> None:
    # rapidyaml writes JSON into a reused buffer (64 KiB at first, grown on demand, not kept
    # beyond 4 MiB): outputs on both sides of both sizes read back whole
    for items in (10, 3_000, 200_000):
        doc = "a:\n" + "".join(f"  - {{name: n{i}, value: '{i}'}}\n" for i in range(items))
        with quiet_native_stderr():
            ok, value = fast_load(doc, strict=True)
        assert ok
        assert value == {"a": [{"name": f"n{i}", "value": str(i)} for i in range(items)]}
    assert len(y._emit_buffer()) < 8 * 1024 * 1024


# --- anchors and aliases through rapidyaml's resolver -------------------------------------

RESOLVED = [
    "a: &x {b: 1}\nc: *x\n",
    "a: &x [1, 2]\nb: *x\nc: *x\n",
    "a: &x\n  b: &y 1\n  c: *y\nd: *x\n",
    "b: {&x a: 1}\nc: *x\n",  # an anchor on a key
    "- &x a\n- *x\n",
    "a: &x\nb: *x\n",  # an anchored empty value
    "a: &x 'q'\nb: *x\n",
    "a: &x {b: 1}\nc: *x\nd: {e: *x, f: [*x]}\n",
    "spec:\n  selector:\n    matchLabels: &l {app: web}\n  template:\n    metadata:\n"
    "      labels: *l\n",
]
DECLINED = [
    "a: &x [*x]\n",  # inside its own anchor: rapidyaml's resolver crashes on it
    "a: &x\n  b: *x\n",
    "a: &x\n  - b: [1, *x]\n",
    "a: &x b\n*x : 2\n",  # an alias as a key
    "a: &x 1\nb: &x 2\nc: *x\n",  # a repeated anchor
    "a: *x\nb: &x 1\n",  # an alias before its anchor
    "a: *nowhere\n",
    "b: 0\n&x a: 1\nc: *x\n",  # an anchor first on its line
    "k: \n&x \nb: \n",
    "k:\n- &x - a\n",  # a block sequence after an anchor on its line (go-yaml refuses it)
    "a: &x yes\nb: *x\n",  # typed by go-yaml, not by rapidyaml
    "a: &x [1]\n" + "".join(f"b{i}: *x\n" for i in range(7)),  # more aliases than is harmless
]


def test_anchors_and_aliases_resolved_by_rapidyaml_read_as_the_reference_loader() -> None:
    with quiet_native_stderr():
        for doc in RESOLVED:
            ok, value = fast_load(doc, strict=True)
            assert ok, doc
            assert value == reference_load(doc, strict=True), doc


def test_aliases_rapidyaml_cannot_be_trusted_with_go_to_the_reference_loader() -> None:
    with quiet_native_stderr():
        for doc in DECLINED:
            ok, _ = fast_load(doc, strict=True)
            assert not ok, doc
            loaded = y.load_document(doc, "a.yaml", strict=True)  # an answer, not a crash
            assert loaded.error is not None or loaded.obj == reference_load(doc, strict=True)


def test_duplicate_keys_in_anchored_documents_still_found() -> None:
    doc = "a: &x {b: 1}\nc: *x\nc: 2\n"
    with quiet_native_stderr():
        assert not fast_load(doc, strict=True)[0]
        ok, value = fast_load(doc, strict=False)
    assert ok and value == {"a": {"b": 1}, "c": 2}
    loaded = y.load_document(doc, "a.yaml", strict=True)
    assert isinstance(loaded.error, y.DuplicateKeyError) and loaded.error.line == 3


_ANCHOR_PIECES = ["&x ", "&y ", "*x", "*y", "a", "1", "yes", "{k: ", "}", "[", "]", ", ",
                  "\n", "\n  ", "\n- ", "b: ", "c: ", "- ", "'q'", "~"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ANCHOR_PIECES), min_size=1, max_size=16).map(
    lambda parts: "k: " + "".join(parts) + "\n"))
def test_generated_anchor_documents_agree_with_the_reference_loader(doc: str) -> None:
    import yaml

    from socle.core.errors import InputError

    try:
        expected: object = reference_load(doc, strict=True)
    except (yaml.YAMLError, InputError, RecursionError):
        expected = "refused"
    with quiet_native_stderr():
        ok, value = fast_load(doc, strict=True)
    if ok:
        assert expected != "refused", f"fast path accepted {doc!r}; reference refuses it"
        assert value == expected, doc


def test_large_anchored_documents_go_to_the_reference_loader() -> None:
    # rapidyaml copies what aliases name: only documents small enough that six aliases cannot
    # take them past the expansion limit are resolved there
    small = "a: &x [" + ", ".join(["1"] * 100) + "]\nb: *x\n"
    big = "a: &x [" + ", ".join(["1"] * 20_000) + "]\nb: *x\n"
    with quiet_native_stderr():
        assert fast_load(small, strict=True)[0]
        assert not fast_load(big, strict=True)[0]
    doc = y.load_document(big, "big.yaml", strict=True)
    assert doc.error is None and doc.obj["b"] == [1] * 20_000


def _gate_scanning_everything(text: str) -> int:
    """The gate as it was before its one-pass prefilter: every test on every document."""
    if ("|" in text or ">" in text) and (y._bad_block_header(text) or not text.endswith("\n")):
        return y._REFERENCE
    if text[0] in "&*!%" or "\n%" in text or "<<" in text:
        return y._REFERENCE
    if "\t" in text:
        return y._REFERENCE
    if "[" in text or "{" in text:
        if "?" in text and y._question_in_flow(text):
            return y._REFERENCE
        if "#" in text and y._comment_in_flow(text):
            return y._REFERENCE
    if "%" in text and y._bare_indicator(text, "%"):
        return y._REFERENCE
    anchors = False
    if "&" in text or "*" in text or "!" in text:
        if y._bare_indicator(text, "!") or y._odd_anchor_name(text):
            return y._REFERENCE
        if "!" in text and y._indicator_starts_node(text, "!"):
            return y._REFERENCE
        anchors = y._indicator_starts_node(text, "&*")
        if anchors and (text.count("*") > y._HARMLESS_ALIASES
                        or text.count("&") > y._MANY_ANCHORS or y._awkward_anchors(text)):
            return y._REFERENCE
    if ("[" in text or "{" in text) and any(s in text for s in y._FLOW_COLON_HINTS) \
            and y._FLOW_COLON.search(text):
        return y._REFERENCE
    for m in _RESERVED_CHAR.finditer(text):
        if m.start() == 0 or text[m.start() - 1] in y._BEFORE_RESERVED:
            return y._REFERENCE
    if ("]" in text or "}" in text) and y._AFTER_FLOW.search(text):
        return y._REFERENCE
    if ("]" in text or "}" in text) and text[len(text) - len(text.lstrip())] not in "[{" \
            and y._closer_starts_node(text):
        return y._REFERENCE
    if not text.isascii() and ("\x85" in text or "\u2028" in text or "\u2029" in text):
        return y._REFERENCE
    if "\\/" in text or (
            ("\\u" in text or "\\U" in text) and y._ODD_TEXT.search(text) is not None):
        return y._REFERENCE
    return y._ANCHORS if anchors else y._FAST


_GATE_PIECES = [*PIECES, "]", "}", "{}", "[]", "k: }", "- ]", "\\u", "\\ud800", "\\U0000d800",
                "\x85", "\u2028", "é", "25%", "a@b.c", "&x ", "*x", "a: &x\n", "\n  - ", "\t",
                "?", " #x", "|", "|2 x", ">-", "% ", "& ", "!]", "&n\\", "*.x", "} x", "\\/"]


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.sampled_from(_GATE_PIECES), max_size=16).map("".join).filter(bool))
def test_gate_prefilter_decides_as_scanning_everything(text: str) -> None:
    assert y._gate(text) == _gate_scanning_everything(text)


@settings(max_examples=3000, deadline=None)
@given(st.text(alphabet="ab ]}\t\n#,:x\x0b\x85\xa0\u2028-", max_size=16))
def test_after_flow_finds_what_its_expression_finds(text: str) -> None:
    assert y._after_flow(text) == (y._AFTER_FLOW.search(text) is not None)
