"""dotenv files, read as conftest v0.71 reads them (subosito/gotenv v1.6's strict parser): a
flat map.

Lines end at LF, CR or CRLF and are read trimmed; an empty line or one starting with ``#`` is
skipped. An entry is ``KEY=value``, ``KEY: value`` or ``export KEY=value``; keys are letters,
digits, ``_`` and ``.``; ``#`` starts a comment outside quotes. A value that opens a quote it
does not close on its line goes on over the next lines until a line holds that quote
unescaped (a file that ends first is an error, "missing quotes"). A value quoted at both ends
loses its quotes: single-quoted values are literal; double-quoted ones turn ``\\n`` and
``\\r`` into line breaks and drop other backslashes. ``$VAR`` and ``${VAR}`` (upper-case
names) are replaced, outside single quotes, by a variable defined earlier in the file; ``\\$``
keeps a literal ``$``. Every value is a string. A line that does not fit is an error, as in
conftest.

One difference: gotenv fills a variable the file does not define from the process
environment. socle never reads its own environment into a policy's input (results would
depend on the machine, and secrets could reach a report); such a variable expands to ``""``,
as it does in conftest on a machine where it is unset.
"""

from __future__ import annotations

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
_UNESCAPE = re.compile(r"\\([^$])", re.DOTALL)
_VARIABLE = re.compile(r"(\\)?(\$)(\{?([A-Z0-9_]+)?\}?)")
_NAME = re.compile(r"(\$)(\{?([A-Z0-9_]+)\}?)")


# what Go's strings.TrimSpace removes (unicode.IsSpace; Python's str.strip also takes
# \x1c-\x1f)
_GO_SPACE = " \t\n\v\f\r\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007" \
            "\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_BREAK = re.compile(r"\r\n|\r|\n")


def _shown(text: str) -> str:
    """A line as an error message may quote it: on one line, control characters escaped."""
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _entry(text: str, env: dict[str, str], lines: dict[str, int], lineno: int,
           file: str) -> None:
    """One entry (a line, or the lines of a quoted value that spans several)."""
    match = _LINE.match(text)
    if match is None:
        stripped = text.strip(_GO_SPACE)
        if not stripped or stripped.startswith("#"):
            return
        if stripped.startswith("export"):
            parts = stripped.split(" ", 1)
            if len(parts) > 1 and parts[1] not in env:
                raise InputError(f"line `{_shown(stripped)}` has an unset variable", file,
                                 lineno)
        raise InputError(f"line `{_shown(text)}` does not match KEY=value", file, lineno)
    key = match.group(1).strip(_GO_SPACE)
    value = (match.group(2) or "").strip(_GO_SPACE)
    double = single = False
    if len(value) >= 2:
        double = value[0] == '"' and value[-1] == '"'
        single = value[0] == "'" and value[-1] == "'"
        if double or single:
            value = value[1:-1]
    if double:
        value = value.replace("\\n", "\n").replace("\\r", "\r")
        value = _UNESCAPE.sub(r"\1", value)

    def expand(hit: re.Match[str]) -> str:
        found = hit.group(0)
        if found.startswith("\\"):
            return found[1:]
        inner = _NAME.search(found)
        if inner is None:
            return found
        return env.get(inner.group(3), "")

    if not single:
        value = _VARIABLE.sub(expand, value)
    env[key] = value
    lines[key] = lineno


def _opens_quote(line: str) -> str | None:
    """The quote a trimmed line's value opens and does not close on the line, if any."""
    at = line.find("=")
    if at < 0:
        at = line.find(":")
    if not 0 < at < len(line) - 1:
        return None
    value = line[at + 1:].strip(_GO_SPACE)
    if not value or value[0] not in "\"'":
        return None
    quote = value[0]
    # gotenv's test, on bytes as gotenv does it: the last quote in the rest of the value
    # trimmed, and the byte of the value at that offset (the one before the quote only when
    # nothing was trimmed) not a backslash
    last = value[1:].strip(_GO_SPACE).encode("utf-8", "surrogatepass").rfind(quote.encode())
    if last >= 0 and value.encode("utf-8", "surrogatepass")[last:last + 1] != b"\\":
        return None
    return quote


def _read(text: str, file: str) -> tuple[dict[str, str], dict[str, int]]:
    env: dict[str, str] = {}
    lines: dict[str, int] = {}
    rows = _BREAK.split(text)
    i = 0
    while i < len(rows):
        lineno = i + 1
        line = rows[i].strip(_GO_SPACE)
        i += 1
        if not line or line.startswith("#"):
            continue
        quote = _opens_quote(line)
        while quote is not None and i < len(rows):
            row = rows[i]
            i += 1
            line += "\n" + row
            at = row.rfind(quote)
            if at > 0 and row[at - 1] == "\\":
                continue  # (an escaped quote: the value goes on)
            if at >= 0:
                quote = None
        if quote is not None:
            raise InputError("missing quotes: a quoted value is not closed before the end of "
                             "the file", file, lineno)
        _entry(line, env, lines, lineno, file)
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
