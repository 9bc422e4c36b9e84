"""The JSON-schema ``format`` checks kubeconform makes, so that a value it refuses is refused
here too.

kubeconform v0.7.0 compiles schemas that declare no ``$schema`` (its default Kubernetes
schemas, converted CRDs) as draft 4, and its validator (jsonschema v6 for Go) asserts every
format it knows in drafts 4 to 7: ``date-time`` (every ``metav1.Time`` field of the
Kubernetes schemas), ``date``, ``time``, ``duration`` (a Go duration such as ``1h30m``, or ISO
8601's ``PT1H30M``), ``email``, ``hostname``, ``ipv4``, ``ipv6``, ``uri``, ``uri-reference``,
``iri``, ``iri-reference``, ``uri-template``, ``uuid``, ``json-pointer``,
``relative-json-pointer``, ``regex``, ``period`` and ``semver``. Others (``int32``, ``byte``,
``idn-email``, ``quantity`` ...) are not checked. Each check below is written from what those
formats mean in Go (``time.Parse``, ``time.ParseDuration``, ``net/url.Parse``,
``net/netip.ParseAddr``, ``regexp``) and compared value by value with kubeconform in
``tests/compat/test_kubeconform_differential.py``; only strings reach them (jsonschema_rs
calls a format's check for strings only).

The ``pattern`` keyword is read as Go reads it too (:class:`GoPattern`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_ATOI = re.compile(r"[+-]?[0-9]+\Z")  # Go's strconv.Atoi
_INT64 = 2**63


def _atoi(s: str) -> int | None:
    if not _ATOI.match(s):
        return None
    n = int(s)
    return n if -_INT64 <= n < _INT64 else None


# --- dates and times (RFC 3339) ------------------------------------------------------------------

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})\Z")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_date(s: str) -> bool:
    """``YYYY-MM-DD``, a day that exists (Go's ``time.Parse("2006-01-02")``)."""
    m = _DATE.match(s)
    if m is None:
        return False
    year, month, day = (int(g) for g in m.groups())
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= (29 if month == 2 and leap else _MONTH_DAYS[month - 1])


def is_time(s: str) -> bool:
    """``hh:mm:ss[.frac](Z|±hh:mm)``; a leap second only at 23:59 UTC."""
    if not s.isascii() or len(s) < 9 or s[2] != ":" or s[5] != ":":
        return False
    parts = [_atoi(t) for t in s[:8].split(":", 2)]
    if len(parts) != 3 or any(p is None or p < 0 for p in parts):
        return False
    h, m, sec = (p for p in parts if p is not None)
    if h > 23 or m > 59 or sec > 60:
        return False
    rest = s[8:]
    if rest.startswith("."):
        digits = len(rest) - 1 - len(rest[1:].lstrip("0123456789"))
        if digits == 0:
            return False
        rest = rest[1 + digits:]
    if rest not in ("z", "Z"):
        if len(rest) != 6 or rest[0] not in "+-" or rest[3] != ":":
            return False
        zh, zm = _atoi(rest[1:3]), _atoi(rest[4:6])
        if zh is None or zm is None or zh < 0 or zm < 0 or zh > 23 or zm > 59:
            return False
        sign = -1 if rest[0] == "+" else 1
        hm = (h * 60 + m + sign * (zh * 60 + zm)) % (24 * 60)
        h, m = divmod(hm, 60)
    return sec < 60 or (h == 23 and m == 59)


def is_date_time(s: str) -> bool:
    return len(s) >= 20 and s[10] in "tT" and is_date(s[:10]) and is_time(s[11:])


# --- durations -----------------------------------------------------------------------------------

_GO_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "μs": 1_000, "ms": 1_000_000,
             "s": 10**9, "m": 60 * 10**9, "h": 3600 * 10**9}
_GO_PART = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]+)")


def is_go_duration(s: str) -> bool:
    """Go's ``time.ParseDuration``: ``[-+]`` then numbers with units (``1h30m``, ``.5s``)."""
    body = s[1:] if s[:1] in ("-", "+") else s
    if body == "0":
        return True
    if not body:
        return False
    total = 0
    at = 0
    while at < len(body):
        m = _GO_PART.match(body, at)
        if m is None:
            return False
        whole, frac, unit = m.groups()
        if (not whole and not frac) or unit not in _GO_UNITS:
            return False
        scale = _GO_UNITS[unit]
        total += int(whole or 0) * scale + (int(frac) * scale // 10 ** len(frac) if frac else 0)
        if total > _INT64:
            return False
        at = m.end()
    return True


def is_iso_duration(s: str) -> bool:
    """ISO 8601's ``P[nY][nM][nD][T[nH][nM][nS]]`` or ``PnW`` (whole numbers, in order)."""
    if not s.startswith("P") or len(s) == 1:
        return False
    body = s[1:]
    if body.endswith("W"):
        return body[:-1].isdigit() and body[:-1].isascii()
    pieces = body.split("T")
    if len(pieces) > 2:
        return False
    for i, piece in enumerate(pieces):
        if i and not piece:
            return False
        units = "YMD" if i == 0 else "HMS"
        while piece:
            digits = len(piece) - len(piece.lstrip("0123456789"))
            if digits == 0 or digits == len(piece):
                return False
            at = units.find(piece[digits])
            if at < 0:
                return False
            units = units[at + 1:]
            piece = piece[digits + 1:]
    return True


def is_duration(s: str) -> bool:
    """kubeconform's own ``duration``: a Go duration (as Kubernetes means it) or ISO 8601."""
    return is_go_duration(s) or is_iso_duration(s)


def is_period(s: str) -> bool:
    start, slash, end = s.partition("/")
    if not slash:
        return False
    if start.startswith("P"):
        return is_iso_duration(start) and is_date_time(end)
    if not is_date_time(start):
        return False
    return is_iso_duration(end) if end.startswith("P") else is_date_time(end)


# --- names and addresses -------------------------------------------------------------------------

_HEX = frozenset("0123456789abcdefABCDEF")


def is_uuid(s: str) -> bool:
    groups = s.split("-")
    return [len(g) for g in groups] == [8, 4, 4, 4, 12] and all(
        c in _HEX for g in groups for c in g)


def is_ipv4(s: str) -> bool:
    groups = s.split(".")
    if len(groups) != 4:
        return False
    for g in groups:
        if len(g) > 1 and g[0] == "0":
            return False
        n = _atoi(g)
        if n is None or not 0 <= n <= 255:
            return False
    return True


def is_ipv6(s: str) -> bool:
    """An IPv6 address (no zone), as Go's ``netip.ParseAddr`` reads one."""
    if ":" not in s or "%" in s or not s.isascii():
        return False
    import ipaddress  # (only here: ~1 ms to import)

    try:
        ipaddress.IPv6Address(s)
    except ValueError:
        return False
    return True


_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")


def is_hostname(s: str) -> bool:
    s = s[:-1] if s.endswith(".") else s
    return len(s.encode()) <= 253 and all(_LABEL.match(label) for label in s.split("."))


_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                         ".!#$%&'*+-/=?^_`{|}~")


def is_email(s: str) -> bool:
    if len(s.encode()) > 254 or "@" not in s:
        return False
    local, _, domain = s.rpartition("@")
    if len(local.encode()) > 64:
        return False
    if len(local) > 1 and local.startswith('"'):
        inner = local[1:-1]
        if "\\" in inner or '"' in inner:
            return False
    elif local.startswith(".") or local.endswith(".") or ".." in local or any(
            c not in _LOCAL_CHARS for c in local):
        return False
    if domain.startswith("[") and domain.endswith("]"):
        inner = domain[1:-1]
        return is_ipv6(inner[5:]) if inner.startswith("IPv6:") else is_ipv4(inner)
    return is_hostname(domain)


# --- URLs (Go's net/url.Parse) ------------------------------------------------------------------

_SCHEME_REST = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+-.")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
# what Go's url accepts in a host name, besides letters, digits and bytes over 0x7f
_HOST_CHARS = frozenset("-_.~!$&'()*+,;=:[]<>\"%")
_USERINFO_CHARS = frozenset("-._:~!$&'()*+,;=%@")


def _scheme(s: str) -> tuple[str, str] | None:
    """(scheme, rest) as Go's getScheme cuts them; None for a missing scheme (":x")."""
    for i, c in enumerate(s):
        if c.isascii() and c.isalpha():
            continue
        if c in _SCHEME_REST:
            if i == 0:
                return "", s
            continue
        if c == ":":
            return None if i == 0 else (s[:i], s[i + 1:])
        return "", s
    return "", s


def _valid_port(port: str) -> bool:
    return port == "" or (port[0] == ":" and (port[1:] == "" or (port[1:].isdigit()
                                                                  and port[1:].isascii())))


def _host_ok(host: str) -> bool:
    if _BAD_ESCAPE.search(host):
        return False
    for i, c in enumerate(host):
        if c == "%":
            # an escape in a host must stand for a byte over 0x7f (or be "%25")
            if host[i + 1] in "01234567" and host[i:i + 3] != "%25":
                return False
        elif ord(c) < 0x80 and not c.isalnum() and c not in _HOST_CHARS:
            return False
    return True


def _parse_host(host: str) -> str | None:
    """The host's name (no port, no brackets), or None when Go's url refuses the host."""
    if host.startswith("["):
        end = host.rfind("]")
        if end < 0 or not _valid_port(host[end + 1:]):
            return None
        inside = host[1:end]
        zone = inside.find("%25")
        if not _host_ok(inside if zone < 0 else inside[:zone]):
            return None
        if zone >= 0 and _BAD_ESCAPE.search(inside[zone:]):
            return None
        return inside
    colon = host.rfind(":")
    if colon >= 0:
        if not _valid_port(host[colon:]):
            return None
        name = host[:colon]
    else:
        name = host
    return name if _host_ok(name) else None


def _parse_url(s: str) -> tuple[str, str] | None:
    """(scheme, path) of a URL Go's ``url.Parse`` reads (and whose host, if an IPv6 address,
    is one in brackets), or None."""
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in s):
        return None
    rest, _, fragment = s.partition("#")
    if _BAD_ESCAPE.search(fragment):
        return None
    if rest in ("", "*"):
        return ("", "")
    cut = _scheme(rest)
    if cut is None:
        return None
    scheme, rest = cut
    rest = rest.partition("?")[0]
    if not rest.startswith("/"):
        if scheme:
            return (scheme, "")  # opaque ("mailto:a@b", "urn:x"): not looked into
        colon, slash = rest.find(":"), rest.find("/")
        if colon >= 0 and (slash < 0 or colon < slash):
            return None  # "a:b" with a first character Go takes for no scheme
    if rest.startswith("//") and (scheme or not rest.startswith("///")):
        authority, sep, below = rest[2:].partition("/")
        rest = sep + below
        userinfo, at, host = authority.rpartition("@")
        if at and (any(c not in _USERINFO_CHARS and not (c.isascii() and c.isalnum())
                       for c in userinfo) or _BAD_ESCAPE.search(userinfo)):
            return None
        name = _parse_host(host)
        if name is None:
            return None
        if ":" in name and (not host.startswith("[") or not is_ipv6(name)):
            return None
    if _BAD_ESCAPE.search(rest):
        return None
    return (scheme, rest)


def is_uri(s: str) -> bool:
    parsed = _parse_url(s)
    return parsed is not None and parsed[0] != ""


def is_uri_reference(s: str) -> bool:
    return "\\" not in s and _parse_url(s) is not None


def is_uri_template(s: str) -> bool:
    """A URL whose path's segments open and close their braces in turn (Go's url keeps the
    path as written, which is what is checked, when it holds a brace)."""
    parsed = _parse_url(s)
    if parsed is None:
        return False
    path = parsed[1]
    if "{" not in path and "}" not in path:
        return True
    from urllib.parse import unquote

    for segment in path.split("/"):
        want = "{"
        for c in unquote(segment):
            if c in "{}":
                if c != want:
                    return False
                want = "}" if c == "{" else "{"
        if want == "}":
            return False
    return True


# --- pointers, versions, expressions -------------------------------------------------------------

_POINTER_TOKEN = re.compile(r"(?:[^/~]|~[01])*\Z")


def is_json_pointer(s: str) -> bool:
    if s == "":
        return True
    return s.startswith("/") and all(_POINTER_TOKEN.match(t) for t in s.split("/")[1:])


def is_relative_json_pointer(s: str) -> bool:
    digits = len(s) - len(s.lstrip("0123456789"))
    if digits == 0 or (digits > 1 and s[0] == "0"):
        return False
    rest = s[digits:]
    return rest == "#" or is_json_pointer(rest)


_SEMVER_ID = re.compile(r"[0-9A-Za-z-]+\Z")


def is_semver(s: str) -> bool:
    core, plus, build = s.partition("+")
    if plus and not all(_SEMVER_ID.match(b) for b in build.split(".")):
        return False
    core, dash, pre = core.partition("-")
    if dash:
        for ident in pre.split("."):
            if not _SEMVER_ID.match(ident):
                return False
            if ident.isdigit() and len(ident) > 1 and ident[0] == "0":
                return False
    numbers = core.split(".")
    return len(numbers) == 3 and all(
        n.isdigit() and n.isascii() and (n == "0" or n[0] != "0") for n in numbers)


# --- regular expressions (Go's regexp: the RE2 syntax) -------------------------------------------


def go_regexp(pattern: str) -> Any:
    """``pattern`` compiled as Go's ``regexp`` reads it, by RE2 (whose syntax Go's follows:
    POSIX classes, ``\\pL``, ``(?i)`` anywhere, no lookaround or backreferences; ``\\d``,
    ``\\s``, ``\\w`` ASCII). Raises ValueError (with RE2's reason) where Go refuses it."""
    import re2  # google-re2

    if "\\C" in pattern:  # (one byte: RE2 has it, Go does not)
        raise ValueError(f"invalid escape sequence in {pattern!r}")
    options = re2.Options()
    options.log_errors = False  # (else RE2 logs every refusal on standard error)
    try:
        return re2.compile(pattern, options)
    except re2.error as err:
        raise ValueError(str(err) or f"invalid regular expression {pattern!r}") from None


def is_regex(s: str) -> bool:
    try:
        go_regexp(s)
    except ValueError:
        return False
    return True


class GoPattern:
    """The ``pattern`` keyword with Go's reading of the expression, as kubeconform has it
    (jsonschema_rs reads it as ECMA 262 does: ``\\s`` matches a no-break space there, and
    a POSIX class or an ``(?i)`` after the start makes it refuse the whole schema). A
    jsonschema_rs custom keyword: :func:`go_patterns` renames ``pattern`` to it."""

    KEYWORD = "x-socle-go-pattern"

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        if not isinstance(value, str):
            raise ValueError(f"pattern {value!r} is not a string")
        self.pattern = value
        try:
            self.regexp = go_regexp(value)
        except ValueError as err:
            raise ValueError(f"pattern {value!r} is no regular expression Go reads "
                             f"(kubeconform cannot compile this schema either): {err}") from None

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and self.regexp.search(instance) is None:
            raise ValueError(f"{json.dumps(instance, ensure_ascii=False)} does not match "
                             f'"{self.pattern}"')


def go_patterns(schema: Any) -> tuple[Any, bool]:
    """``schema`` with every ``pattern`` read by :class:`GoPattern` (a copy; the schema as it
    is when it has none), and whether it had any."""
    found = False

    def walk(node: Any) -> Any:
        nonlocal found
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for k, v in node.items():
                if k == "pattern" and isinstance(v, str):
                    out[GoPattern.KEYWORD] = v
                    found = True
                elif k in ("properties", "patternProperties", "definitions", "$defs") and (
                        isinstance(v, dict)):
                    # (names: a field may be called "default" or "pattern")
                    out[k] = {name: walk(sub) for name, sub in v.items()}
                elif k in ("default", "example", "enum", "const"):
                    out[k] = v  # data, not schema
                else:
                    out[k] = walk(v)
            return out
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    converted = walk(schema)
    return (converted, True) if found else (schema, False)


def _any(_: str) -> bool:
    return True


# every format jsonschema_rs would check itself, with kubeconform's answer
FORMATS: dict[str, Callable[[str], bool]] = {
    "date-time": is_date_time, "date": is_date, "time": is_time, "duration": is_duration,
    "period": is_period, "email": is_email, "idn-email": _any, "hostname": is_hostname,
    "idn-hostname": _any, "ipv4": is_ipv4, "ipv6": is_ipv6, "uri": is_uri,
    "uri-reference": is_uri_reference, "iri": is_uri, "iri-reference": is_uri_reference,
    "uri-template": is_uri_template, "uuid": is_uuid, "json-pointer": is_json_pointer,
    "relative-json-pointer": is_relative_json_pointer, "regex": is_regex, "semver": is_semver,
}
