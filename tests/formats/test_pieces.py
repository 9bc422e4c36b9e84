"""Large files in pieces: the documents the workers share match a whole-file read."""

from __future__ import annotations

from pathlib import Path

from socle.core.sources import Source
from socle.formats import pieces as v
from socle.formats.yaml import split_documents


def _stream(n: int) -> str:
    docs = []
    for i in range(n):
        docs.append(f"# doc {i}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
                    f"data:\n  k: \"{'x' * (i % 900)}\"\n")
        if i % 97 == 0:
            docs.append("# only a comment\n")  # an empty document keeps its index
    return "---\n".join(docs)


def test_pieces_cover_every_document_with_the_whole_files_index_and_line(
        tmp_path: Path) -> None:
    text = _stream(3000)
    path = tmp_path / "big.yaml"
    path.write_text(text)
    assert path.stat().st_size > v.SPLIT_BYTES
    pieces = v.split_file(Source(str(path)))
    assert pieces is not None and len(pieces) > 4
    assert [p.last for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert all(p.file == str(path) for p in pieces)
    flat = [part for p in pieces for part in p.parts]
    assert flat == [(i, line, chunk) for i, (line, chunk) in enumerate(split_documents(text))]
    # bytes given (stdin) give the same pieces
    again = v.split_file(Source("-"), text.encode())
    assert again is not None
    assert [part for p in again for part in p.parts] == flat and again[0].file == "stdin"


def test_json_and_unreadable_files_are_left_whole(tmp_path: Path) -> None:
    j = tmp_path / "big.json"
    j.write_text('{"apiVersion": "v1", "kind": "List", "items": []}')
    assert v.split_file(Source(str(j))) is None
    bad = tmp_path / "latin1.yaml"
    bad.write_bytes("kind: caf\xe9\n".encode("latin-1"))
    assert v.split_file(Source(str(bad))) is None  # the worker reports the bad byte
    assert v.split_file(Source(str(tmp_path / "gone.yaml"))) is None
