"""Where documents come from: files, folders (recursively), and standard input."""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from socle.core.errors import InputError, UsageError

STDIN = "-"
DEFAULT_EXTENSIONS = (".yaml", ".yml", ".json")
# socle's own config files are not inputs when a folder is walked
SKIPPED_NAMES = frozenset(["socle.yaml", "socle.yml", ".socle.yaml"])


@dataclass(frozen=True, slots=True)
class Source:
    """One input: a path on disk, or standard input (path ``-``)."""

    path: str

    @property
    def is_stdin(self) -> bool:
        return self.path == STDIN

    @property
    def display(self) -> str:
        return "stdin" if self.is_stdin else self.path

    def read(self) -> bytes:
        if self.is_stdin:
            return _read_stream(sys.stdin.buffer, "stdin")
        kept = _STREAMS.get(self.path)
        if kept is not None:
            return kept
        # a regular file in one read of its size (and one byte more, to see its end): fewer
        # system calls and objects than a buffered file object, and every input is read twice
        # in a run (the CRD pre-pass, then the checks)
        fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        owned = True
        try:
            mode = os.fstat(fd)
            if stat.S_ISREG(mode.st_mode):
                data = os.read(fd, mode.st_size + 1)
                if len(data) != mode.st_size:  # it changed, or one read gives at most 2 GiB
                    data = _read_rest(fd, data)
                return data
            if stat.S_ISDIR(mode.st_mode):
                raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), self.path)
            fh = open(fd, "rb")  # noqa: SIM115 (the descriptor is its own now: closed below)
            owned = False
        finally:
            if owned:
                os.close(fd)
        with fh:
            # a pipe (<(helm template ...)) or a device gives its bytes once: kept for a
            # second read in this process or the workers it forks (the CRD pre-pass reads
            # every input before the workers do)
            data = _STREAMS[self.path] = _read_stream(fh, self.path)
            return data

    def size(self) -> int:
        if self.is_stdin:
            return 0
        try:
            return os.path.getsize(self.path)
        except OSError:
            return 0


def _read_rest(fd: int, first: bytes) -> bytes:
    parts = [first]
    while True:
        more = os.read(fd, _CHUNK)
        if not more:
            return b"".join(parts)
        parts.append(more)


_STREAMS: dict[str, bytes] = {}  # what named pipes and devices gave, by path (see read)
MAX_STREAM_BYTES = 1 << 30
_CHUNK = 1 << 20


def _read_stream(fh: BinaryIO, name: str) -> bytes:
    """All of a stream that is no regular file, read a piece at a time: one that starts with
    NUL bytes (``/dev/zero``, a binary pipe) is refused at once, one that never ends stops at
    MAX_STREAM_BYTES, instead of reading until memory runs out."""
    pieces: list[bytes] = []
    total = 0
    while True:
        piece = fh.read(_CHUNK)
        if not piece:
            return b"".join(pieces)
        if not pieces and b"\x00" in piece[:8192]:
            raise InputError("binary input (contains NUL bytes), not YAML or JSON", name, 1)
        total += len(piece)
        if total > MAX_STREAM_BYTES:
            raise InputError(f"more than {MAX_STREAM_BYTES >> 30} GiB from a stream; refusing "
                             "to read on", name, 1)
        pieces.append(piece)


def compile_patterns(patterns: Iterable[str]) -> list[re.Pattern[str]]:
    out = []
    for p in patterns:
        try:
            out.append(re.compile(p))
        except re.error as err:
            raise UsageError(f"invalid ignore pattern {p!r}: {err}") from None
    return out


def walked(folder: str, name: str) -> str:
    """The path of ``name`` found under ``folder``, as Go's ``filepath.Walk`` gives it to
    kubeconform and conftest: joined and cleaned (``./apps`` + ``a.yaml`` is ``apps/a.yaml``,
    ``.`` + ``a.yaml`` is ``a.yaml``). Their users' ignore patterns are written against those
    paths (``^\\..+`` for hidden files, ``^charts/``), and reports name files the same way."""
    path = os.path.normpath(os.path.join(folder, name))
    # (POSIX keeps two leading slashes; Go's Clean, like every other separator run, makes one)
    return "/" + path.lstrip("/") if path.startswith("//") else path


def special(path: str) -> bool:
    """A named pipe, socket or device found in a folder (or a link to one): skipped, as
    kubeconform skips it (a pipe nobody writes to would block the read for ever). A dangling
    link is kept: reading it reports it."""
    return not os.path.isfile(path) and os.path.exists(path)


def discover(paths: Iterable[str], extensions: tuple[str, ...] = DEFAULT_EXTENSIONS,
             ignore: Iterable[re.Pattern[str]] = (),
             named: Callable[[str], bool] | None = None) -> Iterator[Source]:
    """Expand arguments into sources in a stable order.

    Folders are walked recursively (hidden folders and files skipped) for files with the given
    extensions; files named explicitly are read whatever their extension, unless ``named`` is
    given: then a named regular file without one of the extensions is handed to ``named``
    instead, and read only if it returns True (kubeconform skips such a file; links such as
    /dev/stdin, pipes, devices and stdin are read). ``ignore`` patterns are regular
    expressions searched in the path (kubeconform's ``-ignore-filename-pattern``): a file
    named on the command line as it was given, a file found in a folder as :func:`walked`
    names it.
    """
    ignore = list(ignore)

    def ignored(path: str) -> bool:
        return any(p.search(path) for p in ignore)

    for arg in paths:
        if arg == STDIN:
            yield Source(STDIN)
            continue
        if os.path.isdir(arg):
            for root, dirs, files in os.walk(arg):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    # hidden files, like hidden folders, are other tools' configuration
                    # (.pre-commit-config.yaml, .gitlab-ci.yml, .golangci.yml...)
                    if not name.lower().endswith(extensions) or name in SKIPPED_NAMES \
                            or name.startswith("."):
                        continue
                    path = walked(root, name)
                    if not ignored(path) and not special(path):
                        yield Source(path)
        elif os.path.exists(arg):
            if ignored(arg):
                continue
            if named is not None and stat.S_ISREG(os.lstat(arg).st_mode) \
                    and not os.path.basename(arg).lower().endswith(extensions) \
                    and not named(arg):
                continue  # (a link is read: /dev/stdin, /dev/fd/N)
            yield Source(arg)
        else:
            raise UsageError(f"{arg}: no such file or folder")
