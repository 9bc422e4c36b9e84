"""Large files in pieces: the documents the workers share match a whole-file read."""

from __future__ import annotations

from pathlib import Path

import pytest

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


def test_plan_spreads_files_and_cuts_only_large_ones(tmp_path: Path) -> None:
    small = tmp_path / "small.yaml"
    small.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    big = tmp_path / "big.yaml"
    big.write_text(_stream(3000))
    mid = [tmp_path / f"m{i}.yaml" for i in range(2)]
    for m in mid:
        m.write_text(_stream(1000))  # ~0.5 MB each: none over the cut size
    assert all(256 * 1024 < m.stat().st_size < v.SPLIT_BYTES for m in mid)
    srcs = [Source(str(p)) for p in (small, big)]

    one = v.plan(srcs, None, 1)  # one worker: this process does everything
    assert not one.parallel and one.items == [] and one.split == {}
    assert not v.plan([Source(str(small))], None, 2).parallel  # too little to fork for

    two = v.plan(srcs, None, 2)
    assert two.parallel and two.items[0] == str(small)
    assert list(two.split) == [str(big)] and two.items[1:] == two.split[str(big)]
    # progress moves with every piece: the small file is one step, the big one one per piece
    assert two.steps(2) == 1 + len(two.split[str(big)]) == len(two.items)
    assert two.done(two.items[:3]) == 3

    files = v.plan([Source(str(m)) for m in mid], None, 2)
    assert files.parallel and files.items == [str(m) for m in mid] and files.split == {}

    piped = v.plan([], _stream(3000).encode(), 2)  # a large stream on stdin is cut too
    assert piped.parallel and list(piped.split) == ["-"] and piped.items == piped.split["-"]
    assert not v.plan([], b"kind: x\n" * 10, 2).parallel  # a small one is read in-process


def test_progress_counts_the_pieces_of_one_large_file(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    # one large file on a terminal: the count moves piece by piece instead of sitting at 0/1
    from socle.schema.validator import ValidateOptions, validate_paths

    big = tmp_path / "big.yaml"
    big.write_text(_stream(3000))
    n = len(v.split_file(Source(str(big))) or [])
    report = validate_paths([str(big)], ValidateOptions(workers=2, progress=True))
    assert len(report.documents) == 3000
    err = capsys.readouterr().err
    assert n > 4 and f"validating files {n}/{n}" in err
