"""dotenv files, read as conftest reads them (subosito/gotenv's strict parser): a flat map.

Each line is ``KEY=value``, ``KEY: value`` or ``export KEY=value``; keys are letters, digits,
``_`` and ``.``; ``#`` starts a comment outside quotes. Single-quoted values are literal.
Double-quoted values turn ``\\n`` into a newline and drop other backslashes. ``$VAR`` and
``${VAR}`` (upper-case names) are replaced, outside single quotes, by a variable defined
earlier in the file; ``\\$`` keeps a literal ``$``. Every value is a string. A line that does
not fit is an error, as in conftest.

One difference: gotenv fills a variable the file does not define from the process
environment. socle never reads its own environment into a policy's input (results would
depend on the machine, and secrets could reach a report); such a variable expands to ``""``,
as it does in conftest on a machine where it is unset.
"""

from __future__ import annotations

import contextlib
import re

from socle.core.document import Document, PositionMap
from socle.core.errors import InputError
from socle.formats import yaml as _yaml

name = "dotenv"
extensions = (".env",)

_S = r"[\t\n\f\r ]"  # Go RE2's \s
_LINE = re.compile(
    rf"\A{_S}*(?:export{_S}+)?([0-9A-Za-z_.]+)(?:{_S}*={_S}*|:{_S}+?)"
    rf"('(?:'|[^'])*'|\"(?:\"|[^\"])*\"|[^#\n]+)?{_S}*(?:{_S}*#.*)?\Z",
    re.DOTALL,
)
_QUOTES = re.compile(r"\A(['\"])(.*)(['\"])\Z", re.DOTALL)
_UNESCAPE = re.compile(r"\\([^$])", re.DOTALL)
_VARIABLE = re.compile(r"(\\)?(\$)(\{?([A-Z0-9_]+)?\}?)")
_NAME = re.compile(r"(\$)(\{?([A-Z0-9_]+)\}?)")


def _line(text: str, env: dict[str, str], lines: dict[str, int], lineno: int,
          file: str) -> None:
    match = _LINE.match(text)
    if match is None:
        stripped = text.strip()
        if not stripped or stripped.startswith("#"):
            return
        if stripped.startswith("export"):
            parts = stripped.split(" ", 1)
            if len(parts) > 1 and parts[1] not in env:
                raise InputError(f"line `{stripped}` has an unset variable", file, lineno)
        raise InputError(f"line `{text}` does not match KEY=value", file, lineno)
    key, value = match.group(1), match.group(2) or ""
    double = value.startswith('"')
    single = value.startswith("'")
    value = _QUOTES.sub(r"\2", value.strip(" "))
    if double:
        value = value.replace("\\n", "\n").replace("\\r", "\r")
        value = _UNESCAPE.sub(r"\1", value)

    def expand(hit: re.Match[str]) -> str:
        found = hit.group(0)
        if found.startswith("\\"):
            return found[1:]
        if single:
            return found
        inner = _NAME.search(found)
        if inner is None:
            return found
        return env.get(inner.group(3), "")

    value = _VARIABLE.sub(expand, value)
    if "=" in value and value not in ("\n", "\r"):
        rows = value.split("\n")
        if len(rows) == 1:
            rows = value.split("\r")
        if len(rows) > 1:
            value = rows[0]
            for row in rows[1:]:
                with contextlib.suppress(InputError):  # gotenv ignores errors here
                    _line(row, env, lines, lineno, file)
    env[key] = value
    lines[key] = lineno


def _read(text: str, file: str) -> tuple[dict[str, str], dict[str, int]]:
    env: dict[str, str] = {}
    lines: dict[str, int] = {}
    for lineno, row in enumerate(text.split("\n"), start=1):
        _line(row.removesuffix("\r"), env, lines, lineno, file)
    return env, lines


def positions(text: str) -> PositionMap:
    return {(key,): (line, 1) for key, line in _read(text, "-")[1].items()}


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    env, _ = _read(text, path)
    return [Document(obj=env, file=path, index=0, line=1, text=text, format=name,
                     _locate=positions)]
