"""Input parsers, one module each, found by name or by file extension.

Every parser has ``name``, ``extensions`` and ``parse(data: bytes, path: str) -> list[Document]``.
YAML also streams (``yaml.iter_documents``) so that files of any size are read one document at
a time.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from types import ModuleType

from socle.core.document import Document

# name -> module path; a module is imported only when a file of its kind is read.
_PARSERS: dict[str, str] = {
    "yaml": "socle.formats.yaml_format",
    "json": "socle.formats.json",
    "toml": "socle.formats.toml",
    "ini": "socle.formats.ini",
    "hcl2": "socle.formats.hcl2",
    "dockerfile": "socle.formats.dockerfile",
    "dotenv": "socle.formats.dotenv",
    "xml": "socle.formats.xml",
    "properties": "socle.formats.properties",
    "jsonc": "socle.formats.jsonc",
}
_EXTENSIONS: dict[str, str] = {
    ".yaml": "yaml", ".yml": "yaml", ".json": "json",
    # conftest's extensions for its other parsers (docs/formats.md)
    ".toml": "toml", ".ini": "ini", ".tf": "hcl2", ".tfvars": "hcl2", ".hcl": "hcl2",
    ".dockerfile": "dockerfile", ".env": "dotenv", ".xml": "xml",
    ".properties": "properties", ".jsonc": "jsonc",
}


def register(name: str, module: str, extensions: tuple[str, ...] = ()) -> None:
    """Add a parser (an importable module with ``parse``) under ``name`` and its extensions."""
    _PARSERS[name] = module
    for ext in extensions:
        _EXTENSIONS[ext.lower()] = name


def names() -> list[str]:
    return sorted(_PARSERS)


def get(name: str) -> ModuleType:
    try:
        return importlib.import_module(_PARSERS[name])
    except KeyError:
        raise KeyError(f"unknown format {name!r} (one of {', '.join(names())})") from None


def _name_by_file_name(path: str) -> str | None:
    """conftest's name rules: ``Dockerfile``/``Dockerfile.*`` and ``.env``/``.env.*``."""
    base = os.path.basename(path).lower()
    if base == "dockerfile" or base.startswith("dockerfile."):
        return "dockerfile"
    if base == ".env" or base.startswith(".env."):
        return "dotenv"
    return None


def name_for_path(path: str) -> str | None:
    by_name = _name_by_file_name(path)
    if by_name is not None:
        return by_name
    ext = os.path.splitext(path)[1].lower()
    return _EXTENSIONS.get(ext)


def parser_for(path: str) -> Callable[[bytes, str], list[Document]] | None:
    fmt = name_for_path(path)
    if fmt is None:
        return None
    parse: Callable[[bytes, str], list[Document]] = get(fmt).parse
    return parse


__all__ = ["get", "name_for_path", "names", "parser_for", "register"]
