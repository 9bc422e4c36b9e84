from __future__ import annotations

import io

import pytest

from outputs.sample_reports import sample_report
from socle.outputs import WriterOptions, get, names


@pytest.mark.parametrize("name", ["junit", "tap", "sarif", "github"])
def test_writer_found_by_name_and_writes_with_every_option(name: str) -> None:
    assert name in names()
    writer = get(name)
    outputs = set()
    for options in (WriterOptions(), WriterOptions(True, True, True)):
        out = io.StringIO()
        writer.write(sample_report(), out, options)
        text = out.getvalue()
        assert text.endswith("\n")
        text.encode("utf-8")
        outputs.add(text)
    # colour and verbosity never change a machine-readable report; --summary may add a line
    assert len(outputs) <= 2
