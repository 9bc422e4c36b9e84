"""JSON with comments and trailing commas, as conftest reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.errors import InputError
from socle.formats import jsonc

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def test_devcontainer() -> None:
    doc = jsonc.parse((FIXTURES / "devcontainer.jsonc").read_bytes(), "devcontainer.jsonc")[0]
    assert doc.format == "jsonc"
    assert doc.obj["forwardPorts"] == [8080, 2345]
    assert doc.obj["customizations"] == {"vscode": {"extensions": ["golang.go"]}}
    assert doc.line_of(["remoteUser"]) == 8


def test_comment_markers_inside_strings_are_text() -> None:
    obj = jsonc.parse(b'{"url": "http://x//y", "glob": "/*.go", "q": "a\\"//b",}', "a.jsonc")
    assert obj[0].obj == {"url": "http://x//y", "glob": "/*.go", "q": 'a"//b'}


@pytest.mark.parametrize(("text", "line"), [
    (b'{\n  "a": 1 // no comma\n  "b": 2\n}', 3),
    (b'{\n "a": 1 /* never closed\n}', 2),
    (b"[1,,2]", 1),
])
def test_malformed(text: bytes, line: int) -> None:
    with pytest.raises(InputError) as err:
        jsonc.parse(text, "bad.jsonc")
    assert err.value.line == line
