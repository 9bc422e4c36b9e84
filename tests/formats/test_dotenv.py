"""dotenv files as conftest gives them (gotenv's strict parser): a flat map of strings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from socle import formats
from socle.core.errors import InputError
from socle.formats import dotenv

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "fixtures" / "formats"


def test_app_env() -> None:
    doc = dotenv.parse((FIXTURES / "app.env").read_bytes(), "app.env")[0]
    assert doc.obj == {
        "APP_NAME": "shop", "APP_ENV": "production", "DB_HOST": "db.internal",
        "DB_USER": "root", "DB_PASSWORD": "s3cr3t$notavar",
        "DATABASE_URL": "postgres://root@db.internal/shop",
        "FEATURE_FLAGS": "checkout,search", "EMPTY": "",
    }
    assert doc.line_of(["DB_USER"]) == 5


def test_quoting_and_expansion() -> None:
    obj = dotenv.parse(b'A="x\\ny"\nB: yaml-style\nC=\\$A\nD="$A-${HOME_IS_NOT_READ}"\n',
                       ".env")[0].obj
    assert obj == {"A": "x\ny", "B": "yaml-style", "C": "$A", "D": "x\ny-"}


def test_process_environment_is_never_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(os.environ, "SOCLE_TEST_SECRET", "leak")
    assert dotenv.parse(b"X=${SOCLE_TEST_SECRET}\n", ".env")[0].obj == {"X": ""}


def test_file_names() -> None:
    for name in (".env", "deploy/.env.prod", "prod.env"):
        assert formats.name_for_path(name) == "dotenv", name


@pytest.mark.parametrize(("text", "line"), [
    (b"A=1\nthis is not an assignment\n", 2),
    (b"export UNSET\n", 1),
])
def test_malformed(text: bytes, line: int) -> None:
    with pytest.raises(InputError) as err:
        dotenv.parse(text, ".env")
    assert err.value.line == line


def test_a_quoted_value_goes_on_over_lines_until_its_quote() -> None:
    text = b'A="one\n  two \\" still\nthree"\nB=\'x\ny\'\r\nC=after\rD=cr\n'
    doc = dotenv.parse(text, ".env")[0]
    assert doc.obj == {"A": 'one\n  two " still\nthree', "B": "x\ny", "C": "after", "D": "cr"}
    assert [doc.line_of([k]) for k in "ABCD"] == [1, 4, 6, 7]


def test_an_unclosed_quote_is_an_error_at_its_line() -> None:
    with pytest.raises(InputError) as err:
        dotenv.parse(b'A=1\nB="open\nC=2\n', ".env")
    assert err.value.line == 2 and err.value.message.startswith("missing quotes")


def test_error_messages_stay_on_one_line() -> None:
    with pytest.raises(InputError) as err:
        dotenv.parse(b"A=1\nBAD\x0bLINE here\n", ".env")
    assert "\n" not in str(err.value) and "\\x0b" in err.value.message
