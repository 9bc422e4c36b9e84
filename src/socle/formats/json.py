"""JSON documents: one per file, read with the standard library's C scanner."""

from __future__ import annotations

import json
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


def load_document(text: str, file: str, strict: bool = False) -> Document:
    doc = Document(obj=None, file=file, index=0, line=1, text=text, format="json",
                   _locate=_yaml.positions)
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
