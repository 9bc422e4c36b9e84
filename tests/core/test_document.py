"""Documents travel between processes with their positions and locator."""

from __future__ import annotations

import pickle

from socle.core.document import Document
from socle.formats.yaml import positions

TEXT = "kind: List\nitems:\n  - kind: Pod\n    metadata:\n      name: p\n"


def test_document_survives_pickling_and_still_finds_lines() -> None:
    doc = Document({"kind": "Pod", "metadata": {"name": "p"}}, "l.yaml", 1, 3, TEXT, "yaml",
                   ("items", 0), None, 1, None, positions)
    back = pickle.loads(pickle.dumps(doc))
    assert back == doc
    assert back.position_of(["metadata", "name"]) == doc.position_of(["metadata", "name"]) \
        == (5, 7)
    cached = pickle.loads(pickle.dumps(doc))  # computed positions travel too
    assert cached._positions == doc._positions
