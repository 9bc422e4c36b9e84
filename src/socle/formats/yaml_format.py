"""The registry entry for YAML (the loader itself is ``socle.formats.yaml``)."""

from __future__ import annotations

from socle.core.document import Document
from socle.formats.yaml import conftest_documents

name = "yaml"
extensions = (".yaml", ".yml")


def parse(data: bytes, path: str, strict: bool = False) -> list[Document]:
    """A YAML file as conftest reads it (the registry serves ``socle test``, ``parse`` and the
    ``parse_config*`` builtins): empty and null documents are tested as ``null``."""
    return conftest_documents(data, path, strict=strict)
