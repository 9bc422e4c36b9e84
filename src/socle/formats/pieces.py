"""Large inputs in pieces: one big YAML file or stream shared by worker processes.

A YAML file or stream larger than :data:`SPLIT_BYTES` (one ``helm template`` output, a
cluster dump) is cut, in the parent, into pieces of about ``_PIECE_BYTES`` of whole documents,
which the workers take as they take files (``socle validate``, ``check``, ``scan``): one file no
longer runs on one core while the others wait. Each piece keeps every document's index in the
file and first line, so what a worker reports is what a whole-file read reports.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from socle.core.document import Document
from socle.core.errors import InputError
from socle.core.sources import Source

SPLIT_BYTES = 1024 * 1024
_PIECE_BYTES = 256 * 1024


@dataclass(slots=True)
class Piece:
    """Some consecutive documents of one large YAML file: (index, first line, text) each."""

    file: str  # as reported (``stdin`` for -)
    path: str  # as given (``-`` for stdin), for per-path settings
    parts: list[tuple[int, int, str]]
    last: bool = False  # the file's last piece
    # the file's parts conftest tests as null for want of content: (line, index), on its
    # last piece (see socle.formats.yaml.conftest_documents)
    empty: tuple[tuple[int, int], ...] = ()

    @property
    def whole(self) -> bool:
        """Whether this piece is the whole file (its first and last)."""
        return self.last and (not self.parts or self.parts[0][0] == 0)


def split_file(source: Source, data: bytes | None = None, policies: bool = False
               ) -> list[Piece] | None:
    """A large YAML file's documents in pieces, with the indexes and lines a whole-file read
    gives them; None when the file is better read whole (JSON, or a file that cannot be read
    or decoded: the worker reading it reports why). ``data``: the file's bytes if at hand;
    ``policies``: conftest policies will read it (its empty parts are found, see Piece)."""
    from socle import formats
    from socle.formats.yaml import conftest_empty_parts, decode, split_documents

    if not source.is_stdin and formats.name_for_path(source.path) == "json":
        return None
    name = source.display
    try:
        text = decode(source.read() if data is None else data, name)
    except (InputError, OSError):
        return None
    pieces: list[Piece] = []
    parts: list[tuple[int, int, str]] = []
    size = 0
    for index, (line, chunk) in enumerate(split_documents(text)):
        parts.append((index, line, chunk))
        size += len(chunk)
        if size >= _PIECE_BYTES:
            pieces.append(Piece(name, source.path, parts))
            parts, size = [], 0
    if parts or not pieces:
        pieces.append(Piece(name, source.path, parts))
    pieces[-1].last = True
    if policies:
        pieces[-1].empty = tuple(conftest_empty_parts(text, sum(len(p.parts) for p in pieces)))
    return pieces


def piece_documents(piece: Piece, strict: bool, fast: bool, keep_null: bool = False
                    ) -> Iterator[Document]:
    """A piece's documents, as :func:`socle.formats.yaml.iter_documents` reads a whole
    file's."""
    from socle.formats.yaml import load_documents

    return load_documents(piece.parts, piece.file, strict, fast, keep_null)


def files_of(items: Sequence[str | Piece], most: int = 3) -> str:
    """The files of some work items (paths, pieces), for a message: the first ``most``,
    then "..." if there are more."""
    names = list(dict.fromkeys(i if isinstance(i, str) else i.file for i in items))
    return ", ".join(names[:most]) + (" ..." if len(names) > most else "")


@dataclass(slots=True)
class Plan:
    """How a run's inputs are spread over worker processes."""

    parallel: bool
    items: list[str | Piece]  # file paths and the pieces of large files, in input order
    split: dict[str, list[Piece]]  # the pieces of each large file (``-`` for stdin)

    def steps(self, files: int) -> int:
        """Progress steps for a run of ``files`` inputs: one per file, and one per piece of a
        large file (so that the count moves while one large file is read)."""
        return files + sum(len(p) - 1 for p in self.split.values())

    def done(self, batch: list[str | Piece]) -> int:
        """The progress steps a finished batch makes (see :meth:`steps`)."""
        return len(batch)


# below this much input in all, one process does the work (forking costs more)
_PARALLEL_BYTES = 256 * 1024


def plan(files: list[Source], stdin: bytes | None, workers: int, policies: bool = False
         ) -> Plan:
    """Whether ``files`` (and ``stdin``'s bytes, when read) go to ``workers`` processes, and
    in which items: a path per file, pieces for a file or stream over :data:`SPLIT_BYTES`.
    Standard input is in the items only when it is split; else the caller reads it itself.
    ``policies``: see :func:`split_file`."""
    sizes = [s.size() for s in files]
    stdin_size = len(stdin or b"")
    big = workers > 1 and max([*sizes, stdin_size]) > SPLIT_BYTES
    parallel = (workers > 1 and (len(files) > 1 or big)
                and sum(sizes) + stdin_size > _PARALLEL_BYTES)
    out = Plan(parallel, [], {})
    if not parallel:
        return out
    if stdin is not None and stdin_size > SPLIT_BYTES:
        pieces = split_file(Source("-"), stdin, policies)
        if pieces is not None:
            out.split["-"] = pieces
            out.items.extend(pieces)
    for source, size in zip(files, sizes, strict=True):
        pieces = split_file(source, policies=policies) if size > SPLIT_BYTES else None
        if pieces is None:
            out.items.append(source.path)
        else:
            out.split[source.path] = pieces
            out.items.extend(pieces)
    return out
