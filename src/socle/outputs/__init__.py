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
    "kubeconform": "socle.outputs.kubeconform",
}
# kubeconform's names for the same writers
ALIASES = {"pretty": "text", "stdout": "text"}
# What each bundled writer leaves out of a report, which a run whose report goes to it need
# not make (see shows): "fixes", findings' fix operations (``extra["fix"]``), and "scores",
# the security scan's compliance and risk scores (``report.extra["scores"]``)
_HIDES: dict[str, tuple[str, frozenset[str]]] = {
    name: (_WRITERS[name], frozenset(hidden)) for name, hidden in (
        ("text", ("fixes", "scores")), ("junit", ("fixes", "scores")),
        ("tap", ("fixes", "scores")), ("github", ("fixes", "scores")),
        ("table", ("fixes", "scores")), ("markdown", ("fixes",)), ("sarif", ("scores",)),
        ("kubeconform", ("fixes", "scores")))}


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


def shows(name: str, what: str) -> bool:
    """Whether the writer ``name`` may show ``what`` of a report: ``"fixes"`` (json, sarif and
    html show findings' fix operations) or ``"scores"`` (json, html and markdown show the
    security scan's scores). A writer registered in place of a bundled one, or unknown, may
    show anything."""
    name = ALIASES.get(name, name)
    bundled = _HIDES.get(name)
    return bundled is None or bundled[0] != _WRITERS.get(name) or what not in bundled[1]


def get(name: str) -> Writer:
    name = ALIASES.get(name, name)
    try:
        module = _WRITERS[name]
    except KeyError:
        raise KeyError(f"unknown output {name!r} (one of {', '.join(names())})") from None
    writer: Writer = importlib.import_module(module)
    return writer


__all__ = ["ALIASES", "Writer", "WriterOptions", "get", "names", "register", "shows"]
