"""Numbers no reader should turn into a Python int: thousands of digits (Python refuses to
make an int of more than 4,300 digits, and one that large is slow) or an exponent in the
millions. Each is read as conftest reads it, or refused with one line, quickly."""

from __future__ import annotations

from pathlib import Path

import pytest

from socle_testing import run_socle

DIGITS = "9" * 5000


@pytest.mark.parametrize(("name", "text", "code", "expected"), [
    ("a.yaml", f"a: {DIGITS}\n", 0, f'"a": "{DIGITS}"'),  # go-yaml: not a number, a string
    ("a.yaml", f"a: 0x{'F' * 5000}\n", 0, '"a": "0xFFF'),
    ("a.json", f'{{"a": {DIGITS}}}', 2, "a number with thousands of digits"),
    ("a.json", f'{{\n  "b": [1,\n  -{DIGITS}]}}', 2, "a.json:3:3: malformed JSON"),
    ("a.toml", f"a = {DIGITS}\n", 2, "a number with thousands of digits"),
    ("main.tf", f"a = {DIGITS}\n", 2, "larger than a float can hold"),
    ("main.tf", "a = 1e99999999\n", 2, "larger than a float can hold"),
    ("main.tf", "a = -1e99999999\n", 2, "larger than a float can hold"),
    ("a.ini", f"[s]\na = {DIGITS}\n", 0, DIGITS),
    ("a.properties", f"a={DIGITS}\n", 0, DIGITS),
])
def test_huge_numbers_are_read_or_refused_in_one_line(tmp_path: Path, name: str, text: str,
                                                       code: int, expected: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    r = run_socle("parse", name, cwd=tmp_path, timeout=30)
    assert "Traceback" not in r.err, r.err[-500:]
    assert r.code == code, r.err
    assert expected in (r.out if code == 0 else r.err)
    if code:
        assert len(r.err.strip().splitlines()) == 1


def test_a_manifest_with_a_huge_number_is_validated(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text(
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  big: {DIGITS}\n",
        encoding="utf-8")
    r = run_socle("validate", "cm.yaml", cwd=tmp_path, timeout=30)
    assert "Traceback" not in r.err
    assert r.code == 0, r.out + r.err  # (a string, as data wants)
