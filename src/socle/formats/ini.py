"""INI, read as conftest reads it: go-ini/ini's default rules, then typed values.

The result maps each section name to an object of its keys; keys before the first section
(go-ini's ``DEFAULT`` section) are dropped, as conftest drops them. Every value that Go's
``strconv.ParseFloat`` reads becomes a number, then every value ``strconv.ParseBool`` reads
(``t``, ``F``, ``TRUE`` ...) a boolean; the rest stay strings.

go-ini's default rules, kept here: ``#`` and ``;`` start comments, also after a value (so
``url = http://x/#top`` is ``http://x/``); ``=`` or ``:`` separate a key from its value; a
value in matching quotes loses them; a trailing ``\\`` continues the value on the next line; a
value opened with ``\"\"\"`` or a backtick runs to the matching close, across lines; a later key
or section of the same name replaces (keys) or extends (sections) the earlier one. A line that
is neither a section, a comment nor ``key = value`` is an error, as in conftest.
"""

from __future__ import annotations

import math
import re
from typing import Any

from socle import GO_BOOL
from socle.core.document import Document, PositionMap
from socle.core.errors import InputError
from socle.formats import yaml as _yaml

name = "ini"
extensions = (".ini",)

_DEFAULT = "DEFAULT"
_GO_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
    r"|0[xX](?:[0-9a-fA-F_]+\.?[0-9a-fA-F_]*|\.[0-9a-fA-F_]+)[pP][+-]?[0-9]+)"
)


def _typed(value: str) -> Any:
    """conftest's conversion: a number if ParseFloat reads it, else a bool, else the string."""
    if _GO_FLOAT.fullmatch(value):
        try:
            number = float.fromhex(value) if "x" in value.lower() else float(value)
        except ValueError:
            number = math.nan
        # ParseFloat fails out of range; NaN and Inf would fail conftest's JSON step
        if math.isfinite(number):
            if number.is_integer() and abs(number) < 1e21:
                return int(number)
            return number
    if value in GO_BOOL:
        return GO_BOOL[value]
    return value


def _surrounded(value: str, quote: str) -> bool:
    return (len(value) >= 2 and value[0] == quote and value[-1] == quote
            and value.find(quote, 1) == len(value) - 1)


class _Reader:
    def __init__(self, text: str, file: str) -> None:
        self.lines = text.split("\n")
        self.file = file
        self.index = 0  # next line to read

    def next_line(self) -> str | None:
        if self.index >= len(self.lines):
            return None
        line = self.lines[self.index]
        self.index += 1
        return line

    def error(self, message: str, line: int) -> InputError:
        return InputError(message, self.file, line)


def _key_name(line: str, reader: _Reader, lineno: int) -> tuple[str, int]:
    quote = ""
    if line.startswith('"'):
        quote = '"""' if len(line) > 6 and line.startswith('"""') else '"'
    elif line.startswith("`"):
        quote = "`"
    if quote:
        start = len(quote)
        pos = line.find(quote, start)
        if pos < 0:
            raise reader.error(f"missing closing key quote: {line.strip()}", lineno)
        rest = line[pos + start:]
        sep = min((i for i in (rest.find("="), rest.find(":")) if i >= 0), default=-1)
        if sep < 0:
            raise reader.error(f"key-value delimiter not found: {line.strip()}", lineno)
        return line[start:pos].strip(), pos + sep + start + 1
    sep = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
    if sep < 0:
        raise reader.error(f"key-value delimiter not found: {line.strip()}", lineno)
    return line[:sep].strip(), sep + 1


def _value(raw: str, reader: _Reader, lineno: int) -> str:
    line = raw.lstrip()
    if not line:
        return ""
    quote = '"""' if len(line) > 3 and line.startswith('"""') else ("`" if line[0] == "`" else "")
    if quote:
        start = len(quote)
        body = line[start:]
        pos = body.rfind(quote)
        if pos >= 0:
            return body[:pos]
        value = body + "\n"
        while True:
            nxt = reader.next_line()
            if nxt is None:
                raise reader.error(f"missing closing value quote {quote}", lineno)
            pos = nxt.rfind(quote)
            if pos >= 0:
                return value + nxt[:pos]
            value += nxt + "\n"
    line = line.strip()
    if line.endswith("\\"):
        value = line[:-1]
        while True:
            nxt = reader.next_line()
            if nxt is None:
                return value
            nxt = nxt.strip()
            if not nxt:
                return value
            value += nxt
            if not value.endswith("\\"):
                return value
            value = value[:-1]
    cut = min((i for i in (line.find("#"), line.find(";")) if i >= 0), default=-1)
    if cut >= 0:
        line = line[:cut].strip()
    if _surrounded(line, "'") or _surrounded(line, '"'):
        line = line[1:-1]
    return line


def _read(text: str, file: str) -> tuple[dict[str, dict[str, str]], PositionMap]:
    reader = _Reader(text, file)
    sections: dict[str, dict[str, str]] = {_DEFAULT: {}}
    where: PositionMap = {}
    current = _DEFAULT
    counter = 1
    while True:
        raw = reader.next_line()
        if raw is None:
            break
        lineno = reader.index
        line = raw.lstrip()
        if not line or line[0] in "#;":
            continue
        if line[0] == "[":
            close = line.rfind("]")
            if close < 0:
                raise reader.error(f"unclosed section: {line.strip()}", lineno)
            current = line[1:close]
            if not current:
                raise reader.error("empty section name", lineno)
            sections.setdefault(current, {})
            where.setdefault((current,), (lineno, 1))
            counter = 1
            continue
        key, offset = _key_name(line, reader, lineno)
        if key == "-":
            key = f"#{counter}"
            counter += 1
        if not key:
            raise reader.error("empty key name", lineno)
        sections[current][key] = _value(line[offset:], reader, lineno)
        where[(current, key)] = (lineno, 1)
    del sections[_DEFAULT]
    return sections, where


def positions(text: str) -> PositionMap:
    return _read(text, "-")[1]


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    sections, _ = _read(text, path)
    obj = {section: {k: _typed(v) for k, v in keys.items()} for section, keys in sections.items()}
    return [Document(obj=obj, file=path, index=0, line=1, text=text, format=name,
                     _locate=positions)]
