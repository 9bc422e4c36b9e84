"""JSON with comments, read as conftest reads it (muzzammil.xyz/jsonc): ``//`` and ``/* */``
comments and trailing commas are dropped, then the text is read as JSON.

Comments and dropped commas are blanked in place (newlines kept), so errors and finding lines
point at the original text.
"""

from __future__ import annotations

from socle.core.document import Document
from socle.core.errors import InputError
from socle.formats import json as _json
from socle.formats import yaml as _yaml

name = "jsonc"
extensions = (".jsonc",)


def _blank(chunk: str) -> str:
    return "".join(c if c == "\n" else " " for c in chunk)


def strip(text: str, file: str = "-") -> str:
    """``text`` with comments and trailing commas blanked out, same length and lines."""
    out: list[str] = []
    i, n = 0, len(text)
    pending_comma = -1  # index in ``out`` of a comma that may be trailing
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i:j + 1])
            pending_comma = -1
            i = j + 1
            continue
        if c == "/" and text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(_blank(text[i:j]))
            i = j
            continue
        if c == "/" and text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                line = text.count("\n", 0, i) + 1
                raise InputError("malformed JSONC: unterminated /* comment", file, line)
            out.append(_blank(text[i:j + 2]))
            i = j + 2
            continue
        if c in "}]" and pending_comma >= 0:
            out[pending_comma] = " "
        if c == ",":
            pending_comma = len(out)
        elif not c.isspace():
            pending_comma = -1
        out.append(c)
        i += 1
    return "".join(out)


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    doc = _json.load_document(strip(text, path), path)
    if doc.error is not None:
        raise doc.error
    doc.format = name
    return [doc]
