"""Dockerfiles, read as conftest reads them: BuildKit's own parser, then conftest's shape.

The instructions are parsed by the ``dockerfile`` package, which wraps moby/buildkit's Go
parser, so line continuations, the ``escape`` directive, JSON forms and heredocs behave exactly
as in ``docker build`` and in conftest. As in conftest, the parsed file is a list holding one
list of commands (``conftest parse`` prints ``[[...]]``); the runner checks each element of a
top-level list, so the input a policy sees is the list of commands, one object per
instruction (``input[i].Cmd == "from"``)::

    {"Cmd": "copy", "SubCmd": "", "JSON": false, "Flags": ["--from=build"],
     "Value": ["/src", "/dst"], "Stage": 1}

``Cmd`` is lower case; ``SubCmd`` is the instruction under ``ONBUILD`` (as written), whose
arguments then fill ``Value``; ``Flags`` is ``null`` for an instruction with no arguments;
``Value`` is ``null`` when empty (``ENV`` and ``LABEL`` give key, value, separator triples:
``"="``, or ``""`` in the legacy ``KEY value`` form); ``Stage`` counts ``FROM`` lines from 0.
Comment lines before an instruction come first as ``{"Cmd": "comment", "Value": ["text"], ...}``
commands, as in conftest; parser directives at the top (``# syntax=``) are not comments.
Errors BuildKit's instruction checks would raise (unknown instructions and flags, wrong
argument counts) are reported with their line, as conftest reports them.
"""

from __future__ import annotations

import json
import re
from typing import Any

import dockerfile as _buildkit  # type: ignore[import-not-found]  # a Go extension, no stubs

from socle.core.document import Document, PositionMap
from socle.core.errors import InputError
from socle.formats import yaml as _yaml

name = "dockerfile"
extensions = (".dockerfile",)

# Error lines are found by re-parsing growing prefixes; past this many lines, line 1.
_LOCATE_LIMIT = 4000

_FLAGS: dict[str, frozenset[str]] = {
    "add": frozenset({"chown", "chmod", "link", "keep-git-dir", "checksum", "exclude",
                      "unpack"}),
    "copy": frozenset({"chown", "from", "chmod", "link", "parents", "exclude"}),
    "from": frozenset({"platform"}),
    "run": frozenset({"mount", "network", "security", "device"}),
    "healthcheck": frozenset({"interval", "timeout", "start-period", "start-interval",
                              "retries"}),
}
_KNOWN = frozenset({"add", "arg", "cmd", "copy", "entrypoint", "env", "expose", "from",
                    "healthcheck", "label", "maintainer", "onbuild", "run", "shell",
                    "stopsignal", "user", "volume", "workdir"})
_STAGE_NAME = re.compile(r"[a-z][a-z0-9-_.]*")


def _check_flags(cmd: str, flags: tuple[str, ...]) -> str | None:
    allowed = _FLAGS.get(cmd, frozenset())
    for flag in flags:
        if not flag.startswith("--"):
            return f"arg {flag!r} must start with '--'"
        flag_name = flag[2:].split("=", 1)[0]
        if flag_name not in allowed:
            return f"unknown flag: {flag_name}"
    return None


def _check(cmd: str, sub: str | None, args: list[str], flags: tuple[str, ...],
           is_json: bool) -> str | None:
    """The error BuildKit's ``instructions.ParseInstruction`` gives, if any."""
    upper = cmd.upper()
    if cmd not in _KNOWN:
        return f"unknown instruction: {upper}"
    if cmd == "onbuild":
        trigger = (sub or "").upper()
        if not trigger:
            return "ONBUILD requires at least one argument"
        if trigger == "ONBUILD":
            return "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"
        if trigger in ("MAINTAINER", "FROM"):
            return f"{trigger} isn't allowed as an ONBUILD trigger"
        return None
    if cmd != "healthcheck" or not args or args[0].upper() != "NONE":
        problem = _check_flags(cmd, flags)
        if problem:
            return problem
    if cmd in ("env", "label"):
        if not args:
            return f"{upper} requires at least one argument"
        if any(not key for key in args[0::2]):
            return f"{upper} names can not be blank"
    elif cmd in ("maintainer", "workdir", "user", "stopsignal"):
        if len(args) != 1:
            return f"{upper} requires exactly one argument"
    elif cmd in ("add", "copy"):
        if len(args) < 2:
            return (f"{upper} requires at least two arguments, but only one was provided. "
                    "Destination could not be determined")
    elif cmd == "from":
        if len(args) == 3 and args[1].lower() == "as":
            if not _STAGE_NAME.fullmatch(args[2].lower()):
                return (f"invalid name for build stage: {args[2]!r}, name can't start with a "
                        "number or contain symbols")
        elif len(args) != 1:
            return "FROM requires either one or three arguments"
    elif cmd in ("expose", "arg", "volume", "healthcheck", "shell"):
        if not args:
            return f"{upper} requires at least one argument"
        if cmd == "arg" and any(a.startswith("=") for a in args):
            return "ARG names can not be blank"
        if cmd == "volume" and any(not a.strip() for a in args):
            return "VOLUME specified can not be an empty string"
        if cmd == "shell" and not is_json:
            return "SHELL requires the arguments to be in JSON form"
        if cmd == "healthcheck":
            kind = args[0].upper()
            if kind == "NONE":
                return "HEALTHCHECK NONE takes no arguments" if len(args) > 1 else None
            if kind != "CMD":
                return f'Unknown type "{kind}" in HEALTHCHECK (try CMD)'
            if len(args) < 2:
                return "Missing command after HEALTHCHECK CMD"
            return _check_healthcheck(flags)
    return None


# Go's time.ParseDuration units, in nanoseconds
_UNITS = {"ns": 1, "us": 1_000, "\u00b5s": 1_000, "\u03bcs": 1_000, "ms": 1_000_000,
          "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
_DURATION_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]*)")


def _go_quoted(text: str) -> str:
    """``text`` as Go's %q writes it in the errors quoted here (ASCII text)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _go_duration(text: str) -> int:
    """Nanoseconds, as Go's time.ParseDuration reads ``text``; ValueError with its message."""
    quoted = _go_quoted(text)
    rest = text
    negative = rest[:1] == "-"
    if rest[:1] in "+-" and rest:
        rest = rest[1:]
    if rest == "0":
        return 0
    if not rest:
        raise ValueError(f"time: invalid duration {quoted}")
    total = 0.0
    while rest:
        m = _DURATION_PART.match(rest)
        assert m is not None  # (every part is optional)
        whole, fraction, unit = m.group(1), m.group(2), m.group(3)
        if not whole and not fraction:
            raise ValueError(f"time: invalid duration {quoted}")
        if not unit:
            raise ValueError(f"time: missing unit in duration {quoted}")
        if unit not in _UNITS:
            raise ValueError(f"time: unknown unit {_go_quoted(unit)} in duration {quoted}")
        total += float(f"{whole or 0}.{fraction or 0}") * _UNITS[unit]
        rest = rest[m.end():]
    if total > 2**63 - 1:
        raise ValueError(f"time: invalid duration {quoted}")
    return int(-total if negative else total)


def _check_healthcheck(flags: tuple[str, ...]) -> str | None:
    """BuildKit's checks of HEALTHCHECK CMD's flag values (durations, retries)."""
    names = [f[2:].split("=", 1)[0] for f in flags]
    for i, name in enumerate(names):
        if name in names[:i]:
            return f"duplicate flag specified: --{name}"
    given = dict(f[2:].split("=", 1) for f in flags if "=" in f)
    for name in ("interval", "timeout", "start-period", "start-interval"):
        value = given.get(name, "")
        if not value:
            continue
        try:
            duration = _go_duration(value)
        except ValueError as err:
            return str(err)
        if duration != 0 and duration < 1_000_000:
            return f'Interval "{name}" cannot be less than 1ms'
    retries = given.get("retries", "")
    if retries:
        if not re.fullmatch(r"[+-]?[0-9]+", retries):
            return f'strconv.ParseInt: parsing "{retries}": invalid syntax'
        count = int(retries)
        if not -2**31 <= count < 2**31:
            return f'strconv.ParseInt: parsing "{retries}": value out of range'
        if count < 0:
            return f"--retries cannot be negative ({count})"
    return None


def _trailing_after_json(node: Any) -> str | None:
    """The shell form of an instruction whose JSON array has text after it (``CMD ["a"] b``):
    BuildKit reads the whole as a shell command then; the older parser socle binds took the
    array. None when the JSON form stands."""
    words = 2 if node.sub_cmd else 1  # (ONBUILD CMD [...]: after the trigger's name)
    parts = node.original.strip().split(None, words)
    if len(parts) <= words:
        return None
    rest = parts[words]
    for flag in node.flags:
        if not rest.startswith(flag):
            return None  # (a flag written otherwise than it was read: leave the node)
        rest = rest[len(flag):].lstrip()
    try:
        _, end = _JSON_ARRAY.raw_decode(rest)
    except ValueError:
        return None
    return rest if rest[end:].strip() else None


_JSON_ARRAY = json.JSONDecoder()


def _error_line(text: str, message: str) -> int:
    """The line BuildKit stops at: the shortest prefix of lines that fails the same way."""
    lines = text.split("\n")
    if message == "file with no instructions" or len(lines) > _LOCATE_LIMIT:
        return 1
    for count in range(1, len(lines) + 1):
        try:
            _buildkit.parse_string("\n".join(lines[:count]))
        except _buildkit.GoParseError as err:
            if str(err) == message:
                return count
    return 1


def _comment(line: str) -> str | None:
    """BuildKit's comment text for a raw line, or None when the line is no comment."""
    if not line.lstrip().startswith("#"):
        return None
    return line[1:].strip()


# BuildKit's parser directives: only at the very top, before any instruction or comment
_DIRECTIVE = re.compile(r"^#\s*(syntax|escape|check)\s*=", re.IGNORECASE)


def _key_value_triples(value: list[str], original: str) -> list[str]:
    """BuildKit gives ENV and LABEL as key, value, separator nodes: "=" for ``K=V``, "" for
    the legacy ``K V`` form; conftest shows all three."""
    args = original.strip().split(None, 1)
    legacy = len(args) > 1 and "=" not in args[1].split(None, 1)[0]
    sep = "" if legacy else "="
    out: list[str] = []
    for i in range(0, len(value) - 1, 2):
        out.extend([value[i], value[i + 1], sep])
    return out


def _convert(text: str, file: str) -> tuple[list[dict[str, Any]], PositionMap]:
    try:
        parsed = _buildkit.parse_string(text)
    except _buildkit.GoParseError as err:
        raise InputError(str(err), file, _error_line(text, str(err))) from None
    lines = text.split("\n")
    commands: list[dict[str, Any]] = []
    where: PositionMap = {}
    stage = -1
    previous_end = 0
    for node in parsed:
        cmd = node.cmd.lower()
        if cmd == "from":
            stage += 1
        current = max(stage, 0)
        for number in range(previous_end + 1, node.start_line):
            comment = _comment(lines[number - 1])
            if comment is not None and previous_end == 0 and not commands and \
                    _DIRECTIVE.match(lines[number - 1]):
                continue  # a parser directive (# syntax=, # escape=, # check=), not a comment
            if comment is not None:
                where[(0, len(commands))] = (number, 1)
                commands.append({"Cmd": "comment", "SubCmd": "", "JSON": False,
                                 "Flags": None, "Value": [comment], "Stage": current})
        previous_end = node.end_line
        has_args = len(node.original.strip().split(None, 1)) > 1
        is_json = bool(node.json)
        shell = _trailing_after_json(node) if is_json else None
        if shell is not None:
            is_json = False
        args = list(node.value) if shell is None else [shell]
        if node.sub_cmd:
            args = [node.sub_cmd, *args]
        problem = _check(cmd, node.sub_cmd, args if cmd != "onbuild" else args[1:],
                         node.flags, is_json)
        if problem:
            raise InputError(problem, file, node.start_line)
        value = list(node.value) if shell is None else [shell]
        if cmd in ("env", "label") and value:
            value = _key_value_triples(value, node.original)
        where[(0, len(commands))] = (node.start_line, 1)
        commands.append({
            "Cmd": cmd,
            "SubCmd": node.sub_cmd or "",
            "JSON": is_json,
            "Flags": (list(node.flags) if cmd != "onbuild" else []) if has_args else None,
            "Value": value or None,
            "Stage": current,
        })
    return commands, where


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    commands, where = _convert(text, path)
    return [Document(obj=[commands], file=path, index=0, line=1, text=text, format=name,
                     _locate=lambda _text: where)]
