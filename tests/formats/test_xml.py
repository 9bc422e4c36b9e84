"""XML in conftest's (goxml2json) shape."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.errors import InputError
from socle.formats import xml

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def test_pom() -> None:
    obj = xml.parse((FIXTURES / "pom.xml").read_bytes(), "pom.xml")[0].obj
    project = obj["project"]
    assert project["-xmlns"] == "http://maven.apache.org/POM/4.0.0"
    assert project["-xsi"] == "http://www.w3.org/2001/XMLSchema-instance"
    assert project["version"] == "1.4.2"
    assert project["properties"] == {"java.version": "17", "skipTests": "false"}
    deps = project["dependencies"]["dependency"]
    assert [d["artifactId"] for d in deps] == ["log4j-core", "junit"]
    plugin = project["build"]["plugins"]["plugin"]  # one element: an object, not a list
    assert plugin["-enabled"] == "true"
    assert plugin["configuration"] == {"release": "17"}


def test_text_and_typing_rules() -> None:
    obj = xml.parse(b'<r a="x"><n>1</n><m>12</m><z>007</z><f>1.5</f><v>1.2.3</v><e/>'
                    b"<t>null</t><mixed k='v'>first<c/> last </mixed>"
                    b"<ns:q xmlns:ns='u'>&amp;<![CDATA[<raw>]]></ns:q></r>", "r.xml")[0].obj
    assert obj == {"r": {
        "-a": "x", "n": "1", "m": "12", "z": "007", "f": "1.5", "v": "1.2.3", "e": "",
        "t": "null", "mixed": {"-k": "v", "c": "", "#content": "last"},
        "q": {"-ns": "u", "#content": "<raw>"},
    }}


@pytest.mark.parametrize(("text", "line"), [
    (b"<a>\n<b></a>\n", 2),
    (b"<a/>\n<b/>\n", 2),
    (b'<!DOCTYPE a [\n<!ENTITY lol "lol">\n]>\n<a>&lol;</a>\n', 2),
])
def test_malformed(text: bytes, line: int) -> None:
    with pytest.raises(InputError) as err:
        xml.parse(text, "bad.xml")
    assert err.value.line == line


@pytest.mark.parametrize(("declaration", "message"), [
    ('<?xml version="1.1"?>', 'malformed XML: unsupported XML version "1.1"'),
    ('<?xml version="1.0" encoding="UF-8"?>', 'malformed XML: unknown encoding "UF-8"'),
])
def test_a_declaration_go_cannot_read_is_refused(declaration: str, message: str) -> None:
    # (conftest's reader gives up on these and tests "" instead: socle says why)
    with pytest.raises(InputError) as err:
        xml.parse(f"{declaration}\n<a>1</a>\n".encode(), "a.xml")
    assert (err.value.line, err.value.message) == (1, message)
    assert xml.parse(b'<?xml version="1.0" encoding="utf-8"?>\n<a>1</a>\n', "a.xml")[0].obj \
        == {"a": "1"}
