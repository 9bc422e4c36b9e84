"""INI in conftest's shape: sections of typed values, go-ini's rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.errors import InputError
from socle.formats import ini

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def test_grafana_file() -> None:
    doc = ini.parse((FIXTURES / "grafana.ini").read_bytes(), "grafana.ini")[0]
    assert "app_mode" not in doc.obj  # keys before any section are conftest's dropped DEFAULT
    assert doc.obj["server"]["http_port"] == 3000
    assert doc.obj["server"]["enable_gzip"] is True
    assert doc.obj["users"]["allow_sign_up"] is False
    assert doc.obj["users"]["default_theme"] == "dark"  # quotes removed
    assert doc.obj["auth.basic"] == {"enabled": True}
    assert doc.obj["alerting"]["evaluation_timeout_seconds"] == 3.5
    assert doc.line_of(["users", "allow_sign_up"]) == 15


def test_go_ini_value_rules() -> None:
    text = (
        "[s]\n"
        "url = http://x/#top\n"          # inline comment cuts the value
        "quoted = \"a#b\"\n"             # ... even in quotes (go-ini does so)
        "colon: value\n"
        "t = t\nf = F\nhex = 0x1p4\nbig = 1e400\nnan = NaN\nsci = 1e3\nlead = 007\n"
        "multi = \"\"\"line1\nline2\"\"\"\n"
        "cont = a \\\n  b\n"
        "- = first\n- = second\n"
        "[s]\n"
        "again = merged\n"
    )
    obj = ini.parse(text.encode(), "x.ini")[0].obj
    assert obj == {"s": {
        "url": "http://x/", "quoted": '"a', "colon": "value", "t": True, "f": False,
        "hex": 16, "big": "1e400", "nan": "NaN", "sci": 1000, "lead": 7,
        "multi": "line1\nline2", "cont": "a b", "#1": "first", "#2": "second",
        "again": "merged",
    }}


@pytest.mark.parametrize(("text", "line", "message"), [
    ("[ok]\na = 1\n[broken\n", 3, "unclosed section"),
    ("[s]\na = 1\njust a line\n", 3, "key-value delimiter not found"),
    ("[s]\nv = \"\"\"never closed\nmore\n", 2, "missing closing"),
])
def test_malformed(text: str, line: int, message: str) -> None:
    with pytest.raises(InputError) as err:
        ini.parse(text.encode(), "bad.ini")
    assert err.value.line == line
    assert message in err.value.message
