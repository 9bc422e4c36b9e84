"""Splitting streams, positions of keys and items, decoding, and the public API."""

from __future__ import annotations

import pytest

from socle.core.document import Document
from socle.core.errors import InputError
from socle.formats.yaml import (
    decode,
    iter_documents,
    load_document,
    positions,
    quiet_native_stderr,
    split_documents,
)

STREAM = """\
# leading comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: first
data:
  a: "1"
---
# a comment before the second document
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: app
          image: nginx
          ports:
            - containerPort: 80
            - {containerPort: 443, name: tls}
        - name: sidecar
          env: [{name: A, value: x}]
---
{inline: yes}
---
apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Service
    metadata:
      name: s1
  - apiVersion: v1
    kind: Service
    metadata:
      name: s2
"""


def _docs() -> list[Document]:
    return list(iter_documents(STREAM.encode(), "s.yaml"))


def test_documents_know_their_index_and_first_line() -> None:
    docs = _docs()
    assert [(d.index, d.line, d.kind) for d in docs] == [
        (0, 2, "ConfigMap"), (1, 10, "Deployment"), (2, 26, ""), (3, 28, "List")]
    assert docs[2].obj == {"inline": True}


def test_positions_of_keys_and_items_in_nested_documents() -> None:
    deploy = _docs()[1]
    containers = ["spec", "template", "spec", "containers"]
    assert deploy.position_of(["metadata", "name"]) == (13, 3)
    assert deploy.position_of(containers) == (17, 7)
    assert deploy.position_of([*containers, 0]) == (18, 11)
    assert deploy.position_of([*containers, 0, "image"]) == (19, 11)
    assert deploy.position_of([*containers, 0, "ports", 1]) == (22, 15)
    assert deploy.position_of([*containers, 0, "ports", 1, "name"]) == (22, 36)
    assert deploy.position_of([*containers, 1, "env", 0, "value"]) == (24, 27)
    # a path that goes deeper than the document: the deepest known part
    assert deploy.position_of([*containers, 0, "image", "nope"]) == (19, 11)
    assert deploy.position_of(["nope"]) == (10, 0)
    assert deploy.line_of(["kind"]) == 11


def test_positions_in_the_first_document_skip_leading_comments() -> None:
    first = _docs()[0]
    assert first.position_of(["data", "a"]) == (7, 3)


def test_positions_of_kind_list_items_with_base_path() -> None:
    lst = _docs()[3]
    item = Document(obj=lst.obj["items"][1], file=lst.file, index=lst.index, line=lst.line,
                    text=lst.text, base_path=("items", 1), _locate=positions)
    assert item.position_of(["metadata", "name"]) == (38, 7)
    assert item.position_of(["kind"]) == (36, 5)
    assert item.position_of(["nope"]) == (35, 5)  # the item itself


def test_positions_with_anchors_and_merges() -> None:
    text = "base: &b\n  x: 1\nm:\n  <<: *b\n  z: 2\n"
    doc = load_document(text, "f.yaml", line=10)
    assert doc.obj == {"base": {"x": 1}, "m": {"x": 1, "z": 2}}
    assert doc.position_of(["m", "z"]) == (14, 3)
    assert doc.position_of(["base", "x"]) == (11, 3)


def test_split_documents_keeps_inline_content_and_drops_empty_documents() -> None:
    # content on the file's first "---" line is the document's (kubeconform and conftest read
    # it so); on a later "---" line it is an error (see below)
    text = "--- {a: 1}\n---\n---\n# only comment\n...\n--- # c\nb: 2\n...\n"
    assert list(split_documents(text)) == [(1, "--- {a: 1}\n"), (7, "b: 2\n")]
    assert [d.obj for d in iter_documents(text)] == [{"a": 1}, {"b": 2}]
    assert [d.obj for d in iter_documents("--- |\n  text\n...\n")] == ["text\n"]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_content_on_a_later_separator_line_is_an_error(newline: str) -> None:
    # kubectl refuses "--- {...}" ("invalid Yaml document separator"); kubeconform and conftest
    # cut there and drop the rest of the line: the ConfigMap would not be applied
    # (one error for the part: not another for its "...")
    text = ("a: 1\n--- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}}\n...\n"
            "--- |\n  text\n---\nc: 3\n")
    docs = list(iter_documents(text.replace("\n", newline), "f.yaml"))
    assert [(d.index, d.line, d.obj) for d in docs] == [
        (0, 1, {"a": 1}), (1, 2, None), (2, 4, None), (3, 7, {"c": 3})]
    for d in docs[1:3]:
        assert d.error is not None and d.error.line == d.line and d.error.file == "f.yaml"
        assert d.error.message.startswith("content on a '---' line: kubectl refuses it")


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
@pytest.mark.parametrize(("text", "lines"), [
    ("...\n---\na: 1\n", [1]),  # the file's first part
    ("# c\n\n... # end\n---\na: 1\n", [3]),
    ("...\n", [1]),
    ("a: 1\n---\n...\n", [3]),  # the stream's last part
    ("a: 1\n---\n# c\n...\n---\nb: 2\n...\n...\n", [4]),  # once per part
    ("---\n...\n---\na: 1\n", []),  # "---" starts the file: a document, empty
    ("a: 1\n...\n---\nb: 2\n...\n", []),  # "..." ends a document
    ("a: 1\n---\n---\n...\n---\nb: 2\n", []),  # kubeconform: the 2nd "---" opens the part
])
def test_a_document_end_with_no_document_is_an_error(text: str, lines: list[int],
                                                     newline: str) -> None:
    # go-yaml (behind kubectl, kubeconform and conftest) fails a part that starts with "...":
    # "did not find expected node content"
    docs = list(iter_documents(text.replace("\n", newline), "f.yaml"))
    errors = [d for d in docs if d.error is not None]
    assert [d.line for d in errors] == lines
    for d in errors:
        assert d.error is not None and d.error.line == d.line
        assert d.error.message.startswith("a '...' line with no document before it")
    assert [d.obj for d in docs if d.error is None] == [
        v for v in ({"a": 1}, {"b": 2}) if f"{next(iter(v))}: " in text]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_a_document_after_document_end_without_a_marker_is_an_error(newline: str) -> None:
    # kubectl, kubeconform and conftest cut at "---" lines and read the first document of a
    # part: "b" and "c" would be dropped without a word
    text = "a: 1\n...\nb: 2\n... # end\n# c\nc: 3\n---\nd: 4\n...\n# only a comment\n"
    docs = list(iter_documents(text.replace("\n", newline), "f.yaml"))
    assert [(d.index, d.line, d.obj) for d in docs] == [
        (0, 1, {"a": 1}), (1, 3, None), (2, 6, None), (3, 8, {"d": 4})]
    for d in docs[1:3]:
        assert d.error is not None and d.error.line == d.line
        assert d.error.message == ("this document follows a '...' line without '---': kubectl,"
                                   " kubeconform and conftest ignore it (start it with '---')")


_STREAM_LINES = ["---", "--- # c", "--- {a: 1}", "--- |", "---#x", "--- ", "...", "... # e",
                 "...\t", "....", "...x", "a: 1", "  b: 2", "- x", "  text", "# c", "", "\t",
                 "%YAML 1.1", "  %x", " ---", "----"]


def test_old_mac_line_ends_split_as_line_feeds_do() -> None:
    # a CR alone ends a line as LF does (YAML's line breaks): random streams of markers,
    # directives, comments and content, their lines ended by CR, CRLF or LF, are cut into the
    # same documents, at the same lines, as the stream with LF for every lone CR
    import random

    r = random.Random(7)
    for _ in range(3000):
        lines = [r.choice(_STREAM_LINES) for _ in range(r.randint(1, 12))]
        ends = [r.choice(["\r", "\r\n", "\n"]) for _ in lines]
        for i in range(1, len(lines)):  # (a CR, then an empty line ended by LF, is one CRLF)
            if ends[i - 1] == "\r" and not lines[i] and ends[i] != "\r":
                ends[i] = "\r"
        text = "".join(x + e for x, e in zip(lines, ends, strict=True))
        lf = "".join(x + ("\n" if e == "\r" else e) for x, e in zip(lines, ends, strict=True))
        parts = list(split_documents(text))
        assert all(c in text for _, c in parts), text  # (the documents' own line ends)
        got = [(n, type(c), c.replace("\r\n", "\n").replace("\r", "\n")) for n, c in parts]
        want = [(n, type(c), c.replace("\r\n", "\n")) for n, c in split_documents(lf)]
        assert got == want, text


def test_null_documents_count_in_the_index() -> None:
    docs = list(iter_documents("a: 1\n---\n~\n---\nb: 2\n"))
    assert [(d.index, d.obj) for d in docs] == [(0, {"a": 1}), (2, {"b": 2})]


def test_scalar_documents_and_null_documents() -> None:
    assert [d.obj for d in iter_documents("hello\n---\n~\n---\n- 1\n")] == ["hello", [1]]


def test_fast_and_reference_paths_give_the_same_document() -> None:
    for strict in (False, True):
        fast = [d.obj for d in iter_documents(STREAM, strict=strict)]
        slow = [d.obj for d in iter_documents(STREAM, strict=strict, fast=False)]
        assert fast == slow


def test_decode_handles_boms_and_reports_bad_bytes() -> None:
    assert decode("\ufeffa: 1".encode(), "f") == "a: 1"
    assert decode("a: é".encode("utf-16"), "f") == "a: é"
    with pytest.raises(InputError) as info:
        decode(b"a: 1\nb: \xff\n", "f.yaml")
    assert str(info.value).startswith("f.yaml:2: not valid UTF-8")


def test_errors_point_into_the_right_document() -> None:
    text = "a: 1\n---\nb: 2\n---\n\nc: [\n"
    with quiet_native_stderr():
        docs = list(iter_documents(text, "f.yaml"))
    assert docs[2].line == 6 and docs[2].error is not None
    assert str(docs[2].error).startswith("f.yaml:7:")


def test_control_characters_are_reported_at_their_line() -> None:
    doc = load_document("a: 1\nb: x\x01y\n", "f.yaml", line=3)
    assert str(doc.error) == ("f.yaml:4:5: malformed YAML: unacceptable character #x0001: "
                              "control characters are not allowed")


def test_quiet_native_stderr_restores_fd_2(capfd) -> None:  # type: ignore[no-untyped-def]
    import os

    with quiet_native_stderr():
        os.write(2, b"hidden\n")
    os.write(2, b"shown\n")
    assert capfd.readouterr().err == "shown\n"


def test_conftest_documents_keep_what_conftest_tests_as_null() -> None:
    from socle.formats.yaml import conftest_documents

    text = ("# header\n---\napiVersion: v1\nkind: ConfigMap\n---\n~\n---\n# note\n---\n"
            "a: 1\n--- # not a bare marker: the same part for conftest\nb: 2\n---\n")
    docs = conftest_documents(text, "f.yaml")
    assert [(d.line, d.obj) for d in docs] == [
        (1, None), (3, {"apiVersion": "v1", "kind": "ConfigMap"}), (6, None), (8, None),
        (10, {"a": 1}), (12, {"b": 2}), (13, None)]
    # the stream's documents keep the indexes every other command gives them; the parts with
    # no content come after
    assert [d.index for d in docs] == [4, 0, 1, 5, 2, 3, 6]
    assert [(d.line, d.obj) for d in conftest_documents("", "e.yaml")] == [(1, None)]
    assert [d.line for d in conftest_documents("a: 1\r\n---\r\n\r\n", "c.yaml")] == [1, 3]
    # a directive belongs to the document after it: one document, not a null and a document
    assert [d.obj for d in conftest_documents("%YAML 1.1\n---\na: 1\n", "d.yaml")] == [{"a": 1}]


@pytest.mark.parametrize(("text", "where", "written"), [
    ("a: 1\nb: .inf\n", (2, 4), ".inf"),
    ("a:\n  - 1\n  - -.Inf\n", (3, 5), "-.Inf"),
    ("a: .NaN\n", (1, 4), ".NaN"),
    ("a: !!float .inf\n", (1, 4), ".inf"),
    ("- {x: .nan}\n", (1, 7), ".nan"),
])
def test_a_value_json_cannot_hold_is_an_error(text: str, where: tuple[int, int],
                                              written: str) -> None:
    # go-yaml reads .inf and .nan, then the conversion to JSON (kubectl, kubeconform,
    # conftest) fails with "json: unsupported value": socle printed `Infinity` in its JSON
    [doc] = list(iter_documents(text, "f.yaml"))
    assert doc.error is not None
    assert (doc.error.file, doc.error.line, doc.error.column) == ("f.yaml", *where)
    assert doc.error.message == (f"`{written}` is not a number JSON can hold: kubectl, "
                                 "kubeconform and conftest cannot read this document ('json: "
                                 "unsupported value'); quote it if it is text")


def test_infinity_as_a_key_or_text_is_read() -> None:
    # a key is a string whatever it looks like; "1e400" is no float for go-yaml (out of range)
    [doc] = list(iter_documents("data:\n  .inf: a\n  b: '.nan'\n  c: 1e400\n"))
    assert doc.error is None
    assert doc.obj == {"data": {".inf": "a", "b": ".nan", "c": "1e400"}}
