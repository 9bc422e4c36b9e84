"""Lines of keys in a document's text, fast: the line and column a finding points at.

Resolving a line with the YAML composer costs more than parsing the document. Kubernetes
manifests are nearly always block YAML, where a path can be followed by indentation alone;
anything else on the way (flow collections, anchors, merge keys, tabs, odd keys) makes this
give up and the exact composer-based positions (:meth:`Document.position_of`) are used instead.
Pretty-printed JSON (a kubectl List) has its lines searched for rather than every token read.
:func:`position` is the entry point every checker uses (schema, security).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from socle.core.document import Document

_KEY = re.compile(r"""^(?:"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|"""
                  r"""([^\s#'"{}\[\],&*!|>%@`?-][^#]*?|-[^\s#][^#]*?))"""
                  r"[ \t]*:(?:[ \t]+|$)")

# No line index is built: regular expressions over the text go from a line to the next one
# indented at most as much, over a key's whole block at once, and read its key or dash on the
# way. A "line" here is neither blank nor a comment; its indentation is its leading spaces. A
# lookup that passes over a line indented with a tab gives up.
#
# _BODY reads a line's body: group 2 a "- " item's dash, else groups 3-5 _KEY's groups 1-3
# (bound to the line) and group 6, empty, where _KEY's match ends.
_REST = r"(?=[^ \n#])(?![^\S\n]*+(?:\n|\Z))"  # a line's body: not blank, not a comment
_BODY = (_REST + r"""(?:(-)(?=[ \n]|\Z|[^\S\n]+(?:\n|\Z))|"""
         r"""(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\n]|'')*)'|"""
         r"""([^\s#'"{}\[\],&*!|>%@`?-][^#\n]*?|-[^\s#][^#\n]*?))"""
         r"""[ \t]*:(?:[ \t]+|(?=\n|\Z))())?[^\n]*+""")
_LINE = re.compile(r"^( *+)" + _BODY, re.M)  # the first line from a line's start
_TAB = re.compile(r"^ *+\t[^\n]*?\S", re.M)
_LONE_CR = re.compile("\r(?!\n)")


def _odd_breaks(text: str) -> bool:
    r"""Whether ``text`` holds a line break the YAML reader counts besides "\n" and "\r\n": a
    lone CR, NEL, LS or PS. (A regular expression for all four reads every character one by
    one, ~25 ns each: it cost more than the lookups it guards.)"""
    return ("\r" in text and _LONE_CR.search(text) is not None) or (
        not text.isascii() and ("\x85" in text or "\u2028" in text or "\u2029" in text))


# A line at a block's indentation that lookups may pass: a "- " item, or a key _KEY reads that
# is not "<<" nor a double-quoted one with an escape (those, and anything else, make them give up).
_GOOD = (r"""(?:[\w./][\w./-]*+[ \t]*:(?:[ \t]|\n|\Z)"""  # (the usual key, read quickly)
         r"""|-(?=[ \n]|\Z|[^\S\n]+(?:\n|\Z))"""
         r"""|(?!"<<"[ \t]*:|'<<'[ \t]*:|<<[ \t]*:(?:[ \t]|\n|\Z))"""
         r"""(?:"[^"\\\n]*"|'(?:[^'\n]|'')*'|(?:[^\s#'"{}\[\],&*!|>%@`?-]|-[^\s#])[^#\n]*?)"""
         r"""[ \t]*:(?:[ \t]|\n|\Z))""")
# a key _KEY reads as itself when a line starts with it and ": " (no shorter one, no quotes)
_PLAIN = re.compile(r"(?!<<$)(?:[^\s#'\"{}\[\],&*!|>%@`?:\\-]|-[^\s#:'\"\\])"
                    r"(?:[^\s#:'\"\\]| (?=.))*")
# (per indentation and key: keys come from findings' paths, a few dozen in practice; bounded
# whatever the input)
@lru_cache(maxsize=4096)
def _find(n: int, key: str) -> re.Pattern[str] | None:
    """A pattern matching, from a line's end, the lines a search for ``key`` in a block
    indented ``n`` passes over, then the line that ends it, if any: group 1 its indentation,
    group 2 the key (group 3 where its value starts) when it is the key's line; indented ``n``
    and not the key's, it is one lookups must give up at. None when ``key`` is not plain."""
    if not _PLAIN.fullmatch(key):
        return None
    k = re.escape(key)  # plain, or quoted: no quote nor backslash in it to escape
    k = f"{k}|'{k}'|\"{k}\""
    skip = (f"\\n(?: {{{n + 1}}}| *+#|[^\\S\\n]*+(?=\\n|\\Z)"  # deeper, comment, blank
            f"| {{{n}}}(?!(?:{k})[ \\t]*:(?:[ \\t]|\\n|\\Z))(?={_GOOD}))[^\\n]*+")  # a key
    return re.compile(
        f"(?:{skip})*+(?:\\n( *+)(?:({k})[ \\t]*:(?:[ \\t]+|(?=\\n|\\Z))())?[^\\n]*+)?")


# A key's pattern is built for its third search at one indentation: building one costs ~1 ms,
# which the few lookups of a small run (a pre-commit hook) paid twenty times over; until then
# the block is read on line by line (the same answer: see _step)
_FIND_AFTER = 2
_SEARCHED: dict[tuple[int, str], int] = {}


def _find_after(n: int, key: str) -> re.Pattern[str] | None:
    seen = _SEARCHED.get((n, key), 0)
    if seen < _FIND_AFTER:
        if len(_SEARCHED) < 65536:  # (bounded whatever the input; past it: read on)
            _SEARCHED[(n, key)] = seen + 1
        return None
    return _find(n, key)


@lru_cache(maxsize=256)  # (indentations seen; bounded whatever the input)
def _below(n: int) -> re.Pattern[str]:
    """The next line indented at most ``n``."""
    return re.compile(f"\\n( {{0,{n}}}+){_BODY}")


class BlockText:
    """A document's text with its path lookups memoised (``memo``: a trie of path keys, each
    node ``[kind, state or answer, children]``, see locate_block).

    It pickles as a PackedBlock of the text (shared with the document's, so sent once) and the
    memo: the cross-resource phase reuses the lookups the first phase made."""

    __slots__ = ("memo", "odd", "tabs", "text")

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedBlock, (self.text, self.memo))

    def __init__(self, text: str) -> None:
        self.text = text
        self.tabs = "\t" in text and _TAB.search(text) is not None
        # line breaks the YAML reader counts and these lookups do not (they count "\n"):
        # such a text is left to the composer
        self.odd = _odd_breaks(text)
        self.memo: dict[str | int, list[Any]] = {}


class PackedBlock:
    """A BlockText as it arrives from another process: kept as it came (a parent holds
    thousands of them for the cross-resource phase) until a lookup needs it."""

    __slots__ = ("memo", "text")

    def __init__(self, text: str, memo: dict[str | int, list[Any]]) -> None:
        self.text, self.memo = text, memo

    def __reduce__(self) -> tuple[Any, ...]:
        return (PackedBlock, (self.text, self.memo))

    def unpack(self) -> BlockText:
        bt = BlockText(self.text)
        bt.memo = self.memo
        return bt


_GIVE_UP = object()

# A state: the offset of the first line of the block to search, its 0-based line number, the
# parent's indentation, the best (line, column) so far, and the rest of a "- " line (spaced to
# its column) standing for the block's first line, or None. A block runs to the text's end: a
# step stops at the first line indented less than what it looks for.
_State = tuple[int, int, int, tuple[int, int], "str | None"]
_ROOT: _State = (0, 0, -1, (0, 0), None)

# What blocks hold, read as far as the lookups in them need, for the text being positioned
# only: (the text, its blocks' keys (see _keys), its sequences' items (see _items)), each keyed
# by the block's offset (~offset when it starts on a "- " line); replaced whole for another
# text (so a thread positioning another document keeps its own).
_TABLES: list[tuple[str | None, dict[int, list[Any]], dict[int, list[Any]]]] = [(None, {}, {})]


def _quoted(m: re.Match[str]) -> str | None:
    """The quoted key a _LINE or _BELOW match read, or None when lookups must give up."""
    name = m.group(3)
    if name is None:
        name = m.group(4)
        if name is None:
            return None  # flow style, a sequence, a complex key: not sure
        name = name.replace("''", "'")
    elif "\\" in name:
        return None
    return None if name == "<<" else name


def _keys(t: str, state: _State) -> list[Any] | None:
    """A block's keys as far as read: [where its lines begin, their indentation, {key: the
    _BELOW match of its line, or (offset, end of line, value) for a "- key:" line}, the
    pattern to read on with, where the reading is, how it ended (0: not yet, 1: at the
    block's end, 2: at a line that makes lookups give up)]; None to give up at once."""
    off, _line, parent, _best, first = state
    if first is not None:
        eol = t.find("\n", off)
        if eol < 0:
            eol = len(t)
        body = first.lstrip(" ")
        child = len(first) - len(body)
        k = _KEY.match(body)
        if k is None:
            return None
        name = k.group(3)
        if name is None:
            name = k.group(1)
            if name is None:
                name = (k.group(2) or "").replace("''", "'")
            elif "\\" in name:
                return None
        if name == "<<":
            return None
        return [eol + 1, child, {name: (off, eol, body[k.end():])}, _below(child), eol, 0]
    m = _LINE.search(t, off)
    if m is None:
        return None  # nothing left
    q, e = m.span(1)
    child = e - q
    name = m.group(5)  # (the first line is read as a key even if it is a "- " item)
    name = _quoted(m) if name is None else None if name == "<<" else name
    if child < parent or (child == parent and m.start(2) < 0) or name is None:
        return None  # (at the parent key's indentation, only a "- " item may follow)
    return [off, child, {name: m}, _below(child), m.end(), 0]


def _items(t: str, state: _State) -> list[Any] | None:
    """A block sequence's items as far as read: [where its lines begin, their indentation,
    [(offset, end of line)], where the reading is, whether it ended]; None to give up."""
    off, _line, parent, _best, first = state
    q = off
    if first is not None:
        eol = t.find("\n", off)
        if eol < 0:
            eol = len(t)
        start = eol + 1
        body = first.lstrip(" ")
        seq = len(first) - len(body)
        is_dash = body == "-" or body.startswith("- ")
    else:
        m = _LINE.search(t, off)
        if m is None:
            return None
        q = m.start()
        seq = m.end(1) - q
        eol = m.end()
        start = off
        is_dash = m.start(2) >= 0
    if not is_dash or seq < parent:
        return None  # not a block sequence
    return [start, seq, [(q, eol)], eol, False]


def _item(t: str, table: list[Any], key: int) -> tuple[int, int] | None:
    items: list[tuple[int, int]] = table[2]
    if not table[4] and (key < 0 or key >= len(items)):
        seq = table[1]
        below = _below(seq)
        eol = table[3]
        while True:
            m = below.search(t, eol)
            if m is None:
                eol = len(t)
                table[4] = True
                break
            q, e = m.span(1)
            eol = m.end()
            if e - q < seq or m.start(2) < 0:
                table[4] = True
                break
            items.append((q, eol))
            if len(items) > key >= 0:
                break
        table[3] = eol
    return items[key] if 0 <= key < len(items) else None


def _step(bt: BlockText, state: _State, key: str | int) -> Any:
    """Follow one key from ``state``; a new state, a final (line, col), or _GIVE_UP."""
    off, line, _parent, best, first = state
    t = bt.text
    tables = _TABLES[0]
    if tables[0] is not t:
        tables = _TABLES[0] = (t, {}, {})
    at = off if first is None else ~off
    if isinstance(key, int):
        table = tables[2].get(at)
        if table is None:
            table = tables[2][at] = _items(t, state) or [0, 0, None]
        if table[2] is None:
            return _GIVE_UP
        found_item = _item(t, table, key)
        if found_item is None:
            if bt.tabs and _TAB.search(t, table[0], table[3]):
                return _GIVE_UP
            return best
        q, eol = found_item
        if bt.tabs and _TAB.search(t, table[0], eol):
            return _GIVE_UP
        seq = table[1]
        item = first if q == off and first is not None else t[q:eol]
        rest = item[seq + 1:]
        body = rest.lstrip(" ")
        if not body.strip() or body.startswith(("#", "-", "{", "[", "&", "*", "!", "?", "|", ">")):
            return _GIVE_UP  # "-" alone (the item starts on a later line), or not plain
        col = seq + 1 + (len(rest) - len(body)) + 1
        found = line + t.count("\n", off, q)
        return (q, found, seq + 1, (found + 1, col), " " * (col - 1) + body)
    table = tables[1].get(at)
    if table is None:
        table = tables[1][at] = _keys(t, state) or [0, 0, None]
    names = table[2]
    if names is None:
        return _GIVE_UP
    hit = names.get(key)
    find = None if hit is not None or table[5] else _find_after(table[1], key)
    if find is not None:  # straight to the key's line, if nothing before it stops the search
        m = find.match(t, table[4])
        if m is None:  # (it always matches)
            return _GIVE_UP
        q, e = m.span(1)
        stop = m.end()
        if q < 0:
            stop = len(t)  # the text ended
        elif e - q == table[1]:
            if m.start(2) < 0:
                return _GIVE_UP
            hit = m
        if hit is None:
            if bt.tabs and _TAB.search(t, table[0], stop):
                return _GIVE_UP
            return best if best != (0, 0) else _GIVE_UP
    elif hit is None and not table[5]:  # read on
        child = table[1]
        below = table[3]
        eol = table[4]
        while True:
            m = below.search(t, eol)
            if m is None:
                table[4], table[5] = len(t), 1
                break
            q, e = m.span(1)
            eol = m.end()
            if e - q < child:
                table[4], table[5] = eol, 1
                break
            name = m.group(5)
            if name is None:
                if m.start(2) >= 0:
                    continue  # an item of a sequence at its key's indentation
                name = _quoted(m)
                if name is None:
                    table[4], table[5] = eol, 2
                    break
            elif name == "<<":
                table[4], table[5] = eol, 2
                break
            if name not in names:
                names[name] = m
                if name == key:
                    table[4] = eol
                    hit = m
                    break
    if hit is None:
        if table[5] == 2 or (bt.tabs and _TAB.search(t, table[0], table[4])):
            return _GIVE_UP
        return best if best != (0, 0) else _GIVE_UP
    if type(hit) is tuple:
        q, eol, value = hit
    elif find is not None:
        q = hit.start(1)
        eol = hit.end()
        value = t[hit.end(3):eol]
    else:
        q = hit.start(1)
        eol = hit.end()
        value = t[hit.end(6):eol]
    if bt.tabs and _TAB.search(t, table[0], eol):
        return _GIVE_UP
    child = table[1]
    value = value.strip()
    found = line + t.count("\n", off, q)
    best = (found + 1, child + 1)
    if value.startswith("&") and (" " not in value or value.split(None, 1)[1].startswith("#")):
        value = ""  # an anchor alone on the key's line: the value is the block below
    if value and not value.startswith("#"):
        if value.startswith("*"):
            return ("alias", best)  # the key is exact; what lies below it is not
        if value.startswith(("&", "!", "{", "[")):
            return _GIVE_UP
        return ("scalar", best)
    # (a block sequence may sit at the key's own indentation: see _keys)
    return (eol + 1, found + 1, child, best, None)


def locate_block(text: str | BlockText,
                 path: tuple[str | int, ...] | list[str | int]) -> tuple[int, int] | None:
    """(line, column) of the deepest existing key on ``path`` in block YAML, 1-based; None
    when the text is not plain enough to be sure (the caller falls back to the composer)."""
    bt = text if isinstance(text, BlockText) else BlockText(text)
    if bt.odd:
        return None
    state: Any = _ROOT
    node = bt.memo
    keys = iter(path)
    for key in keys:
        entry = node.get(key)
        if entry is None:
            hit = _step(bt, state, key)
            if hit is _GIVE_UP:
                entry = [3, None, None]
            elif len(hit) == 5:
                entry = [0, hit, {}]
            elif type(hit[0]) is int:
                entry = [1, hit, None]
            else:
                entry = [1 if hit[0] == "scalar" else 2, hit[1], None]
            node[key] = entry
        kind = entry[0]
        if kind:  # 1: the answer; 2: an alias, the answer if it is the last key; 3: give up
            last = kind == 2 and next(keys, _GIVE_UP) is _GIVE_UP
            return entry[1] if kind == 1 or last else None
        state = entry[1]
        node = entry[2]
    best: tuple[int, int] = state[3]
    return best


_BLOCKS: dict[int, tuple[str, BlockText]] = {}


def position(doc: Document, keys: list[str | int]) -> tuple[int, int]:
    """Line and column of the deepest existing key on ``keys`` (fast path, then exact)."""
    if doc.format == "yaml" and doc.text is not None and doc._positions is None:
        block = doc._index
        if type(block) is not BlockText or block.text is not doc.text:
            bt = _BLOCKS.get(id(doc.text))
            if bt is None or bt[0] is not doc.text:
                _BLOCKS.clear()  # one document at a time (List items share their parent's text)
                packed = type(block) is PackedBlock and block.text is doc.text
                bt = (doc.text, block.unpack() if packed else BlockText(doc.text))
                _BLOCKS[id(doc.text)] = bt
            if block is None:
                doc._index = bt[1]  # kept for the cross-resource phase, if the document goes
            block = bt[1]
        hit = locate_block(block, (*doc.base_path, *keys) if doc.base_path else keys)
        if hit is not None and hit != (0, 0):
            first = doc.origin or doc.line
            return (first - 1 + hit[0], hit[1])
    elif doc.format == "json" and doc.text is not None and doc._positions is None:
        # pretty-printed JSON (a kubectl List): its lines searched for, not every token read
        root = getattr(doc._locate, "root", None) if doc.base_path else doc.obj
        if root is not None:
            found = _json_locator(doc.text, root).locate((*doc.base_path, *keys))
            if found is not None:
                depth, hit = found
                if depth and depth >= len(doc.base_path):
                    first = doc.origin or doc.line
                    return (first - 1 + hit[0], hit[1])
                if not depth and not doc.base_path:
                    return (doc.line, 0)  # (as Document.position_of says)
    return doc.position_of(keys)


_JSON_LOCATOR: list[Any] = [None]  # the locator of the JSON text being positioned


def _json_locator(text: str, root: Any) -> Any:
    from socle.formats.json import Locator

    loc = _JSON_LOCATOR[0]
    if loc is None or loc.text is not text or loc.root is not root:
        loc = _JSON_LOCATOR[0] = Locator(text, root)
    return loc
