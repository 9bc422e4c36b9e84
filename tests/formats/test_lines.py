"""The fast line lookup (socle.formats.lines): the lines and columns of findings' keys, checked
against the YAML composer and against the line-by-line lookup it replaced."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scan_testing import DEPLOYMENT
from socle.formats.lines import BlockText, PackedBlock, _odd_breaks, locate_block, position
from socle.formats.yaml import iter_documents, positions

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "src" / "socle" / "security" / "controls"

AWKWARD = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "quoted"   # trailing comment
  annotations:
    'single': "x: y"
    a.b/c: |
      spec:
        template: nope
spec:
  template:
    spec:
      containers:
      - name: a
        image: b
        ports:
        - {containerPort: 80}
        -   containerPort: 81
      - name: b
        securityContext: {privileged: true}
        env:
          -
            name: X
      volumes: []
  strategy: &s {type: Recreate}
"""

ANCHORED = """\
apiVersion: apps/v1
kind: Deployment
spec:
  selector:
    matchLabels: &id001
      app: web
      tier: &tier front
  template:
    metadata:
      labels: *id001
      annotations: &ann # a comment after the anchor
        a: b
    spec:
      containers:
      - name: app
        env: &env
        - name: A
          value: b
      - name: side
        env: *env
"""


@pytest.mark.parametrize("after", [0, 10**9], ids=["key-patterns", "read-on"])
def test_fast_line_lookup_agrees_with_the_composer(after: int,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # both ways a block is searched: a pattern for the key, or reading on line by line
    from socle.formats import lines as runner

    monkeypatch.setattr(runner, "_FIND_AFTER", after)
    monkeypatch.setattr(runner, "_SEARCHED", {})
    texts = [AWKWARD, ANCHORED, DEPLOYMENT]
    for path in sorted(BUNDLED.glob("*/fixtures/*.yaml")):
        texts.extend(d.text for d in iter_documents(path.read_bytes(), str(path))
                     if d.text is not None and d.error is None)
    checked = 0
    for text in texts:
        pos = positions(text)
        for key in pos:
            for extra in ((), ("missing",), ("missing", 0), (5,)):
                full = key + extra
                got = locate_block(text, full)
                if got is None:
                    continue
                want = full
                while want not in pos:
                    want = want[:-1]
                assert got[0] == pos[want][0], (full, got, pos[want], text)
                checked += 1
    assert checked > 100


def test_fast_line_lookup_through_anchors_and_at_aliases() -> None:
    # the key holding an alias is exact; keys below an anchor are found at their own lines
    assert locate_block(ANCHORED, ("spec", "template", "metadata", "labels")) == (10, 7)
    assert locate_block(ANCHORED, ("spec", "selector", "matchLabels", "app")) == (6, 7)
    assert locate_block(ANCHORED, ("spec", "template", "metadata", "annotations", "a")) == (12, 9)
    assert locate_block(ANCHORED, ("spec", "template", "spec", "containers", 0, "env", 0,
                                   "name")) == (17, 11)
    # below an alias, or a scalar carrying an anchor: left to the composer
    assert locate_block(ANCHORED, ("spec", "template", "metadata", "labels", "app")) is None
    assert locate_block(ANCHORED, ("spec", "template", "spec", "containers", 1, "env", 0)) is None


def test_line_index_travels_with_a_document_to_the_next_phase() -> None:
    """The cross-resource phase runs in other processes: the line index the first phase built
    goes with the document (pickled compactly) and answers exactly as a fresh one."""
    import pickle


    text = DEPLOYMENT
    (doc,) = list(iter_documents(text, "d.yaml"))
    paths: list[list[str | int]] = [
        ["spec", "template", "spec", "containers", 0, "image"],
        ["spec", "template", "metadata", "labels"],
        ["metadata", "name"], ["spec", "nothere", "deeper"], ["spec", "replicas"]]
    first = [position(doc, p) for p in paths]
    assert isinstance(doc._index, BlockText) and doc._index.memo
    data = pickle.dumps(doc)
    assert data.count(text.encode()) == 1  # the text is sent once, not again for the index
    back = pickle.loads(data)
    packed = back._index  # kept packed until a lookup needs it
    assert isinstance(packed, PackedBlock) and packed.text is back.text
    assert packed.memo["spec"][2]  # the lookups made come along
    assert [position(back, p) for p in paths] == first
    assert back._index is packed  # unpacked for the lookups only, not kept on the document
    unpacked = packed.unpack()
    assert [locate_block(unpacked, (*p, "more")) for p in paths] == [
        locate_block(text, (*p, "more")) for p in paths]


# --- the line lookup against the composer and against the line-by-line implementation it
# replaced (kept here as the oracle: same (line, column) wherever it answered, same give-ups)

_OLD_GIVE_UP = object()
_OLD_KEY = re.compile(r"""^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|"""
                      r"""([^\s#'"{}\[\],&*!|>%@`?-][^#]*?|-[^\s#][^#]*?))"""
                      r"[ \t]*:(?:[ \t]+|$)")


class _OldIndex:
    def __init__(self, text: str) -> None:
        self.lines = lines = text.split("\n")
        bodies = [ln.lstrip(" ") for ln in lines]
        ind = [len(ln) - len(b) for ln, b in zip(lines, bodies, strict=True)]
        for i, b in enumerate(bodies):
            c = b[:1]
            if c == "" or c == "#" or not b.strip():
                ind[i] = -1  # blank or comment
            elif c == "\t":
                ind[i] = -2  # a tab in the indentation
        self.ind = ind
        self.dash = [b[:1] == "-" and i >= 0 and (len(b) == 1 or b[1] == " " or b.rstrip() == "-")
                     for b, i in zip(bodies, ind, strict=True)]
        self.memo: dict[tuple[str | int, ...], Any] = {}


def _old_lines(bt: _OldIndex, lo: int, hi: int, first: str | None) -> Any:
    """The lines of a block that count (the "- " line's rest standing for its first), as
    (number, indentation, text, is a "- " item); indentation -2: a tab, lookups give up."""
    for i in range(lo, hi):
        if i == lo and first is not None:
            body = first.lstrip(" ")
            if body:
                yield i, len(first) - len(body), first, body == "-" or body.startswith("- ")
        elif bt.ind[i] != -1:
            yield i, bt.ind[i], bt.lines[i], bt.dash[i]


def _old_step(bt: _OldIndex, state: Any, key: str | int) -> Any:
    lo, hi, parent, best, first = state
    lines, ind, dash = bt.lines, bt.ind, bt.dash
    if isinstance(key, int):
        seq = -1
        count = -1
        found = -1
        for i, li, _, is_dash in _old_lines(bt, lo, hi, first):
            if li == -2:
                return _OLD_GIVE_UP
            if seq < 0:
                if not is_dash or li < parent:
                    return _OLD_GIVE_UP  # not a block sequence
                seq = li
            if li < seq:
                break
            if li == seq:
                if not is_dash:
                    break
                count += 1
                if count == key:
                    found = i
                    break
        if found < 0:
            return best if seq >= 0 else _OLD_GIVE_UP
        item = first if (found == lo and first is not None) else lines[found]
        rest = item[seq + 1:]
        body = rest.lstrip(" ")
        if body and not body.startswith("#") and body.startswith(
                ("-", "{", "[", "&", "*", "!", "?", "|", ">")):
            return _OLD_GIVE_UP
        if not body.strip() or body.startswith("#"):  # (was "not body": "-\r" answered)
            return _OLD_GIVE_UP  # "-" alone: the item starts on a later line
        col = seq + 1 + (len(rest) - len(body)) + 1
        best = (found + 1, col if body else seq + 1)
        # the item's block runs to the parent's end: the next step stops at the first line
        # indented less than what it looks for (walking to the block's end here cost more)
        return (found, hi, seq + 1, best, " " * (col - 1) + body if body else "")
    child = -1
    found = -1
    value = ""
    for i, li, ln, is_dash in _old_lines(bt, lo, hi, first):
        if li == -2:
            return _OLD_GIVE_UP
        if child < 0:
            if li <= parent and not (i == lo and first is not None):
                return _OLD_GIVE_UP
            child = li
        if li < child:
            break
        if li > child or (i > lo and is_dash):
            continue  # deeper, or an item of a sequence at its key's indentation
        m = _OLD_KEY.match(ln[li:])
        if m is None:
            return _OLD_GIVE_UP  # flow style, a sequence, a complex key: not sure
        if m.group(3) is not None:
            name = m.group(3)
        elif m.group(1) is not None:
            name = m.group(1)
            if "\\" in name:
                return _OLD_GIVE_UP
        else:
            name = (m.group(2) or "").replace("''", "'")
        if name == "<<":
            return _OLD_GIVE_UP
        if name == key:
            found = i
            value = ln[li + m.end():].strip()
            break
    if found < 0:
        return best if child >= 0 and best != (0, 0) else _OLD_GIVE_UP
    best = (found + 1, child + 1)
    if value.startswith("&") and (" " not in value or value.split(None, 1)[1].startswith("#")):
        value = ""  # an anchor alone on the key's line: the value is the block below
    if value and not value.startswith("#"):
        if value.startswith("*"):
            return ("alias", best)  # the key is exact; what lies below it is not
        if value.startswith(("&", "!", "{", "[")):
            return _OLD_GIVE_UP
        return ("scalar", best)
    lo2 = found + 1
    nxt = child
    for i in range(lo2, hi):  # a block sequence may sit at the key's own indentation
        if ind[i] >= 0:
            if ind[i] == child and dash[i]:
                nxt = child - 1
            break
    return (lo2, hi, nxt, best, None)  # to the parent's end, as for sequence items


def _old_locate(index: _OldIndex, path: tuple[str | int, ...]) -> tuple[int, int] | None:
    state: Any = (0, len(index.lines), -1, (0, 0), None)
    for depth in range(len(path)):
        prefix = path[:depth + 1]
        hit = index.memo.get(prefix)
        if hit is None:
            hit = index.memo[prefix] = _old_step(index, state, path[depth])
        if hit is _OLD_GIVE_UP:
            return None
        if len(hit) == 2 and isinstance(hit[0], int):
            return hit  # type: ignore[no-any-return]
        if hit[0] == "scalar":
            return hit[1]  # type: ignore[no-any-return]
        if hit[0] == "alias":
            return hit[1] if depth == len(path) - 1 else None
        state = hit
    return state[3]  # type: ignore[no-any-return]


_KEYS = ["apiVersion", "kind", "metadata", "name", "spec", "template", "containers", "image",
         "env", "value", "a.b/c", "x-y", "on off", "k", "-k", "<<", "a:b", "a#b"]
_SCALARS = ["x", "1", "'q: r'", '"s"', "true", "[]", "{}", "{a: 1}", "[1, 2]", "a # c",
            "'it''s'", "*a1", "&a1 v", "!!str 5", "url://h:1", "''", "v  "]


@st.composite
def _block_yaml(draw: st.DrawFn) -> str:
    """Kubernetes-like block YAML: nested maps, sequences of maps ("- key:" or "-" alone),
    comments, blank lines, quoted keys, | and > scalars, flow collections, anchors, tabs."""
    lines: list[str] = []

    def key(k: str) -> str:
        style = draw(st.sampled_from(["plain"] * 6 + ["single", "double", "escaped"]))
        if style == "single":
            return "'" + k.replace("'", "''") + "'"
        if style == "double":
            return '"' + k + '"'
        return '"' + k + '\\\\n"' if style == "escaped" else k

    def junk(ind: int) -> None:
        for _ in range(draw(st.integers(0, 1))):
            lines.append(draw(st.sampled_from(["", " " * ind + "# c", "   ", "#", "  \t "])))

    def mapping(ind: int, depth: int, dash: str = "") -> None:
        names = draw(st.lists(st.sampled_from(_KEYS), min_size=1, max_size=4, unique=True))
        for n, name in enumerate(names):  # (duplicate keys: the composer keeps the last)
            if n or not dash:
                junk(ind)
            sp = dash if n == 0 and dash else " " * ind
            k = key(name)
            kind = draw(st.sampled_from(
                ["scalar"] * 3 + (["map", "seq", "seq", "block"] if depth < 4 else [])))
            if kind == "scalar":
                lines.append(f"{sp}{k}: {draw(st.sampled_from(_SCALARS))}")
            elif kind == "map":
                lines.append(f"{sp}{k}:" + draw(st.sampled_from(["", " # c", " &a1", " "])))
                mapping(ind + draw(st.sampled_from([2, 2, 4, 1])), depth + 1)
            elif kind == "seq":
                lines.append(f"{sp}{k}:" + draw(st.sampled_from(["", " # c", " &a2"])))
                sequence(ind + draw(st.sampled_from([0, 2])), depth + 1)
            else:
                lines.append(f"{sp}{k}: " + draw(st.sampled_from(["|", ">", "|-", "|2"])))
                for _ in range(draw(st.integers(0, 3))):
                    lines.append(" " * (ind + 2) + draw(st.sampled_from(
                        ["spec: x", "- a", "", "  deeper: 1", "\ttab: 1", "# not a comment"])))

    def sequence(ind: int, depth: int) -> None:
        for n in range(draw(st.integers(1, 3))):
            if n:
                junk(ind)
            kind = draw(st.sampled_from(["scalar", "map", "map", "alone", "nested", "flow"]))
            if kind == "scalar" or depth >= 4:
                lines.append(" " * ind + "- " + draw(st.sampled_from(_SCALARS)))
            elif kind == "map":
                mapping(ind + 2, depth + 1, dash=" " * ind + "- ")
            elif kind == "alone":
                lines.append(" " * ind + draw(st.sampled_from(["-", "- # c", "-  "])))
                mapping(ind + 2, depth + 1)
            elif kind == "nested":
                lines.append(" " * ind + "- - " + draw(st.sampled_from(_SCALARS)))
            else:
                lines.append(" " * ind + "- " + draw(st.sampled_from(["{a: 1}", "[1]", "&a3 x"])))

    junk(0)
    mapping(draw(st.sampled_from([0, 0, 2])), 0)
    text = "\n".join(lines) + draw(st.sampled_from(["\n", "", "\n\n# end\n"]))
    return text.replace("\n", "\r\n") if draw(st.booleans()) and draw(st.booleans()) else text


def _paths_of(pos: dict[tuple[str | int, ...], tuple[int, int]]) -> list[tuple[str | int, ...]]:
    out = [()]
    for key in pos:
        out.extend([key, (*key, "missing"), (*key, 0), (*key, 1), (*key, "spec", 0),
                    (*key[:-1], 7)])
    return out + [(k,) for k in _KEYS] + [("spec", k) for k in _KEYS]


def test_what_an_anchor_holds_is_found_where_it_is_written() -> None:
    """Both lookups: below an anchored key, the lines of what is written there; below an
    alias repeating it further down, the alias's own line (found by the property test below:
    the composer's map gave the anchor's keys to the alias's path, the anchor's own path
    pointed at its key's line only)."""
    text = "apiVersion: &a1\n  spec: x\nkind: x\nmetadata: x\nname: *a1\n"
    pos = positions(text)
    assert pos[("apiVersion", "spec")] == (2, 3)
    assert ("name", "spec") not in pos and pos[("name",)] == (5, 1)
    assert locate_block(text, ("apiVersion", "spec", 0)) == (2, 3)
    [doc] = iter_documents(text)
    assert position(doc, ["apiVersion", "spec"]) == (2, 3)
    assert position(doc, ["name", "spec"]) == (5, 1)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_block_yaml())
def test_fast_line_lookup_on_generated_documents(text: str) -> None:
    """Wherever the fast lookup answers, the composer finds the same line (and the lookup it
    replaced the same line and column); it gives up exactly where that one gave up."""
    import pickle

    try:
        pos = positions(text)
    except Exception:  # not YAML after all: only the agreement with the old lookup counts
        pos = {}
    paths = _paths_of(pos)
    fresh, old = BlockText(text), _OldIndex(text)
    for path in paths:
        got = locate_block(fresh, path)
        assert got == _old_locate(old, path), (path, text)
        if got is None or got == (0, 0) or not pos:
            continue
        want = path
        while want and want not in pos:
            want = want[:-1]
        if want:
            assert got[0] == pos[want][0], (path, got, pos[want], text)
    again = pickle.loads(pickle.dumps(fresh)).unpack()  # as the next phase gets it
    assert [locate_block(again, p) for p in reversed(paths)] == [
        locate_block(text, p) for p in reversed(paths)]


@pytest.mark.parametrize("odd", ["\u2028", "\u0085", "\u2029", "\r"])
def test_line_breaks_only_the_yaml_reader_counts_leave_lines_to_the_composer(odd: str) -> None:
    """A raw LS, NEL, PS or lone CR inside a quoted scalar is a line break to the YAML reader
    (and so to the composer's lines) but not to the fast lookup, which counts "\\n": such a
    text takes the composer."""
    text = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n"
            f'  name: "a{odd}b"\n  namespace: x\ndata:\n  k: v\n')
    (doc,) = list(iter_documents(text, "c.yaml"))
    assert doc.error is None
    for path in (["data", "k"], ["metadata", "namespace"], ["data", "missing"]):
        assert position(doc, path) == doc.position_of(path), (odd, path)
    assert locate_block(text, ("data", "k")) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["\n", "\r", "\x85", "\u2028", "\u2029", "a", "\u00e9", "\r\n"]))
       .map("".join))
def test_odd_line_breaks_are_found_wherever_they_are(text: str) -> None:
    # a lone CR, NEL, LS or PS sends a text to the composer for its finding lines
    assert _odd_breaks(text) == (re.search("\r(?!\n)|[\x85\u2028\u2029]", text) is not None)
