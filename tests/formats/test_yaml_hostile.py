"""Hostile and odd input: every case ends in documents or a one-line error with file:line,
within bounded time and memory."""

from __future__ import annotations

import codecs
import resource
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from socle.core.errors import InputError
from socle.formats.yaml import (
    MAX_DEPTH,
    MAX_DOCUMENT_BYTES,
    DuplicateKeyError,
    iter_documents,
    load_document,
    quiet_native_stderr,
)


def _load(data: bytes | str, strict: bool = False, limit: float = 5.0) -> list:
    # CPU time, not wall time: the bound is on the work done, not on a busy CI machine
    start = time.process_time()
    with quiet_native_stderr():
        docs = list(iter_documents(data, "f.yaml", strict=strict))
    assert time.process_time() - start < limit
    return docs


def _one_error(data: bytes | str, strict: bool = False) -> InputError:
    docs = _load(data, strict)
    errors = [d.error for d in docs if d.error is not None]
    assert len(errors) == 1, docs
    err = errors[0]
    assert str(err).startswith(f"f.yaml:{err.line}"), str(err)
    assert "\n" not in str(err)
    return err


@pytest.mark.parametrize(("text", "line", "column"), [
    ("a: 1\nb: [1, 2\nc: 3\n", 3, 2),
    ("a: 1\n  b: 2\n", 2, 4),
    ("a:\n  - x\n  y: 1\n", 3, 3),
    ("a: 'unterminated\n", 2, 1),
    ("a: 1\n---\nok: 1\n---\nx: {\n", 6, 1),
    ("a: @x\n", 1, 4),
])
def test_malformed_yaml_reports_line_and_column(text: str, line: int, column: int) -> None:
    err = _one_error(text)
    assert (err.line, err.column) == (line, column), str(err)
    assert err.message.startswith("malformed YAML")


def test_a_bad_document_does_not_hide_the_others() -> None:
    docs = _load("a: 1\n---\nb: [\n---\nc: 3\n")
    assert [d.obj for d in docs if d.error is None] == [{"a": 1}, {"c": 3}]
    assert [d.line for d in docs] == [1, 3, 5]


def test_document_without_api_version_or_kind_loads() -> None:
    (doc,) = _load("metadata:\n  name: x\n")
    assert doc.error is None and doc.obj == {"metadata": {"name": "x"}}
    assert doc.kind == "" and doc.api_version == ""


def test_binary_file_is_an_input_error() -> None:
    data = bytes(range(256)) * 64
    with pytest.raises(InputError) as info:
        _load(data)
    assert str(info.value).startswith("f.yaml:1: binary file")


def test_latin1_file_is_an_input_error_with_its_line() -> None:
    data = "a: 1\nb: caf\u00e9\n".encode("latin-1")
    with pytest.raises(InputError) as info:
        _load(data)
    assert str(info.value).startswith("f.yaml:2: not valid UTF-8")
    assert "0xe9" in str(info.value)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig"])
def test_unicode_with_bom_loads(codec: str) -> None:
    text = "kind: ConfigMap\ndata:\n  name: caf\u00e9 \U0001f600\n"
    data = text.encode(codec)
    if codec in ("utf-16-le", "utf-16-be"):
        data = (codecs.BOM_UTF16_LE if codec.endswith("le") else codecs.BOM_UTF16_BE) + data
    (doc,) = _load(data)
    assert doc.obj == {"kind": "ConfigMap", "data": {"name": "caf\u00e9 \U0001f600"}}
    assert doc.position_of(["data", "name"]) == (3, 3)


@pytest.mark.parametrize("data", [b"", b"\n\n", b"# only a comment\n# another\n", b"---\n",
                                  b"--- # c\n...\n", b"\xef\xbb\xbf", b"---\n---\n\n---\n"])
def test_empty_and_comment_only_files_have_no_documents(data: bytes) -> None:
    assert _load(data) == []


def test_billion_laughs_is_refused_quickly_in_bounded_memory() -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        refs = ",".join(f"*a{i - 1}" for _ in range(9))
        lines.append(f"a{i}: &a{i} [{refs}]")
    tracemalloc.start()
    try:
        err = _one_error("\n".join(lines) + "\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert "aliases expand" in err.message
    assert peak < 50 * 1024 * 1024


def test_aliases_within_limits_still_load() -> None:
    (doc,) = _load("a: &x {b: [1, 2]}\nc: *x\nd: [*x, *x]\n")
    assert doc.obj["d"] == [{"b": [1, 2]}, {"b": [1, 2]}]


@pytest.mark.parametrize("style", ["flow-seq", "flow-map", "block-seq", "block-map",
                                   "block-indented-seq"])
def test_deep_nesting_is_refused(style: str) -> None:
    n = 10_000
    if style == "flow-seq":
        text = "a: " + "[" * n + "]" * n + "\n"
    elif style == "flow-map":
        text = "a: " + "{a: " * n + "1" + "}" * n + "\n"
    elif style == "block-seq":  # compact nested sequences: 10,000 levels on one line
        text = "a:\n" + "- " * n + "x\n"
    elif style == "block-map":  # one space of indentation a level: 2,000 levels, 2 MB
        n = 2_000
        text = "".join(" " * i + f"k{i}:\n" for i in range(n)) + " " * n + "x: 1\n"
    else:  # 10,000 indented levels need 50 MB of indentation: refused for its size
        text = "".join(" " * i + "-\n" for i in range(n)) + " " * n + "- x\n"
    err = _one_error(text)
    assert err.line == 1
    if style == "block-indented-seq":
        assert "larger than" in err.message
    else:  # one message whichever reader (rapidyaml's gate, PyYAML, the depth check) found it
        assert err.message == f"nesting deeper than {MAX_DEPTH} levels; refusing to read it"


def test_nesting_at_the_limit_loads() -> None:
    depth = MAX_DEPTH - 1
    (doc,) = _load("[" * depth + "]" * depth + "\n")
    assert doc.error is None


def test_document_over_the_size_limit_is_refused_without_parsing() -> None:
    line = "k: " + "x" * 1000 + "\n"
    text = "a: 1\n---\n" + line * (MAX_DOCUMENT_BYTES // len(line) + 2) + "---\nb: 2\n"
    docs = _load(text, limit=10.0)
    assert [d.obj for d in docs if d.error is None] == [{"a": 1}, {"b": 2}]
    (big,) = [d for d in docs if d.error is not None]
    assert big.line == 3 and "larger than" in big.error.message  # type: ignore[union-attr]


def _rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_a_100_mb_stream_is_read_one_document_at_a_time(tmp_path: Path) -> None:
    doc = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-{i}\ndata:\n"
           + "".join(f"  key{j}: value-{j}-abcdefghijklmnopqrstuvwxyz\n" for j in range(1500))
           + "---\n")
    path = tmp_path / "big.yaml"
    with path.open("w") as f:
        written = i = 0
        while written < 100 * 1024 * 1024:
            chunk = doc.format(i=i)
            f.write(chunk)
            written += len(chunk)
            i += 1
    data = path.read_bytes()
    before = _rss_bytes()
    start = time.process_time()
    count = 0
    stream: Iterator = iter_documents(data, str(path))
    for d in stream:
        assert d.error is None
        count += 1
    elapsed = time.process_time() - start
    growth = _rss_bytes() - before
    assert count == i
    assert growth < 300 * 1024 * 1024, f"peak RSS grew by {growth / 2**20:.0f} MiB"
    assert elapsed < 60


def test_duplicate_keys_in_strict_mode_name_the_duplicate_line() -> None:
    text = "a: 1\n---\nmetadata:\n  name: w\n  labels: {}\n  name: z\n"
    err = _one_error(text, strict=True)
    assert isinstance(err, DuplicateKeyError)
    assert err.line == 6 and "name" in err.message
    docs = _load(text)  # not strict: the last one wins, as go-yaml does
    assert docs[1].obj["metadata"]["name"] == "z"


def test_duplicate_keys_in_strict_mode_on_the_fast_path_too() -> None:
    doc = load_document("a: 1\nb: 2\na: 3\n", "f.yaml", strict=True)
    assert isinstance(doc.error, DuplicateKeyError) and doc.error.line == 3


def test_tabs() -> None:
    (doc,) = _load("a:\tb\nc: [1,\t2]\n")
    assert doc.obj == {"a": "b", "c": [1, 2]}
    err = _one_error("a:\n\tb: 1\n")
    assert err.line == 2


def test_crlf_line_endings_keep_line_numbers() -> None:
    text = "a: 1\r\n---\r\nkind: X\r\nspec:\r\n  items:\r\n    - one\r\n    - two\r\n"
    docs = _load(text.encode())
    assert docs[1].obj == {"kind": "X", "spec": {"items": ["one", "two"]}}
    assert docs[1].line == 3
    assert docs[1].position_of(["spec", "items", 1]) == (7, 7)
    err = _one_error("a: 1\r\nb: [\r\n")
    assert err.line == 3


def test_form_feed_and_other_breaks_do_not_shift_line_numbers() -> None:
    docs = _load('a: "x\x0cy\x1cz"\n---\nb: 1\nc: 2\n')
    assert docs[0].error is not None and docs[0].error.line == 1  # control characters
    assert docs[1].line == 3 and docs[1].position_of(["c"]) == (4, 1)


def test_document_markers_inside_block_scalars_and_quotes() -> None:
    docs = _load("a: |\n  ---\n  ...\nb: 1\n---\nc: 2\n")
    assert [d.obj for d in docs] == [{"a": "---\n...\n", "b": 1}, {"c": 2}]


def test_document_end_markers() -> None:
    docs = _load("a: 1\n...\n---\nb: 2\n...\n# trailing\n")
    assert [(d.obj, d.line) for d in docs] == [({"a": 1}, 1), ({"b": 2}, 4)]


def test_directives() -> None:
    docs = _load("%YAML 1.1\n%TAG !e! tag:example.com,2000:\n---\na: !e!x 1\n---\nb: yes\n")
    assert [d.obj for d in docs] == [{"a": "1"}, {"b": True}]
    assert docs[0].position_of(["a"]) == (4, 1)


def test_rapidyaml_error_text_never_reaches_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    with quiet_native_stderr():
        docs = list(iter_documents("a: [1, 2\nb: c\n---\n{x: :0}\n", "f.yaml"))
    assert docs[0].error is not None
    captured = capfd.readouterr()
    assert captured.err == ""
