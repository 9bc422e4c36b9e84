"""A parsed document that remembers where it came from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from socle.core.errors import InputError
from socle.core.finding import Resource

PathKey = tuple[str | int, ...]
# Maps a JSON path (keys and indexes) to its 1-based (line, column) in the source.
PositionMap = dict[PathKey, tuple[int, int]]


@dataclass(slots=True)
class Document:
    """One document of one file: the object, its file, its index in the file, its first line.

    ``text`` is the source of the document alone; line numbers for keys inside it are computed
    on demand (only documents with findings pay for it) by the format's ``positions`` function.
    A ``kind: List`` item shares its parent's text and carries ``base_path`` (``("items", i)``).
    """

    obj: Any
    file: str
    index: int = 0
    line: int = 1
    text: str | None = None
    format: str = "yaml"
    base_path: PathKey = ()
    error: InputError | None = None
    # first line of ``text`` in the file when it differs from ``line`` (List items)
    origin: int = 0
    _positions: PositionMap | None = field(default=None, repr=False)
    _locate: Callable[[str], PositionMap] | None = field(default=None, repr=False)
    # a line index of ``text`` a checker built (security's line lookup), kept so that a later
    # phase, in another process, does not build it again; or, when the text stayed in the
    # worker that read it, where to read it again (socle.security.runner.Reread)
    _index: Any = field(default=None, repr=False, compare=False)
    # the Resource of ``obj``, made once (every checker of socle check asks for it); not
    # pickled, made again where it is asked for
    _resource: Resource | None = field(default=None, repr=False, compare=False)

    def __reduce__(self) -> tuple[Any, ...]:
        # pickled as a constructor call: cheaper than the dataclass' per-field state functions
        # (documents go from worker processes to the parent for cross-resource checks)
        return (Document, (self.obj, self.file, self.index, self.line, self.text, self.format,
                           self.base_path, self.error, self.origin, self._positions,
                           self._locate, self._index))

    @property
    def resource(self) -> Resource:
        found = self._resource
        if found is None:
            found = self._resource = Resource.of(self.obj)
        return found

    @property
    def api_version(self) -> str:
        v = self.obj.get("apiVersion") if isinstance(self.obj, dict) else None
        return v if isinstance(v, str) else ""

    @property
    def kind(self) -> str:
        v = self.obj.get("kind") if isinstance(self.obj, dict) else None
        return v if isinstance(v, str) else ""

    def positions(self) -> PositionMap:
        if self._positions is None:
            pos: PositionMap = {}
            if self.text is not None and self._locate is not None:
                try:
                    pos = self._locate(self.text)
                except Exception:  # positions are a convenience; never fail a run for them
                    pos = {}
            self._positions = pos
        return self._positions

    def position_of(self, path: Sequence[str | int]) -> tuple[int, int]:
        """Line and column of the deepest known key on ``path`` (the document start if none)."""
        full: PathKey = self.base_path + tuple(path)
        pos = self.positions()
        first = self.origin or self.line
        while True:
            hit = pos.get(full)
            if hit is not None:
                return (first - 1 + hit[0], hit[1])
            if not full or len(full) <= len(self.base_path):
                break
            full = full[:-1]
        if self.base_path and self.base_path in pos:
            hit = pos[self.base_path]
            return (first - 1 + hit[0], hit[1])
        return (self.line, 0)

    def line_of(self, path: Sequence[str | int]) -> int:
        return self.position_of(path)[0]
