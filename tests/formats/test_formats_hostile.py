"""Hostile input for every format `socle test` and `socle parse` read: numbers no reader
should turn into a Python int (thousands of digits: Python refuses to make an int of more than
4,300 digits, and one that large is slow; an exponent in the millions), nesting deeper than
Python recurses, an entry continued over thousands of lines. Each is read as conftest reads
it, or refused with one line, quickly: never a traceback or a hang."""

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


_DEEP = 5000


@pytest.mark.parametrize(("name", "text"), [
    ("main.tf", "a = " + "[" * _DEEP + "]" * _DEEP + "\n"),
    ("a.toml", "a = " + "[" * _DEEP + "]" * _DEEP + "\n"),
    ("b.toml", "a = " + "{b = " * _DEEP + "1" + "}" * _DEEP + "\n"),
    ("a.xml", "<a>" * _DEEP + "</a>" * _DEEP),
    ("a.json", "[" * 100_000 + "]" * 100_000),
    ("a.yaml", "a: " + "[" * _DEEP + "]" * _DEEP + "\n"),
])
def test_deep_nesting_is_refused_in_one_line(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text, encoding="utf-8")
    r = run_socle("parse", name, cwd=tmp_path, timeout=60)
    assert "Traceback" not in r.err, r.err[-300:]
    assert r.code == 2 and "nesting deeper than" in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_an_entry_continued_over_thousands_of_lines_is_refused_quickly(tmp_path: Path) -> None:
    # the properties reader takes time quadratic in them (100,000 lines: minutes)
    (tmp_path / "a.properties").write_text("b=1\na=" + "x\\\n" * 100_000 + "y\n",
                                           encoding="utf-8")
    r = run_socle("parse", "a.properties", cwd=tmp_path, timeout=30)
    assert r.code == 2
    assert r.err == ("socle parse: a.properties:2: malformed properties file: an entry "
                     "continued over more than 2,000 lines; refusing to read it\n")
    (tmp_path / "crlf.properties").write_bytes(b"a=" + b"x\\\r\n" * 100_000 + b"y\r\n")
    assert run_socle("parse", "crlf.properties", cwd=tmp_path, timeout=30).code == 2
    (tmp_path / "ok.properties").write_text("a=" + "x\\\n" * 1500 + "y\n", encoding="utf-8")
    assert run_socle("parse", "ok.properties", cwd=tmp_path, timeout=30).code == 0


@pytest.mark.parametrize(("name", "text"), [
    ("flow.yaml", "a: " + "[" * 30_000 + "]" * 30_000 + "\n"),
    ("braces.yaml", "{a: " * 50_000 + "1" + "}" * 50_000 + "\n"),
    ("dashes.yaml", "- " * 100_000 + "x\n"),
    ("deep.json", "[" * 100_000 + "]" * 100_000),  # (read as YAML after JSON gives up)
])
@pytest.mark.parametrize("command", ["parse", "validate"])
def test_yaml_nested_tens_of_thousands_deep_is_refused_not_a_crash(
        tmp_path: Path, name: str, text: str, command: str) -> None:
    # the reference loader composes recursively, partly in C: these overflowed the C stack
    # and killed the process (a segmentation fault, exit 139)
    (tmp_path / name).write_text(text, encoding="utf-8")
    r = run_socle(command, name, cwd=tmp_path, timeout=60)
    assert r.code == 2, (r.code, r.err[-300:])
    assert "nesting deeper than" in r.out + r.err and "Traceback" not in r.err
