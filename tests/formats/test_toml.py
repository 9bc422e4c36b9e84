"""TOML as conftest gives it (BurntSushi/toml into JSON values)."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.errors import InputError
from socle.formats import toml

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def test_config_file() -> None:
    doc = toml.parse((FIXTURES / "config.toml").read_bytes(), "config.toml")[0]
    assert doc.format == "toml"
    assert doc.obj["build"]["environment"]["NODE_VERSION"] == "20"
    assert [r["status"] for r in doc.obj["redirects"]] == [301, 200]
    assert doc.obj["released"] == "2024-05-01T10:30:00Z"


def test_dates_as_go_marshals_them() -> None:
    obj = toml.parse(b"a = 1979-05-27T07:32:00.500-08:00\nb = 1979-05-27\n"
                     b"c = 07:32:00\nd = 1979-05-27T07:32:00\n", "t.toml")[0].obj
    assert obj == {"a": "1979-05-27T07:32:00.5-08:00", "b": "1979-05-27T00:00:00Z",
                   "c": "0000-01-01T07:32:00Z", "d": "1979-05-27T07:32:00Z"}


@pytest.mark.parametrize(("text", "line"), [
    (b"a = 1\nb = \n", 2),
    (b"[a\n", 1),
    (b"ok = 1\nx = inf\n", 2),
    (b"a = 1\na = 2\n", 2),
])
def test_malformed(text: bytes, line: int) -> None:
    with pytest.raises(InputError) as err:
        toml.parse(text, "bad.toml")
    assert err.value.line == line
