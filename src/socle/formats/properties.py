"""Java ``.properties`` files, read as conftest reads them (magiconair/properties): a flat map.

The syntax is Java's (``key=value``, ``key: value`` or ``key value``; ``#`` and ``!`` comment
lines; ``\\`` line continuations; ``\\uXXXX`` and other escapes), read by ``javaproperties``.
Values are strings, as written: ``${other.key}`` references are not expanded in the result
(conftest's ``Map()`` returns them raw), but, as in conftest, a reference that never closes
or that refers back to itself is an error.
"""

from __future__ import annotations

import javaproperties

from socle.core.document import Document, PositionMap
from socle.core.errors import InputError
from socle.formats import yaml as _yaml
from socle.formats.json import unpaired_surrogates_replaced

name = "properties"
extensions = (".properties",)

_MAX_DEPTH = 64  # magiconair's maxExpansionDepth


def _check(key: str, value: str, values: dict[str, str], chain: list[str]) -> str | None:
    """The error magiconair's expansion reports for ``value``, if any."""
    if len(chain) > _MAX_DEPTH:
        return "expansion too deep"
    rest = value
    while True:
        start = rest.find("${")
        if start < 0:
            return None
        end = rest.find("}", start + 2)
        if end < 0:
            return f"malformed expression in {key}={value}"
        ref = rest[start + 2:end]
        if ref in chain:
            return "circular reference: " + " -> ".join([*chain, ref])
        problem = _check(key, values.get(ref, ""), values, [*chain, ref])
        if problem:
            return problem
        rest = rest[end + 1:]


# javaproperties takes time quadratic in the lines one entry is continued over (20,000: 8 s);
# no real file comes near this many
_MOST_CONTINUED = 2000


def _check_continuations(text: str, file: str) -> None:
    """An input error when one entry is continued (a line ending in a backslash) over more
    than _MOST_CONTINUED lines."""
    if text.count("\\\n") + text.count("\\\r") <= _MOST_CONTINUED:
        return
    run = 0
    for number, raw in enumerate(text.split("\n"), 1):
        stripped = raw.rstrip("\r")
        trailing = len(stripped) - len(stripped.rstrip("\\"))
        run = run + 1 if trailing % 2 else 0
        if run > _MOST_CONTINUED:
            raise InputError(f"malformed properties file: an entry continued over more than "
                             f"{_MOST_CONTINUED:,} lines; refusing to read it", file,
                             number - run + 1)


def _read(text: str, file: str) -> tuple[dict[str, str], dict[str, int]]:
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    line = 1
    _check_continuations(text, file)
    try:
        for element in javaproperties.parse(text):
            if isinstance(element, javaproperties.KeyValue):
                if not element.key:  # (Java takes it; magiconair, so conftest, refuses it)
                    raise InputError("malformed properties file: an entry without a key",
                                     file, line)
                # a "\ud800" escape: Java keeps a UTF-16 unit, conftest's library (and UTF-8
                # output) cannot: each one is U+FFFD there, a pair too
                key = unpaired_surrogates_replaced(element.key)
                value = unpaired_surrogates_replaced(element.value)
                values[key] = value
                lines[key] = line
            line += element.source.count("\n")
    except javaproperties.InvalidUEscapeError as err:
        raise InputError(f"malformed properties file: {err}", file, line) from None
    return values, lines


def positions(text: str) -> PositionMap:
    return {(key,): (line, 1) for key, line in _read(text, "-")[1].items()}


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    values, lines = _read(text, path)
    for key, value in values.items():
        problem = _check(key, value, values, [key])
        if problem:
            raise InputError(f"malformed properties file: {problem}", path, lines[key])
    return [Document(obj=values, file=path, index=0, line=1, text=text, format=name,
                     _locate=positions)]
