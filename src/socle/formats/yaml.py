"""YAML as Kubernetes reads it: fast where it is safe, exact everywhere.

Kubernetes (and kubeconform) read YAML with go-yaml v2 through sigs.k8s.io/yaml: YAML 1.1
scalars (``yes``/``on``/``y`` are booleans, ``0x1F`` and ``017`` are integers, timestamps stay
strings), then convert to JSON (non-string keys become strings).

Two loaders give the same objects:

* the **reference** loader: PyYAML's C parser with resolvers and constructors rewritten to type
  every plain scalar as go-yaml v2 does;
* the **fast** path: rapidyaml parses the document and emits JSON, which orjson reads.
  rapidyaml types plain scalars the YAML 1.2 way, so a document goes to the fast path only when
  a conservative scan finds no plain scalar whose type differs between the two (``yes``,
  ``0x1F``, ``~``, ``True`` ...), no tag or directive, no anchor or alias rapidyaml cannot be
  trusted to resolve as go-yaml does, and the emitted JSON loads. Anything else is read by the
  reference loader. ``tests/formats/test_yaml_differential.py``
  proves that both agree on every scalar form.

A file is split into documents on ``---``/``...`` marker lines (which end any scalar in YAML),
so each document knows its first line, a bad document does not hide the others, and a file of
any size is read one document at a time.
"""

from __future__ import annotations

import codecs
import math
import os
import re
import struct
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import orjson

from socle.core.document import Document, PositionMap
from socle.core.errors import InputError

# A document over this size is refused (the Kubernetes API itself refuses objects over 3 MiB).
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
# Refuse alias expansion beyond this many nodes (billion laughs), or this many times the
# number of nodes actually written.
MAX_EXPANDED_NODES = 1_000_000
MAX_ALIAS_RATIO = 100
# Deeper documents are refused rather than risk the stack of a native validator.
MAX_DEPTH = 512

# --- go-yaml v2 scalar semantics -----------------------------------------------------------

_BOOL_TRUE = frozenset(["y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"])
_BOOL_FALSE = frozenset(
    ["n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"])
_NULLS = frozenset(["~", "null", "Null", "NULL", ""])
_INF = {".inf": math.inf, ".Inf": math.inf, ".INF": math.inf, "+.inf": math.inf,
        "+.Inf": math.inf, "+.INF": math.inf, "-.inf": -math.inf, "-.Inf": -math.inf,
        "-.INF": -math.inf}
_NAN = frozenset([".nan", ".NaN", ".NAN"])
# go-yaml v2's table of words (its resolveMap): looked up before anything else
_WORD_VALUES: dict[str, Any] = {
    **dict.fromkeys(_BOOL_TRUE, True), **dict.fromkeys(_BOOL_FALSE, False),
    **dict.fromkeys(_NULLS, None), **_INF, **dict.fromkeys(_NAN, math.nan)}
_DIGITS = frozenset("0123456789")
# go-yaml's yamlStyleFloat, applied after underscores are removed
_GO_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
# strconv.ParseFloat on a scalar starting with "." (underscores only between digits)
_GO_DOT_FLOAT = re.compile(r"\.[0-9]+(?:_[0-9]+)*(?:[eE][-+]?[0-9]+(?:_[0-9]+)*)?\Z")
_BASE_DIGITS = {2: re.compile(r"[01]+\Z"), 8: re.compile(r"[0-7]*\Z"),
                10: re.compile(r"[0-9]+\Z"), 16: re.compile(r"[0-9a-fA-F]+\Z")}
_INT64_MIN, _INT64_MAX, _UINT64_MAX = -(2**63), 2**63 - 1, 2**64 - 1
_UINT64_DIGITS = {2: 64, 8: 22, 10: 20, 16: 16}  # the most a uint64 is written with


def _parse_uint(text: str, base: int) -> int | None:
    """Go's strconv.ParseUint(text, base, 64) on text without underscores (no sign allowed)."""
    if not text:
        return None
    if base == 0:
        base = 10
        if text[0] == "0":
            prefix = text[1:2].lower()
            if len(text) >= 3 and prefix in ("b", "o", "x"):
                base = {"b": 2, "o": 8, "x": 16}[prefix]
                text = text[2:]
            else:
                base, text = 8, text[1:]
    if not _BASE_DIGITS[base].match(text):
        return None
    if len(text.lstrip("0")) > _UINT64_DIGITS[base]:
        return None  # (past uint64: and int() of thousands of digits is refused, or slow)
    value = int(text, base) if text else 0
    return value if value <= _UINT64_MAX else None


def _parse_int(text: str, base: int) -> int | None:
    """Go's strconv.ParseInt(text, base, 64): an optional sign, then ParseUint's digits."""
    negative = text[:1] == "-"
    body = text[1:] if text[:1] in ("+", "-") else text
    value = _parse_uint(body, base)
    if value is None:
        return None
    value = -value if negative else value
    return value if _INT64_MIN <= value <= _INT64_MAX else None


def _finite(text: str) -> float | None:
    """Go's ParseFloat refuses (ErrRange) what rounds to infinity; go-yaml keeps it a string."""
    value = float(text)
    return value if math.isfinite(value) else None


def resolve_plain(text: str) -> Any:
    """The value go-yaml v2 gives an untagged plain scalar decoded into interface{}.

    Words (``yes``, ``~``, ``.inf`` ...) come from a fixed table; a scalar starting with ``.``
    is tried as a float; one starting with a sign or a digit has its underscores removed and is
    tried as strconv.ParseInt(s, 0, 64) (``0x``, ``0o``, ``0b``, leading-``0`` octal), then
    ParseUint, then as a float matching go-yaml's float pattern (a float that overflows stays a
    string), then as go-yaml's ``0b`` fallback. Timestamps stay strings. Anything else is a
    string.
    """
    if text in _WORD_VALUES:
        return _WORD_VALUES[text]
    first = text[:1]
    if first == ".":
        if _GO_DOT_FLOAT.match(text):
            as_float = _finite(text.replace("_", ""))
            if as_float is not None:
                return as_float
        return text
    if first in _DIGITS or first == "+" or first == "-":
        plain = text.replace("_", "")
        as_int = _parse_int(plain, 0)
        if as_int is None:
            as_int = _parse_uint(plain, 0)
        if as_int is not None:
            return as_int
        if _GO_FLOAT.match(plain):
            as_float = _finite(plain)
            if as_float is not None:
                return as_float
        if plain.startswith("0b"):
            as_int = _parse_int(plain[2:], 2)
            if as_int is None:
                as_int = _parse_uint(plain[2:], 2)
            if as_int is not None:
                return as_int
        elif plain.startswith("-0b"):
            as_int = _parse_int("-" + plain[3:], 2)
            if as_int is not None:
                return as_int
    return text


# go-yaml's parseTimestamp formats ("2006-1-2T15:4:5.999999999Z07:00", its lower-case "t"
# variant, "2006-1-2 15:4:5.999999999" and "2006-1-2"); only an explicit !!timestamp tag
# needs it, since a plain timestamp stays a string either way.
_GO_TIMESTAMP = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"(?:[Tt][0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?(?:Z|[-+][0-9]{2}:[0-9]{2})"
    r"| [0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]+)?)?\Z")


def _format_float32(value: float) -> str:
    """Go's strconv.FormatFloat(v, 'g', -1, 32), as sigs.k8s.io/yaml spells float keys."""
    if math.isnan(value):
        return ".nan"
    try:
        single = struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        single = math.inf if value > 0 else -math.inf
    if math.isinf(single):
        return ".inf" if single > 0 else "-.inf"
    if single == 0:
        return "-0" if math.copysign(1.0, single) < 0 else "0"
    for precision in range(9):  # the shortest digits that read back as the same float32
        text = f"{single:.{precision}e}"
        if struct.unpack("<f", struct.pack("<f", float(text)))[0] == single:
            break
    mantissa, _, exp_text = text.partition("e")
    exponent = int(exp_text)
    sign = "-" if mantissa.startswith("-") else ""
    digits = mantissa.lstrip("-").replace(".", "").rstrip("0") or "0"
    if exponent < -4 or exponent >= 6:  # %e with at least two exponent digits
        head = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{head}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    if exponent < 0:
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    whole = digits[: exponent + 1].ljust(exponent + 1, "0")
    rest = digits[exponent + 1:]
    return f"{sign}{whole}.{rest}" if rest else f"{sign}{whole}"


class DuplicateKeyError(InputError):
    """A key repeated in one mapping (rejected in strict mode, as kubeconform -strict does)."""


# --- guards against hostile input ------------------------------------------------------------


def too_deep(file: str, line: int = 1) -> InputError:
    """The error for text nested deeper than MAX_DEPTH levels (or than Python's recursion can
    follow): one message whichever reader found it."""
    return InputError(f"nesting deeper than {MAX_DEPTH} levels; refusing to read it", file, line)


def read_within_depth(read: Callable[[], Any], file: str) -> Any:
    """What ``read()`` returns, for the readers of other formats: an input error when it
    nests deeper than MAX_DEPTH levels, or deeper than Python's recursion could follow."""
    try:
        value = read()
    except RecursionError:
        raise too_deep(file) from None
    if _depth(value) > MAX_DEPTH:
        raise too_deep(file)
    return value


def _depth(obj: Any, limit: int = MAX_DEPTH) -> int:
    """Nesting depth of a JSON-like value, stopping at ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(obj, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values() if isinstance(v, (dict, list)))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value if isinstance(v, (dict, list)))
    return deepest


# --- the fast path -----------------------------------------------------------------------------

# The gate. A document goes to rapidyaml only when nothing in it could make go-yaml v2 and
# rapidyaml read it differently: structure is checked on the YAML (anchors, tags, merge keys,
# directives, odd line breaks, reserved indicators, colons in flow), typing on the JSON that
# rapidyaml writes (see _json_risky).
# YAML 1.1 line breaks (NEL, LS, PS), which rapidyaml reads as text, and escaped UTF-16
# surrogates, which it writes out as broken UTF-8
_ODD_TEXT = re.compile(r"[\x85\u2028\u2029]|\\(?:u|U0000)[dD][89a-fA-F]")
# In flow collections rapidyaml, libyaml and go-yaml disagree on a ":" that starts a plain
# scalar ("{a: :0}") or ends one ("[a:]", "{a: 0:}")
_FLOW_COLON_HINTS = (":,", ":]", ":}", " :", "[:", "{:", ",:", "\t:", "\n:")
_FLOW_COLON = re.compile(r"[\s\[{,]:[^\s\[\]{},]|:[,\]}]")
# "@" and "`" are reserved: they cannot start a plain scalar (rapidyaml reads "a: @x" anyway)
_BEFORE_RESERVED = frozenset(" \t\r\n\f\v[]{},:")
# Anchors, aliases and tags (where an indicator starts a node: after "key: ", "- ", "? ", a flow
# "[", "{" or ",", or first on a line), merge keys and directives: left to the reference loader.
_NODE_START = frozenset(":-?[{,\n\r")


def _previous(text: str, at: int) -> int:
    """The offset of the last character before ``at`` that is not a space or tab (-1: none)."""
    i = at - 1
    while i >= 0 and text[i] in " \t":
        i -= 1
    return i


def _starts_node(text: str, at: int) -> bool:
    i = _previous(text, at)
    if i < 0:
        return True
    c = text[i]
    if c in ":-?":  # block indicators need a space after them
        return i + 1 < at
    return c in _NODE_START


# The typing check, on the values rapidyaml's JSON decodes to rather than on the YAML: a plain
# scalar that go-yaml types as a bool, null or number but rapidyaml writes as a JSON string
# ("yes", "~", "0x1F", "1_000", ".inf") decodes to a string whose go-yaml reading is not a
# string. Only strings that start like such a scalar are looked at, so the check costs little;
# a quoted "yes" in the YAML is indistinguishable here and merely takes the reference loader.
# words go-yaml reads as bools or null that rapidyaml writes as strings (it writes true, false
# and null itself)
_TYPED_WORDS = (_BOOL_TRUE | _BOOL_FALSE | _NULLS) - {"true", "false", "null", ""}
# keys go-yaml reads as null (plain "~:", "null:" or an empty key), which Kubernetes refuses
_RISKY_KEYS = _TYPED_WORDS | {"", "null"}
_NUMERIC_START = frozenset("-+.0123456789")
# a number go-yaml reads ends with a digit, a hex digit, "_", the "f"/"n" of .inf/.nan or a
# "." ("10." is a float)
_NUMBER_ENDS = frozenset("0123456789abcdefABCDEF_nN.")
# what rapidyaml writes as a JSON number when it is plain (so as a string it was quoted); it
# writes "0e5" as a string, hence the lookahead
_JSON_NUMBER = re.compile(r"-?(?:0(?![eE])|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?\Z")
# A plain or quoted key ends at most 1024 characters after it starts (YAML's limit for an
# implicit key, which go-yaml and PyYAML enforce and rapidyaml does not: a longer one is an
# error). A decoded key longer than this may have been written longer than 1024 characters
# (an escape such as "\U0001F600" is ten characters for one): the reference loader decides.
_LONG_KEY = 102
# beyond int64 (negative) or uint64, go-yaml reads an integer as a float and orjson does too,
# but such a float is left to the reference loader rather than trust two roundings to agree
_BIG_FLOAT = 9.2e18


def _numeric_risky(s: str, key: bool) -> bool:
    """True when a JSON string that starts like a number may be typed differently by go-yaml."""
    if s[-1] not in _NUMBER_ENDS or (not key and s.isdecimal() and s.isascii()
                                     and (s[0] != "0" or len(s) == 1)):
        return False  # "128Mi", "--flag", or a quoted decimal like "9090": the same for both
    value = resolve_plain(s)
    if isinstance(value, str):
        return False
    # a quoted number as a value ("8080") is the same for both; as a key, go-yaml may respell
    # it ("1.0:" becomes "1")
    return not (not key and not isinstance(value, bool) and value is not None
                and _JSON_NUMBER.match(s))


# a key that starts like a number, or with a space (only a quoted key does: rapidyaml makes one
# of a line after a comment it misreads, "- a #c: v" then a deeper "  b: 1")
_KEY_START = _NUMERIC_START | {" ", "\t"}


def _risky_key(key: str) -> bool:
    return key[0] in " \t" or _numeric_risky(key, True)


# Keys and number-like string values found safe, remembered: documents repeat the same ones
# ("metadata", "128Mi", "500m"), and looking one up costs less than checking it again (the
# walk below ~30% faster on the benchmark corpus). Bounded, whatever the input.
_SAFE_KEYS: set[str] = set()
_SAFE_NUMERIC: set[str] = set()
_SAFE_MOST = 4096


def _risky_value(s: str) -> bool:
    """:func:`_numeric_risky` for a value, remembering the safe ones."""
    if _numeric_risky(s, False):
        return True
    if len(_SAFE_NUMERIC) < _SAFE_MOST:
        _SAFE_NUMERIC.add(s)
    return False


def _typed_count(obj: Any) -> int:
    """The number of values in a decoded document, itself included (rapidyaml's node count),
    or -1 when a key or string in it may be typed differently by go-yaml, or a key may be too
    long for it (see above).

    The mapping and sequence loops repeat each other on purpose: this walk runs over every
    value of every document, and sharing the value checks (a separate key pass, one loop over
    ``obj.values()``) measured ~15% slower."""
    count = 1
    if type(obj) is dict:
        count += len(obj)
        for key, value in obj.items():
            if key not in _SAFE_KEYS:
                if key in _RISKY_KEYS or len(key) > _LONG_KEY or (
                        key[0] in _KEY_START and _risky_key(key)):
                    return -1
                if len(_SAFE_KEYS) < _SAFE_MOST:
                    _SAFE_KEYS.add(key)
            kind = type(value)
            if kind is str:
                if value in _TYPED_WORDS or (value[:1] in _NUMERIC_START
                                             and value not in _SAFE_NUMERIC
                                             and _risky_value(value)):
                    return -1
            elif kind is dict or kind is list:
                inner = _typed_count(value)
                if inner < 0:
                    return -1
                count += inner - 1
            elif kind is float and not -_BIG_FLOAT < value < _BIG_FLOAT:
                return -1
    else:
        count += len(obj)
        for value in obj:
            kind = type(value)
            if kind is str:
                if value in _TYPED_WORDS or (value[:1] in _NUMERIC_START
                                             and value not in _SAFE_NUMERIC
                                             and _risky_value(value)):
                    return -1
            elif kind is dict or kind is list:
                inner = _typed_count(value)
                if inner < 0:
                    return -1
                count += inner - 1
            elif kind is float and not -_BIG_FLOAT < value < _BIG_FLOAT:
                return -1
    return count


def _offsets(text: str, needles: Iterable[str]) -> Iterator[tuple[str, int]]:
    """(needle, offset) of every occurrence in ``text`` of each of ``needles`` (the characters
    of a string), found with substring searches: the gate's tests look at a few characters of
    a document each, and a regular expression would try every character."""
    for needle in needles:
        at = text.find(needle)
        while at >= 0:
            yield needle, at
            at = text.find(needle, at + 1)


def _indicator_starts_node(text: str, chars: str = "&*!") -> bool:
    """True when an anchor, alias or tag indicator among ``chars``, followed by a character
    that is neither a space nor a flow indicator, starts a node (every occurrence is looked
    at)."""
    size = len(text)
    for _, at in _offsets(text, chars):
        after = at + 1
        if after < size and not text[after].isspace() and text[after] not in ",[]{}" \
                and _starts_node(text, at):
            return True
    return False


def _bare_indicator(text: str, chars: str) -> bool:
    """True when an indicator among ``chars`` starts a node with nothing usable after it: an
    anchor or alias without a name ("a: & x", "[x, *]"), a tag without one before a flow
    indicator or the end ("[x, !]"), or a "%" ("[%x]"). go-yaml refuses all of them;
    rapidyaml reads them as empty or plain values."""
    size = len(text)
    for char, at in _offsets(text, chars):
        after = at + 1
        bare = after >= size or text[after] in ",[]{}" or (
            char != "!" and text[after].isspace())
        if (bare or char == "%") and _starts_node(text, at):
            return True
    return False


# what go-yaml v2 takes as an anchor's or alias's name: ASCII letters, digits, "_" and "-", then
# a space, a line break, a flow indicator or the end (rapidyaml takes any other character; a
# closer in block context, "k: &n} x", is _AFTER_FLOW's)
_ANCHOR_NAME = re.compile(r"[0-9A-Za-z_-]++(?=[\s,\]}]|\Z)")


def _odd_anchor_name(text: str) -> bool:
    """True when an anchor or alias starting a node has a name go-yaml refuses ("&n\\ x",
    "*.example.com", "& x")."""
    size = len(text)
    for _, at in _offsets(text, "&*"):
        name = _ANCHOR_NAME.match(text, at + 1)
        if (name is None or (name.end() < size and text[name.end()] in ",]}"
                             and not _in_flow(text, at))) and _starts_node(text, at):
            return True
    return False


def _in_flow(text: str, at: int) -> bool:
    """Whether more flow collections open than close on the line before ``at`` (roughly: a
    flow collection over several lines counts as closed)."""
    line = text[text.rfind("\n", 0, at) + 1:at]
    return line.count("[") + line.count("{") > line.count("]") + line.count("}")


# text after a flow collection on its line ("- {a: 1}   - b"): go-yaml refuses it, rapidyaml
# drops it (a "]" or "}" in a plain scalar, followed by a space and more, counts too)
_AFTER_FLOW = re.compile(r"[\]}][ \t]++[^\s#,\]}:]")


def _after_flow(text: str) -> bool:
    """What ``_AFTER_FLOW.search`` finds, found from each closer (a regular expression tries
    every character of the document; most documents have a few closers)."""
    size = len(text)
    for _, at in _offsets(text, "]}"):
        j = at + 1
        while j < size and text[j] in " \t":
            j += 1
        if at + 1 < j < size and text[j] not in "#,]}:" and not text[j].isspace():
            return True
    return False


# a line that leaves a flow collection open ("args: [", "{a: 1,"), or a flow collection that
# starts a node on the line of a "?" ("- [a, b?", "k: {x: y?"): see _question_in_flow
_OPEN_FLOW_LINE = re.compile(r"[\[{,][ \t]*(?:#[^\n]*)?$", re.M)
_FLOW_DOCUMENT = re.compile(r"\s*+[\[{]")
_FLOW_START = re.compile(r"(?:^|[:\-?,\[{][ \t]|[\[{,])[ \t]*[\[{]")


def _comment_in_flow(text: str) -> bool:
    """True when a comment may start inside a flow collection on its line ("{b: c #x}"):
    go-yaml reads the rest of the line as the comment (the collection is then unclosed),
    rapidyaml reads "c #x". Approximate, erring towards True."""
    for _, at in _offsets(text, (" #", "\t#")):
        start = text.rfind("\n", 0, at) + 1
        # (most comments have no bracket before them on their line: two short searches)
        if (text.find("[", start, at) >= 0 or text.find("{", start, at) >= 0) \
                and _in_flow(text, at):
            return True
    return False


# what may follow a block scalar indicator on its line: indentation and chomping indicators,
# then spaces and a comment
_BLOCK_HEADER = re.compile(r"(?:[+-]?[1-9]?|[1-9][+-])(?:[ \t]*+\r?$|[ \t]++#[^\n]*+$)", re.M)


def _bad_block_header(text: str) -> bool:
    """True when a block scalar header has something else after its indicators ("a: |2 x",
    "- | text"): go-yaml refuses it, rapidyaml reads an empty or other value. (A line of a
    block scalar's content that starts with "|" or ">" counts too: the reference loader
    decides.)"""
    return any(_BLOCK_HEADER.match(text, at + 1) is None and _starts_node(text, at)
               for _, at in _offsets(text, "|>"))


def _question_in_flow(text: str) -> bool:
    """True when a "?" may stand in a flow collection: go-yaml v2 ends a plain scalar there
    ("[http://x?y=1]" is an error) and reads "[?x]" as a mapping; rapidyaml and libyaml 0.2
    read both as strings. Approximate, erring towards True (the reference loader decides)."""
    if _FLOW_DOCUMENT.match(text) or _OPEN_FLOW_LINE.search(text):
        return True  # (flow collections over several lines)
    at = text.find("?")
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        line = text[start:at]
        if ("[" in line or "{" in line) and _FLOW_START.search(line):
            return True
        at = text.find("?", at + 1)
    return False


def _closer_starts_node(text: str) -> bool:
    """True when a "]" or "}" stands where a block node starts ("k: }", "- ]", a line of its
    own): go-yaml and PyYAML refuse it, rapidyaml reads it as a plain scalar. (A document that
    is one flow collection, JSON written as YAML, is not looked at: its closers end lines.)"""
    for char in "]}":
        at = text.find(char)
        while at >= 0:
            i = _previous(text, at)
            if 0 <= i < at - 1:  # after a space: maybe an anchor first ("k: &a }")
                word = i
                while word >= 0 and text[word] not in " \t\r\n":
                    word -= 1
                    if i - word > 256:
                        return True  # (no such long anchor names: not worth a closer look)
                if text[word + 1] == "&":
                    i = _previous(text, word + 1)
            if i < 0 or text[i] in "\n\r" or (text[i] in ":-?" and i + 1 < at):
                return True
            at = text.find(char, at + 1)
    return False


def _awkward_anchors(text: str) -> bool:
    """True when an anchor or alias is the first thing on its line ("&a" alone, the node on
    the next lines) or an anchor is followed by a block indicator on its line ("- &a - x"):
    go-yaml takes some of these and refuses others, rapidyaml takes them all, so such
    documents go to the reference loader."""
    size = len(text)
    for char in "&*":
        at = text.find(char)
        while at >= 0:
            i = _previous(text, at)
            if i < 0 or text[i] in "\n\r":
                return True
            if char == "&":
                j = at + 1
                while j < size and text[j] not in " \t\r\n":
                    j += 1
                while j < size and text[j] in " \t":
                    j += 1
                if j < size and text[j] in "-?:" and (j + 1 == size or text[j + 1] in " \t\r\n"):
                    return True
            at = text.find(char, at + 1)
    return False


# what the gate decides: rapidyaml alone, rapidyaml resolving anchors and aliases, or the
# reference loader
_FAST, _ANCHORS, _REFERENCE = 0, 1, 2
# more "&" than this in a document with anchors: the reference loader (it is rare, and keeps
# the anchor checks linear)
_MANY_ANCHORS = 32


# every byte but those the gate looks for (the characters below and anything not ASCII): what
# is left of a document after deleting them says which of the gate's tests can apply
_SPECIAL = b"%<&*!@`[]{}\\?\t|>#" + bytes(range(0x80, 0x100))
_NOT_SPECIAL = bytes(b for b in range(256) if b not in _SPECIAL)


def _gate(text: str, data: bytes | None = None) -> int:
    """Whether a document may hold something rapidyaml would read differently. ``data`` is
    ``text`` in UTF-8, when the caller has it."""
    if data is None:
        data = text.encode("utf-8", "surrogatepass")
    special = data.translate(None, _NOT_SPECIAL)  # one pass in C over the document
    if not special:
        return _FAST
    if b"|" in special or b">" in special:
        if _bad_block_header(text):
            return _REFERENCE
        if not text.endswith("\n"):
            # a block scalar that runs to the end of a file with no final line break: go-yaml
            # keeps no line break at its end, rapidyaml adds one ("a: |\n  x" is "x", not
            # "x\n"); the last document of a file saved without one
            return _REFERENCE
    if text[0] in "&*!%" or (b"%" in special and "\n%" in text) \
            or (b"<" in special and "<<" in text):
        return _REFERENCE
    if b"\t" in special:
        # rapidyaml reads a tab next to flow indicators, after "- " or at the start of a block
        # scalar's first line otherwise than go-yaml ("a:\t{b: c}" as one key): the
        # reference loader reads every document with a tab
        return _REFERENCE
    if b"[" in special or b"{" in special:
        if b"?" in special and _question_in_flow(text):
            return _REFERENCE
        if b"#" in special and _comment_in_flow(text):
            return _REFERENCE
    if b"%" in special and _bare_indicator(text, "%"):
        return _REFERENCE
    anchors = False
    if b"&" in special or b"*" in special or b"!" in special:
        if _bare_indicator(text, "!") or (
                (b"&" in special or b"*" in special) and _odd_anchor_name(text)):
            return _REFERENCE
        if b"!" in special and _indicator_starts_node(text, "!"):
            return _REFERENCE  # tags
        anchors = _indicator_starts_node(text, "&*")
        # (the reference loader measures what many aliases expand to)
        if anchors and (text.count("*") > _HARMLESS_ALIASES or text.count("&") > _MANY_ANCHORS
                        or _awkward_anchors(text)):
            return _REFERENCE
    if (b"[" in special or b"{" in special) and any(s in text for s in _FLOW_COLON_HINTS) \
            and _FLOW_COLON.search(text):
        return _REFERENCE
    for char in "@`":  # (str.find: a regular expression scan costs far more)
        if char.encode() not in special:
            continue
        at = text.find(char)
        while at >= 0:
            if at == 0 or text[at - 1] in _BEFORE_RESERVED:
                return _REFERENCE
            at = text.find(char, at + 1)
    if (b"]" in special or b"}" in special) and _after_flow(text):
        return _REFERENCE
    if (b"]" in special or b"}" in special) and text[len(text) - len(text.lstrip())] not in "[{" \
            and _closer_starts_node(text):
        return _REFERENCE
    if not special.isascii() and ("\x85" in text or "\u2028" in text or "\u2029" in text):
        return _REFERENCE
    if b"\\" in special and ("\\/" in text or (
            ("\\u" in text or "\\U" in text) and _ODD_TEXT.search(text) is not None)):
        return _REFERENCE  # (an escaped "/" is YAML 1.2: go-yaml refuses it, rapidyaml not)
    return _ANCHORS if anchors else _FAST


def _ryml_available() -> bool:
    try:
        import ryml  # noqa: F401
    except Exception:  # pragma: no cover - wheel missing on an odd platform
        return False
    return True


_HAVE_RYML = _ryml_available()


@contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """rapidyaml prints its own error text on fd 2; keep it off the user's terminal."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _fast_load(text: str, strict: bool) -> tuple[bool, Any]:
    """(True, value) when rapidyaml can be trusted with this document, else (False, None)."""
    if not _HAVE_RYML:
        return False, None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (from an escape): the reference loader
        return False, None
    gate = _gate(text, data)
    if gate == _REFERENCE:
        return False, None
    return _ryml_load(data, strict, gate == _ANCHORS)


def _plain_references(tree: Any) -> bool:
    """True when every alias in a rapidyaml tree is a value naming an anchor that is written
    once, before it and outside it (so ``resolve()`` gives what go-yaml gives). Anything else
    goes to the reference loader: rapidyaml crashes resolving an alias inside its own anchor
    (``a: &x [*x]``), and PyYAML reports repeated anchors and undefined aliases."""
    import ryml

    marks = ryml.KEYANCH | ryml.VALANCH | ryml.KEYREF | ryml.VALREF
    anchored: dict[bytes, int] = {}
    aliases: list[int] = []
    for node in range(tree.size()):
        kind = tree.type(node)
        if not kind & marks:
            continue
        if kind & ryml.KEYREF:
            return False  # an alias as a key
        for flag, name_of in ((ryml.KEYANCH, tree.key_anchor), (ryml.VALANCH, tree.val_anchor)):
            if kind & flag:
                name = bytes(name_of(node))
                if name in anchored:
                    return False
                anchored[name] = node
        if kind & ryml.VALREF:
            aliases.append(node)
    for node in aliases:
        anchor = anchored.get(bytes(tree.val_ref(node)))
        if anchor is None or anchor > node:
            return False  # undefined, or defined after the alias
        up = node
        while up != ryml.NONE:
            if up == anchor:
                return False  # inside what it names
            up = tree.parent(up)
    return True


_BUFFERS = threading.local()


def _emit_buffer(size: int = 0) -> bytearray:
    """This thread's output buffer for rapidyaml, at least ``size`` bytes."""
    buf: bytearray | None = getattr(_BUFFERS, "buf", None)
    if buf is None or len(buf) < size:
        if size > _KEPT_BUFFER:
            return bytearray(size)  # a huge document's is not kept for the next one
        buf = _BUFFERS.buf = bytearray(max(size + size // 2, 1 << 16))
    return buf


_KEPT_BUFFER = 4 * 1024 * 1024


def _ryml_load(data: bytes, strict: bool, anchors: bool = False) -> tuple[bool, Any]:
    """rapidyaml's reading of a document (UTF-8) that passed the YAML side of the gate."""
    import ryml

    try:
        tree = ryml.parse_in_arena(data)
        if anchors:
            # six aliases copy at most 64 times what was written: past this size the
            # reference loader, which measures the expansion, reads it
            if tree.size() * 2**_HARMLESS_ALIASES > MAX_EXPANDED_NODES \
                    or not _plain_references(tree):
                return False, None
            tree.resolve()  # aliases become copies of what their anchors hold
        root = tree.root_id()
        nodes = tree.size()
        if tree.is_stream(root):
            if tree.num_children(root) != 1:
                return False, None
            root = tree.first_child(root)
            nodes -= 1
        if not (tree.is_map(root) or tree.is_seq(root)):
            return False, None  # scalars, empty docs: the reference loader is quick enough
        # into a reused buffer: emit_json_malloc measures the output first, then copies it
        # into a new str (twice the cost)
        buf = _emit_buffer()
        failed, size = ryml.emit_json_to_substr(tree, root, buf)
        if failed:
            buf = _emit_buffer(size)
            failed, size = ryml.emit_json_to_substr(tree, root, buf)
            if failed:
                return False, None
    except Exception:
        return False, None
    try:
        value = orjson.loads(memoryview(buf)[:size])
    except (orjson.JSONDecodeError, RecursionError):
        return False, None
    # orjson keeps the last of repeated keys; rapidyaml's tree has them all, so a document
    # with a duplicate key has fewer values than the tree has nodes (the reference loader then
    # finds the key and its line)
    if type(value) is not dict and type(value) is not list:
        return False, None
    count = _typed_count(value)
    if count < 0 or (strict and count != nodes):
        return False, None
    return True, value


# --- the reference path ------------------------------------------------------------------------


# Every alias is a "*", and k aliases expand a document of n nodes to at most n * 2**k nodes
# (each alias repeats a node written before it, at most doubling what came before), so with
# 2**k under MAX_ALIAS_RATIO the expansion check cannot refuse anything and is skipped.
_HARMLESS_ALIASES = 6
assert 2**_HARMLESS_ALIASES < MAX_ALIAS_RATIO


_EMPTY = object()


# --- splitting a stream into documents -------------------------------------------------------

# (a "---" directly followed by "#" is a separator for kubectl and kubeconform, though not for
# YAML: "---#c" is cut there too)
_MARKER_LINE = re.compile(r"^(?:---(?=[\s#]|\Z)|\.\.\.(?=\s|\Z))", re.MULTILINE)
# a line break of old Macs: a CR not followed by LF
_LONE_CR = re.compile(r"\r(?!\n)")


class CutPart(str):
    """The text of a part of a stream that kubectl, kubeconform and conftest read otherwise
    than YAML does (they cut a stream at ``---`` lines, then read the first YAML document of
    each part): :func:`load_document` makes it an input error with the class's ``message``
    at its first line, so that the resources a file seems to hold are the ones applied."""

    __slots__ = ()
    message = ""


class AfterDocumentEnd(CutPart):
    """A document that follows a ``...`` line with no ``---`` before it. YAML reads it; the
    tools read the first document of the part and drop it without a word."""

    __slots__ = ()
    message = ("this document follows a '...' line without '---': kubectl, kubeconform and "
               "conftest ignore it (start it with '---')")


class EmptyDocumentEnd(CutPart):
    """A ``...`` line that ends no document: nothing but blank lines and comments before it,
    since the file's start or the last ``---`` line (a file that starts with ``---`` opens a
    document there). YAML allows it; go-yaml, behind the three tools, fails the part."""

    __slots__ = ()
    message = ("a '...' line with no document before it: kubectl, kubeconform and conftest "
               "fail on this part of the stream ('did not find expected node content'); "
               "remove the line or put a document before it")


class ContentAfterSeparator(CutPart):
    """A document that starts on a ``---`` line other than the file's first (``--- {a: 1}``,
    ``--- |``): kubectl refuses the line, kubeconform and conftest drop what follows ``---``
    on it."""

    __slots__ = ()
    message = ("content on a '---' line: kubectl refuses it ('invalid Yaml document "
               "separator'), kubeconform and conftest drop it without a word; start the "
               "document on the next line")


def split_documents(text: str) -> Iterator[tuple[int, str]]:
    """Yield (first line number, text) for each document of a stream; empty ones are dropped.

    The text of a document keeps the ``---`` line when content follows the marker on it.
    Line numbers are 1-based and point at the first line with content. Where kubectl,
    kubeconform and conftest would read the stream otherwise (see :class:`CutPart`), the part
    is yielded as a :class:`CutPart` subclass.
    """
    # lines are found in ``scan``: the text itself, or, with old Mac line ends (a CR alone),
    # a copy of the same length where they are LFs (the documents are cut from ``text``)
    scan = text
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        scan = _LONE_CR.sub("\n", text)
    start = 0  # offset where the current chunk starts
    start_line = 0  # its 0-based line number
    directives_done = False
    kind: type[CutPart] | None = None  # what the current chunk is, if not a plain document
    cuts = _Cuts()
    for at in _marker_lines(scan):
        end = scan.find("\n", at)
        end = len(scan) if end < 0 else end + 1
        dash = scan[at] == "-"
        if dash and not directives_done and _first_content(scan, start, at) == "%":
            directives_done = True  # directives belong to the document this marker opens
            cuts.dash(at, end)
            continue
        chunk = _cut_part(_emit_text(scan, text, start, at, start_line), kind)
        if chunk is not None:
            yield chunk
        marker_line = start_line + scan.count("\n", start, at)
        if not dash and cuts.undecided() and not _first_content(scan, cuts.start, at):
            yield (marker_line + 1, EmptyDocumentEnd(text[at:end]))
        kind = None if dash else AfterDocumentEnd
        rest = scan[at + 3:end]
        if dash and rest.strip() and not rest.lstrip().startswith("#"):
            start, start_line = at, marker_line
            if cuts.separates(at):
                kind = ContentAfterSeparator
        else:
            start, start_line = end, marker_line + 1
        if dash:
            cuts.dash(at, end)
            if kind is ContentAfterSeparator:
                cuts.decided = True  # (one error for the part)
        directives_done = False
    chunk = _cut_part(_emit_text(scan, text, start, len(text), start_line), kind)
    if chunk is not None:
        yield chunk


def _cut_part(chunk: tuple[int, str] | None, kind: type[CutPart] | None
              ) -> tuple[int, str] | None:
    if chunk is None or kind is None:
        return chunk
    return (chunk[0], kind(chunk[1]))


class _Cuts:
    """Where kubeconform's reading of a stream parts from YAML's, followed marker by marker.
    kubeconform (as kubectl) cuts at a line that starts with ``---`` unless that line starts
    the text left to read (the file's first line, or the line right after the previous cut):
    there, the line opens a document of the part instead."""

    __slots__ = ("decided", "opened", "start")

    def __init__(self) -> None:
        self.start = 0  # where the current part starts
        self.opened = False  # whether it starts with a "---" line (a document start)
        self.decided = False  # whether a "..." line was met in it already

    def separates(self, at: int) -> bool:
        """Whether a "---" line at ``at`` is a cut (else it opens the part's document)."""
        return at != self.start

    def dash(self, at: int, end: int) -> None:
        """A "---" line from ``at`` to ``end``."""
        if self.separates(at):
            self.start, self.opened, self.decided = end, False, False
        else:
            self.opened = True

    def undecided(self) -> bool:
        """At a "..." line: True when it may end no document of the part (the caller looks
        for content before it): the part's first "...", in a part not opened by "---"."""
        first = not self.decided
        self.decided = True
        return first and not self.opened


def _marker_lines(text: str) -> Iterator[int]:
    """Offsets of the ``---`` and ``...`` marker lines, in order: what
    ``_MARKER_LINE.finditer`` finds, found with plain substring searches (a regular expression
    anchored at every line start costs more than all the rest of the splitting)."""
    size = len(text)
    if text.startswith(("---", "...")) and (size == 3 or text[3].isspace() or (
            text[3] == "#" and text[0] == "-")):
        yield 0
    dash = text.find("\n---")
    dots = text.find("\n...")
    while dash >= 0 or dots >= 0:
        if dots < 0 or 0 <= dash < dots:
            at = dash + 1
            dash = text.find("\n---", at)
        else:
            at = dots + 1
            dots = text.find("\n...", at)
        if at + 3 == size or text[at + 3].isspace() or (text[at + 3] == "#"
                                                        and text[at] == "-"):
            yield at


def _first_content(text: str, start: int, end: int) -> str:
    """The first character of the first line with content in text[start:end], or ""."""
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        nl = end if nl < 0 else nl + 1
        s = text[pos:nl].strip()
        if s and not s.startswith("#"):
            return s[0]
        pos = nl
    return ""


def _emit_text(scan: str, text: str, start: int, end: int, line: int
               ) -> tuple[int, str] | None:
    """(line number, text) of the document in text[start:end], from its first line with
    content (lines found in ``scan``: see split_documents), or None when it has none."""
    pos = start
    while pos < end:
        nl = scan.find("\n", pos, end)
        nl = end if nl < 0 else nl + 1
        s = scan[pos:nl].strip()
        if s and not s.startswith("#"):
            # leading comment lines stay out so that line numbers inside the chunk are exact
            return (line + 1, text[pos:end])
        pos = nl
        line += 1
    return None


# --- decoding bytes ------------------------------------------------------------------------------


def decode(data: bytes, file: str) -> str:
    """Bytes to text: UTF-8 (with or without BOM) or UTF-16/32 with a BOM, else an error."""
    if data.startswith(codecs.BOM_UTF32_LE) or data.startswith(codecs.BOM_UTF32_BE):
        encoding = "utf-32"
    elif data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        encoding = "utf-16"
    else:
        encoding = "utf-8-sig"
        if b"\x00" in data[:8192]:
            raise InputError("binary file (contains NUL bytes), not YAML or JSON", file, 1)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise InputError(
            f"not valid {encoding.replace('-sig', '').upper()} text "
            f"(byte 0x{data[err.start]:02x} at offset {err.start}); socle reads UTF-8",
            file, line) from None
    if "\x00" in text:
        raise InputError("binary file (contains NUL characters), not YAML or JSON", file, 1)
    return text


# --- public API ----------------------------------------------------------------------------------


def load_document(text: str, file: str = "-", index: int = 0, line: int = 1,
                  strict: bool = False, fast: bool = True) -> Document:
    """Read one document's text into a Document; errors are returned on it, never raised."""
    doc = Document(obj=None, file=file, index=index, line=line, text=text, format="yaml",
                   _locate=positions)
    if type(text) is not str and isinstance(text, CutPart):
        doc.error = InputError(text.message, file, line)
        return doc
    if len(text) > MAX_DOCUMENT_BYTES:
        doc.error = InputError(
            f"document is larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB; "
            "refusing to read it", file, line)
        return doc
    ok, value = _fast_load(text, strict) if fast else (False, None)
    if not ok:
        from socle.formats import yaml_reference

        value, error = yaml_reference.load(text, file, line, strict)
        if error is not None:
            doc.error = error
            return doc
    if value is _EMPTY:
        value = None
    # (rapidyaml refuses to emit documents nested deeper than 64, so only the reference
    # loader's results need the depth check)
    if not ok and isinstance(value, (dict, list)) and _depth(value) > MAX_DEPTH:
        doc.error = too_deep(file, line)
        return doc
    doc.obj = value
    return doc


def iter_documents(data: bytes | str, file: str = "-", strict: bool = False,
                   fast: bool = True, keep_null: bool = False) -> Iterator[Document]:
    """Every document of a YAML stream, with its index and first line.

    Empty documents are skipped (as kubectl and kubeconform do); their index still counts, so
    indexes match the position of the document in the file. ``keep_null``: see
    :func:`load_documents`.
    """
    text = decode(data, file) if isinstance(data, bytes) else data
    yield from load_documents(((index, line, chunk) for index, (line, chunk)
                               in enumerate(split_documents(text))), file, strict, fast,
                              keep_null)


def load_documents(parts: Iterable[tuple[int, int, str]], file: str = "-", strict: bool = False,
                   fast: bool = True, keep_null: bool = False) -> Iterator[Document]:
    """The documents of ``parts`` (index in the file, first line, text), empty ones skipped: a
    whole stream's (:func:`iter_documents`) or some of them (a piece of a large file).
    ``keep_null``: a document whose value is null (``~``, ``null``) is kept (as conftest
    reads it), not skipped (as kubeconform and kubectl do)."""
    for index, line, chunk in parts:
        doc = load_document(chunk, file, index, line, strict=strict, fast=fast)
        if doc.error is None and doc.obj is None and not keep_null:
            continue
        yield doc


# --- conftest's documents ----------------------------------------------------------------------

_MARKER_ONLY = re.compile(r"(?:---|\.\.\.)(?:\s+#.*)?")


# line breaks str.splitlines knows besides "\n"
_OTHER_BREAKS = re.compile("[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")


def _part_is_empty(text: str, start: int, end: int) -> bool:
    """Whether a part holds nothing but blank lines, comments and document markers (conftest
    then tests ``null``); most parts start with content, and are answered at their first
    line."""
    eol = text.find("\n", start, end)
    first = text[start:end if eol < 0 else eol].strip()
    if first and not first.startswith(("#", "%")) and not _MARKER_ONLY.fullmatch(first) \
            and _OTHER_BREAKS.search(first) is None:
        return False
    lines = (text[start:end].splitlines() if text.find("\r", start, end) >= 0
             else _lines_of(text, start, end))
    for raw in lines:
        s = raw.strip()
        if s and not s.startswith(("#", "%")) and not _MARKER_ONLY.fullmatch(s):
            return False
    return True


def _lines_of(text: str, start: int, end: int) -> Iterator[str]:
    while start < end:
        eol = text.find("\n", start, end)
        if eol < 0:
            eol = end
        yield text[start:eol]
        start = eol + 1


def conftest_empty_parts(text: str, first_index: int = 0) -> list[tuple[int, int]]:
    """(first line, document index) of each part of ``text`` that conftest tests as ``null``
    for want of content (an empty file, a trailing ``---``, a part holding only comments);
    ``socle test`` and ``socle check`` test them too, numbered from ``first_index`` (after the
    file's documents). conftest cuts the text at every line that is exactly ``---`` (with the
    file's line breaks: CRLF when it has one), a leading ``%`` directive kept with the
    document after it. (A document whose value is null is the other kind: see
    ``keep_null``.)"""
    # ("\r" first: a search for one character is ~20 times faster than for two, and most
    # files have none)
    brk = "\r\n" if "\r" in text and "\r\n" in text else "\n"
    sep = brk + "---" + brk
    cuts = [m.start() for m in re.finditer(re.escape(sep), text)]
    if text.startswith("%"):
        cuts = cuts[1:]  # (the directive's document: the first two parts as one)
    cuts.append(len(text))
    out: list[tuple[int, int]] = []
    start = counted = 0
    line = 1  # the line at offset `counted` (counted only for the empty parts)
    for cut in cuts:
        # (a part that starts with a letter or digit has content: most do)
        if not text[start:start + 1].isalnum() and _part_is_empty(text, start, cut):
            line += text.count("\n", counted, start)
            counted = start
            # (nothing after a trailing ---: its own line, not the one past the file's end)
            out.append((line - 1 if start >= len(text) and line > 1 else line,
                        first_index + len(out)))
        start = cut + len(sep)
    return out


def conftest_documents(data: bytes | str, file: str = "-", strict: bool = False) -> list[Document]:
    """A YAML file's documents as ``conftest test`` tests them: every document of the stream
    (conftest reads only the first of a part holding several, when they are not cut by a bare
    ``---`` line: socle tests them all), null ones kept, and a null document for every part
    with no content. Those are numbered after the file's other documents."""
    text = decode(data, file) if isinstance(data, bytes) else data
    docs = list(iter_documents(text, file, strict, keep_null=True))
    empty = conftest_empty_parts(text, len(docs))
    if empty:
        docs.extend(Document(obj=None, file=file, index=index, line=line, text="",
                             format="yaml", _locate=positions) for line, index in empty)
        docs.sort(key=lambda d: d.line)
    return docs


def load_all(data: bytes | str, file: str = "-", strict: bool = False) -> list[Any]:
    """The objects of a stream, for callers that need no positions (tests, small files)."""
    out = []
    for doc in iter_documents(data, file, strict=strict):
        if doc.error:
            raise doc.error
        out.append(doc.obj)
    return out


def reference_load(text: str, strict: bool = False) -> Any:
    """The reference loader alone, go-yaml v2's reading (``.inf`` kept as it reads it: the
    conversion to JSON that refuses it is left out), for the differential tests."""
    from socle.formats.yaml_reference import _reference_load

    value = _reference_load(text, strict, json=False)
    return None if value is _EMPTY else value


def fast_load(text: str, strict: bool = False) -> tuple[bool, Any]:
    """The fast path alone: (False, None) where it declines the document."""
    return _fast_load(text, strict)


def positions(text: str) -> PositionMap:
    """JSON path -> (line, column) of every key and sequence item, 1-based, in one document."""
    from socle.formats.yaml_reference import positions as composed

    return composed(text)
