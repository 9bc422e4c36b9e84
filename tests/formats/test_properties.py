"""Java .properties as conftest gives them (magiconair/properties' Map()): a flat map."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.errors import InputError
from socle.formats import properties

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def test_spring_file() -> None:
    doc = properties.parse((FIXTURES / "application.properties").read_bytes(),
                           "application.properties")[0]
    assert doc.obj["server.port"] == "8080"
    assert doc.obj["spring.datasource.url"] == "jdbc:postgresql://db:5432/${db.name}"
    assert doc.obj["spring.datasource.password"] == "changeme"
    assert doc.obj["management.endpoints.web.exposure.include"] == "health,info,metrics"
    assert doc.obj["greeting"] == "café"
    assert doc.obj["logging.level.root"] == "WARN"
    assert doc.line_of(["db.name"]) == 5


@pytest.mark.parametrize(("text", "line", "message"), [
    (b"a=1\nb=${c}\nc=${b}\n", 2, "circular reference"),
    (b"a=1\nb=${never\n", 2, "malformed expression"),
    (b"# c\n\nbad=\\uZZZZ\n", 3, "escape"),
])
def test_malformed(text: bytes, line: int, message: str) -> None:
    with pytest.raises(InputError) as err:
        properties.parse(text, "bad.properties")
    assert err.value.line == line
    assert message in err.value.message


@pytest.mark.parametrize("line", ["=value", "  : value", "\t=\n"])
def test_an_entry_without_a_key_is_refused_as_conftest_refuses_it(line: str) -> None:
    # (Java reads the key ""; magiconair/properties, conftest's reader, stops at it)
    with pytest.raises(InputError) as err:
        properties.parse(f"a=1\n{line}\nb=2\n".encode(), "app.properties")
    assert err.value.line == 2 and "without a key" in err.value.message
