"""JSON documents: one per file, read with the standard library's C scanner."""

from __future__ import annotations

import bisect
import json
import math
import re
from functools import lru_cache
from typing import Any

from socle import formats as _formats
from socle.core.document import Document
from socle.core.errors import InputError
from socle.formats import yaml as _yaml

name = "json"
extensions = (".json",)


class _Duplicate(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _strict_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


# the tokens of valid JSON that positions need: a key (a string and its colon), a string or
# other scalar value, an opening and a closing bracket (commas and colons between them skipped)
# (a string's characters as runs between escapes: an alternation per character costs twice)
_TOKEN = re.compile(r'"([^"\\]*(?:\\.[^"\\]*)*)"(\s*:)?|([{\[])|[}\]]|[^\s{}\[\]:,"]+')
# where lines end, as the YAML reader counts them (JSON text is YAML to Kubernetes): a string
# may hold a raw U+0085, U+2028 or U+2029, and a file may end its lines with a lone CR
_LINE_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_NEWLINE = re.compile("\n")


def _line_starts(text: str) -> list[int]:
    r"""Where each line after the first starts. (Most texts break lines with "\n" alone: a
    search for it is ~5x faster than _LINE_BREAK's, which reads every character.)"""
    if "\r" in text or (not text.isascii() and (
            "\x85" in text or "\u2028" in text or "\u2029" in text)):
        return [m.end() for m in _LINE_BREAK.finditer(text)]
    return [m.end() for m in _NEWLINE.finditer(text)]


def positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    """JSON path -> (line, column) of every key and array item, 1-based, as
    :func:`socle.formats.yaml.positions` gives them for JSON text, from one pass over the tokens
    (composing JSON as YAML costs ~50x more). Falls back to the composer on anything odd."""
    try:
        return _json_positions(text)
    except (ValueError, IndexError, json.JSONDecodeError):
        return _yaml.positions(text)


def _json_positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    starts = _line_starts(text)
    bisect_right = bisect.bisect_right
    out: dict[tuple[str | int, ...], tuple[int, int]] = {}
    # the open containers above the current one: (path, next array index or None)
    stack: list[tuple[tuple[str | int, ...], int | None]] = []
    path: tuple[str | int, ...] | None = None  # the current container's (None: top level)
    index: int | None = None  # the next item's index in an array, None in an object
    key: str | None = None  # the key whose value comes next, in an object
    for m in _TOKEN.finditer(text):
        kind = m.lastindex
        if kind == 2:  # a key
            if path is None or index is not None:
                raise ValueError("a key outside an object")
            raw = m.group(1)
            key = json.loads('"' + raw + '"') if "\\" in raw else raw
            at = (*path, key)
            if at not in out:
                pos = m.start()
                line = bisect_right(starts, pos)
                out[at] = (line + 1, pos - (starts[line - 1] if line else 0) + 1)
            continue
        if kind is None and m.group()[0] in "}]":
            if path is None:
                raise ValueError("a closing bracket at the top level")
            path, index = stack.pop() if stack else (None, None)
            key = None
            continue
        # a value starts: an array item is recorded here, an object's value under its key
        if path is None:
            at = ()
        elif index is None:
            if key is None:
                raise ValueError("value without a key")
            at = (*path, key)
            key = None
        else:
            at = (*path, index)
            index += 1
            if at not in out:
                pos = m.start()
                line = bisect_right(starts, pos)
                out[at] = (line + 1, pos - (starts[line - 1] if line else 0) + 1)
        if kind == 3:  # it is a container: its items come next
            if path is not None:
                stack.append((path, index))
            path, index = at, (None if m.group(3) == "{" else 0)
    if path is not None:
        raise ValueError("unclosed container")
    return out


# --- pretty-printed JSON, found by its lines -----------------------------------------------------

_FIRST_CONTENT = re.compile(r"\n( +)[^\s\]}]")  # a container's first line of content


@lru_cache(maxsize=256)  # (indentations seen; bounded whatever the input)
def _ends(n: int) -> re.Pattern[str]:
    """A line indented less than ``n``."""
    return re.compile(rf"\n {{0,{n - 1}}}+\S")  # (possessive: no backtracking on deeper lines)


@lru_cache(maxsize=256)  # (indentations seen; bounded whatever the input)
def _items(n: int) -> re.Pattern[str]:
    """A line indented ``n`` that starts an array item."""
    return re.compile(rf"\n {{{n}}}[^\s\]}}]")


# a step's state: where the container being entered opens, its value, where the value of
# the last key found starts (-1: none yet), the (line, column) of that key or item
_Step = tuple[int, Any, int, tuple[int, int]]
_ABSENT = object()
_NOT_PLAIN: _Step = (-1, None, -1, (0, 0))


class Locator:
    """Key and item lines of pretty-printed JSON (every key and item on a line of its own,
    containers opened at the end of a line, as ``json.dumps(indent=...)`` and ``kubectl get
    -o json`` write it), found by searching for the lines of a path instead of reading every
    token of the text (:func:`positions`): a few searches a lookup instead of ~6 ms for a
    30 KB List. Each step is checked against the decoded value (as many key or item lines in
    the container as it has keys or items, the key written as JSON writes it); where that does
    not hold, :meth:`locate` says None and the caller uses :func:`positions`."""

    __slots__ = ("containers", "memo", "root", "start", "starts", "text")

    def __init__(self, text: str, root: Any) -> None:
        self.text = text
        self.root = root
        self.starts: list[int] | None = None
        # per container (the offset of its "{" or "["): its first line break, the indentation
        # of its lines and, for an array, where its items start; None when not plain
        self.containers: dict[int, tuple[int, int, int, list[int] | None] | None] = {}
        # the steps taken so far, as a trie of path keys: key -> (the state after it, or None
        # when the text is not plain enough there; the next keys; the key itself)
        self.memo: dict[str | int, tuple[_Step | None, dict[Any, Any], str | int]] = {}
        # the root's state once its opening is checked (_NOT_PLAIN: it is not)
        self.start: _Step | None = None

    def _container(self, at: int, obj: Any) -> tuple[int, int, int, list[int] | None] | None:
        t = self.text
        eol = t.find("\n", at)
        if eol < 0 or t[at + 1:eol].strip():
            return None  # content on the opening line
        first = _FIRST_CONTENT.match(t, eol)
        if first is None:
            return None
        n = len(first.group(1))
        end_m = _ends(n).search(t, eol + 1)
        end = end_m.start() if end_m else len(t)
        if type(obj) is dict:
            if t.count("\n" + " " * n + '"', eol, end) != len(obj):
                return None  # keys sharing a line, or repeated
            return (eol, n, end, None)
        starts = [m.start() for m in _items(n).finditer(t, eol, end)]
        if len(starts) != len(obj):
            return None  # items sharing a line
        return (eol, n, end, starts)

    def _where(self, pos: int) -> tuple[int, int]:
        if self.starts is None:
            self.starts = _line_starts(self.text)
        line = bisect.bisect_right(self.starts, pos)
        return (line + 1, pos - (self.starts[line - 1] if line else 0) + 1)

    def locate(self, path: tuple[str | int, ...]) -> tuple[int, tuple[int, int]] | None:
        """(how many keys of ``path`` exist, the (line, column) of the last of them), as
        :func:`positions` would give them; None when the text is not laid out plainly enough
        to be sure. Steps are memoised per path prefix (the findings of a List's item share
        theirs: ``items``, its index, ``spec``...)."""
        state = self.start
        if state is None:
            t = self.text
            at = len(t) - len(t.lstrip())  # the container being entered: where it opens
            if at >= len(t) or t[at] != ("{" if type(self.root) is dict else "["):
                self.start = _NOT_PLAIN
                return None
            state = self.start = (at, self.root, -1, (0, 0))
        elif state is _NOT_PLAIN:
            return None
        node = self.memo
        depth = 0
        for key in path:
            entry = node.get(key)
            if entry is None or type(entry[2]) is not type(key):  # (1 and True share a key)
                step = self._step(state, key)
                if step is _ABSENT:
                    break
                entry = node[key] = (step if type(step) is tuple else None, {}, key)
            if entry[0] is None:
                return None
            state = entry[0]
            node = entry[1]
            depth += 1
        return depth, state[3]

    def _step(self, state: _Step, key: str | int) -> object:
        """The state after following ``key`` from ``state``: _ABSENT when the value has no
        such key or item, None when the text is not plain enough to be sure."""
        at, obj, after, _best = state
        kind = type(obj)
        if kind is dict:
            if type(key) is not str or key not in obj:
                return _ABSENT
        elif kind is list:
            if type(key) is not int or not 0 <= key < len(obj):
                return _ABSENT
        else:
            return _ABSENT
        t = self.text
        if after >= 0:  # entering the value of the last key: "{" or "[" ends its line
            eol = t.find("\n", after)
            rest = t[after:eol if eol >= 0 else len(t)].strip()
            if rest not in ("{", "["):
                return None
            at = t.index(rest, after)
        if at in self.containers:
            plain = self.containers[at]
        else:
            plain = self.containers[at] = self._container(at, obj)
        if plain is None:
            return None
        eol, n, end, starts = plain
        if starts is None:
            assert isinstance(key, str)
            lead = "\n" + " " * n
            for form in (json.dumps(key, ensure_ascii=False), json.dumps(key)):
                found = t.find(lead + form + ":", eol, end)
                if found >= 0:
                    break
            else:
                return None  # written with other escapes
            pos = found + 1 + n
            after = pos + len(form) + 1
        else:
            assert isinstance(key, int)
            pos = starts[key] + 1 + n
            after = pos
        return (at, obj[key], after, self._where(pos))


class _NotANumber(ValueError):
    """A number JSON has no value for: ``NaN``, ``Infinity`` (which Python's reader takes) or
    one past a float's range (``1e400``). Go's reader, behind kubectl, kubeconform and
    conftest, refuses the document."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


def _no_constant(token: str) -> Any:
    raise _NotANumber(token)


def _finite_float(token: str) -> float:
    value = float(token)
    if math.isinf(value):
        raise _NotANumber(token)
    return value


# an escaped UTF-16 surrogate ("\ud800"): Python's reader keeps one that has no pair, which no
# UTF-8 output can hold; Go's reader makes it U+FFFD
_SURROGATE_ESCAPE = re.compile(r"\\[uU][dD][89abAB]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_LONG_NUMBER = re.compile(r"-?[0-9]{4000,}")


def unpaired_surrogates_replaced(text: str) -> str:
    """``text`` with every UTF-16 surrogate (which no UTF-8 output can hold) made U+FFFD, as
    Go's readers do."""
    return _SURROGATE.sub("\ufffd", text)


def _replace_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return unpaired_surrogates_replaced(value)
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_surrogates(v) for v in value]
    return value


def _line_column(text: str, at: int) -> tuple[int, int]:
    """1-based line and column of offset ``at`` (of the number an error names: it is in the
    text, or the error points at the start)."""
    at = max(at, 0)
    return text.count("\n", 0, at) + 1, at - text.rfind("\n", 0, at)


def manifest_documents(path: str, data: bytes, file: str,
                       strict: bool = False) -> list[Document] | None:
    """A manifest file's documents when it is JSON, as kubeconform reads one (and ``socle
    validate``, ``scan`` and ``check`` with it): none for blank text, else the one document of
    a ``.json`` file whose text is JSON; None when the file is not ``.json`` or its text is not
    JSON, to be read as YAML then (YAML holds JSON)."""
    if _formats.name_for_path(path) != name:
        return None
    text = _yaml.decode(data, file)
    if not text.strip():
        return []
    doc = load_document(text, file, strict=strict)
    return [doc] if doc.error is None else None


def load_document(text: str, file: str, strict: bool = False) -> Document:
    doc = Document(obj=None, file=file, index=0, line=1, text=text, format="json",
                   _locate=positions)
    try:
        doc.obj = _yaml.read_within_depth(lambda: json.loads(
            text, object_pairs_hook=_strict_pairs if strict else None,
            parse_constant=_no_constant, parse_float=_finite_float), file)
    except InputError as err:  # (nested too deep)
        doc.error = err
    except _Duplicate as err:
        doc.error = InputError(f"duplicate key {err.key!r}", file, 1)
    except _NotANumber as err:
        doc.error = InputError(f"malformed JSON: {err.token} is not a number JSON can hold "
                               "(kubectl, kubeconform and conftest refuse it)", file,
                               *_line_column(text, text.find(err.token)))
    except json.JSONDecodeError as err:
        doc.error = InputError(f"malformed JSON: {err.msg}", file, err.lineno, err.colno)
    except ValueError:  # Python's limit on the digits of an int (4,300)
        hit = _LONG_NUMBER.search(text)
        doc.error = InputError("malformed JSON: a number with thousands of digits (kubectl, "
                               "kubeconform and conftest cannot read it)", file,
                               *_line_column(text, hit.start() if hit else 0))
    else:
        if _SURROGATE_ESCAPE.search(text):
            doc.obj = _replace_surrogates(doc.obj)
    return doc


def parse(data: bytes, path: str, strict: bool = False) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    return [load_document(text, path, strict)]
