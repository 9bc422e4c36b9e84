"""JSON documents: one per file, read with the standard library's C scanner."""

from __future__ import annotations

import bisect
import json
import re
from typing import Any

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


def positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    """JSON path -> (line, column) of every key and array item, 1-based, as
    :func:`socle.formats.yaml.positions` gives them for JSON text, from one pass over the tokens
    (composing JSON as YAML costs ~50x more). Falls back to the composer on anything odd."""
    try:
        return _json_positions(text)
    except (ValueError, IndexError, json.JSONDecodeError):
        return _yaml.positions(text)


def _json_positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    starts = [m.end() for m in _LINE_BREAK.finditer(text)]  # where each line after the first starts
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


def load_document(text: str, file: str, strict: bool = False) -> Document:
    doc = Document(obj=None, file=file, index=0, line=1, text=text, format="json",
                   _locate=positions)
    try:
        doc.obj = json.loads(text, object_pairs_hook=_strict_pairs if strict else None)
    except _Duplicate as err:
        doc.error = InputError(f"duplicate key {err.key!r}", file, 1)
    except json.JSONDecodeError as err:
        doc.error = InputError(f"malformed JSON: {err.msg}", file, err.lineno, err.colno)
    except RecursionError:
        doc.error = InputError("nesting deeper than Python can read", file, 1)
    else:
        if isinstance(doc.obj, (dict, list)) and _yaml._depth(doc.obj) > _yaml.MAX_DEPTH:
            doc.obj = None
            doc.error = InputError(f"nesting deeper than {_yaml.MAX_DEPTH} levels", file, 1)
    return doc


def parse(data: bytes, path: str, strict: bool = False) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    return [load_document(text, path, strict)]
