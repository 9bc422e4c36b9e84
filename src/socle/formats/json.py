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


_TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|[{}\[\]:,]|[^\s{}\[\]:,"]+')


def positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    """JSON path -> (line, column) of every key and array item, 1-based, as
    :func:`socle.formats.yaml.positions` gives them for JSON text, from one pass over the tokens
    (composing JSON as YAML costs ~50x more). Falls back to the composer on anything odd."""
    try:
        return _json_positions(text)
    except (ValueError, IndexError, json.JSONDecodeError):
        return _yaml.positions(text)


def _json_positions(text: str) -> dict[tuple[str | int, ...], tuple[int, int]]:
    newlines = [m.start() for m in re.finditer("\n", text)]
    out: dict[tuple[str | int, ...], tuple[int, int]] = {}
    # one frame per open container: [path, is_object, next array index or pending key]
    stack: list[list[Any]] = []
    expect_key = False

    def where(pos: int) -> tuple[int, int]:
        line = bisect.bisect_left(newlines, pos)
        return (line + 1, pos - (newlines[line - 1] + 1 if line else 0) + 1)

    def value_starts(pos: int) -> tuple[str | int, ...] | None:
        """The path of a value starting at ``pos`` (an array item is recorded here)."""
        if not stack:
            return ()
        frame = stack[-1]
        if frame[1]:  # in an object: the key was recorded; the value lives under it
            key = frame[2]
            if key is None:
                raise ValueError("value without a key")
            frame[2] = None
            return (*frame[0], key)
        i = frame[2]
        frame[2] = i + 1
        path = (*frame[0], i)
        out.setdefault(path, where(pos))
        return path

    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        c = tok[0]
        if c == "{" or c == "[":
            path = value_starts(m.start())
            assert path is not None
            stack.append([path, c == "{", None if c == "{" else 0])
            expect_key = c == "{"
        elif c == "}" or c == "]":
            stack.pop()
            expect_key = False
        elif c == ",":
            expect_key = bool(stack) and stack[-1][1]
        elif c == ":":
            expect_key = False
        elif c == '"' and expect_key:
            raw = m.group(1)
            key = json.loads(tok) if "\\" in raw else raw
            frame = stack[-1]
            frame[2] = key
            out.setdefault((*frame[0], key), where(m.start()))
            expect_key = False
        else:  # a string, number, true, false or null value
            value_starts(m.start())
    if stack:
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
