"""Report writers, one module each, found by name.

A writer is a module with ``write(report, stream, options) -> None``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol, TextIO

from socle.core.finding import Report

_WRITERS: dict[str, str] = {
    "text": "socle.outputs.text",
    "json": "socle.outputs.json",
    "junit": "socle.outputs.junit",
    "tap": "socle.outputs.tap",
    "sarif": "socle.outputs.sarif",
    "github": "socle.outputs.github",
    "table": "socle.outputs.table",
    "html": "socle.outputs.html",
    "markdown": "socle.outputs.markdown",
}
# kubeconform's names for the same writers
ALIASES = {"pretty": "text", "stdout": "text"}
# the bundled writers that show no finding's fix operations (``extra["fix"]``): a run whose
# report goes to one of them need not make them (see shows_fixes)
_NO_FIXES = {name: _WRITERS[name] for name in
             ("text", "junit", "tap", "github", "table", "markdown")}


@dataclass(frozen=True)
class WriterOptions:
    color: bool = False
    verbose: bool = False
    summary: bool = False


class Writer(Protocol):
    def write(self, report: Report, stream: TextIO, options: WriterOptions) -> None: ...


def register(name: str, module: str) -> None:
    _WRITERS[name] = module


def names() -> list[str]:
    return sorted(_WRITERS)


def shows_fixes(name: str) -> bool:
    """Whether the writer ``name`` may show findings' fix operations: json, sarif and html do,
    and any writer registered in place of a bundled one may."""
    name = ALIASES.get(name, name)
    return name not in _NO_FIXES or _NO_FIXES[name] != _WRITERS.get(name)


def get(name: str) -> Writer:
    name = ALIASES.get(name, name)
    try:
        module = _WRITERS[name]
    except KeyError:
        raise KeyError(f"unknown output {name!r} (one of {', '.join(names())})") from None
    writer: Writer = importlib.import_module(module)
    return writer


__all__ = ["ALIASES", "Writer", "WriterOptions", "get", "names", "register", "shows_fixes"]
