"""TOML, read as conftest reads it (BurntSushi/toml into plain JSON values).

Tables become objects, arrays lists, integers and floats numbers. Date and time values become
the strings Go's ``time.Time`` marshals to (RFC 3339 with nanoseconds trimmed); local dates,
times and date-times get the ``Z`` offset, as conftest gives them on a machine that runs in
UTC. ``inf`` and ``nan`` have no JSON form, so conftest fails on them; so does socle, with the
line.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import tomllib
from typing import Any

from socle.core.document import Document
from socle.core.errors import InputError
from socle.formats import yaml as _yaml

name = "toml"
extensions = (".toml",)

_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")
_AT_END = re.compile(r"\(at end of document\)")
_NONFINITE = re.compile(r"=\s*[+-]?(?:inf|nan)\b")


def _go_time(value: _dt.datetime, year: int | None = None) -> str:
    """``time.Time.MarshalJSON``: RFC 3339 with the fraction's trailing zeros trimmed."""
    text = (f"{value.year if year is None else year:04d}-{value.month:02d}-{value.day:02d}"
            f"T{value.hour:02d}:{value.minute:02d}:{value.second:02d}")
    if value.microsecond:
        text += ("." + f"{value.microsecond:06d}").rstrip("0")
    offset = value.utcoffset()
    if offset is None or not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"{text}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _plain(value: Any, text: str, file: str) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v, text, file) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v, text, file) for v in value]
    if isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isinf(value) or math.isnan(value):
            hit = _NONFINITE.search(text)
            line = text[: hit.start()].count("\n") + 1 if hit else 1
            raise InputError(f"TOML value {value} has no JSON form", file, line)
        return value
    if isinstance(value, _dt.datetime):
        return _go_time(value)
    if isinstance(value, _dt.date):
        return _go_time(_dt.datetime(value.year, value.month, value.day))
    if isinstance(value, _dt.time):
        # BurntSushi gives a local time as 0000-01-01 in Go's calendar
        return _go_time(_dt.datetime(1, 1, 1, value.hour, value.minute, value.second,
                                     value.microsecond, value.tzinfo), year=0)
    raise InputError(f"unsupported TOML value {value!r}", file, 1)  # pragma: no cover


def _loads(text: str, path: str) -> dict[str, Any]:
    """tomllib's reading, its errors as input errors at their line."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        message = str(err)
        hit = _AT_LINE.search(message)
        if hit:
            line, column = int(hit.group(1)), int(hit.group(2))
        else:
            line, column = (text.count("\n") + 1 if _AT_END.search(message) else 1), 0
        message = _AT_LINE.sub("", _AT_END.sub("", message)).strip()
        raise InputError(f"malformed TOML: {message}", path, line, column or None) from None
    except ValueError:  # Python's limit on the digits of an int (4,300)
        raise InputError("malformed TOML: a number with thousands of digits (conftest cannot "
                         "read it)", path, 1) from None


def parse(data: bytes, path: str) -> list[Document]:
    text = _yaml.decode(data, path)
    if not text.strip():
        return []
    obj = _yaml.read_within_depth(lambda: _plain(_loads(text, path), text, path), path)
    return [Document(obj=obj, file=path, index=0, line=1, text=text, format=name)]
