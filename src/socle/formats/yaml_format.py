"""The registry entry for YAML (the loader itself is ``socle.formats.yaml``)."""

from __future__ import annotations

from socle.core.document import Document
from socle.formats.yaml import iter_documents

name = "yaml"
extensions = (".yaml", ".yml")


def parse(data: bytes, path: str, strict: bool = False) -> list[Document]:
    return list(iter_documents(data, path, strict=strict))
