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


def get(name: str) -> Writer:
    name = ALIASES.get(name, name)
    try:
        module = _WRITERS[name]
    except KeyError:
        raise KeyError(f"unknown output {name!r} (one of {', '.join(names())})") from None
    writer: Writer = importlib.import_module(module)
    return writer


__all__ = ["ALIASES", "Writer", "WriterOptions", "get", "names", "register"]
