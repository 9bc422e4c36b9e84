"""Reading inputs: regular files in one read, whatever happens to them meanwhile."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from socle.core import sources
from socle.core.sources import Source


def test_a_file_is_read_whole_and_its_descriptor_closed(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    body = b"kind: ConfigMap\n" * 5000
    path.write_bytes(body)
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(50):
        assert Source(str(path)).read() == body
    assert len(os.listdir("/proc/self/fd")) == before
    (tmp_path / "empty.yaml").write_bytes(b"")
    assert Source(str(tmp_path / "empty.yaml")).read() == b""


@pytest.mark.parametrize("seen", [0, 10, 79_999])
def test_a_file_that_changed_size_after_it_was_measured_is_read_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seen: int) -> None:
    """The size fstat gives is a hint: a file that grew since (or a read cut short) is read
    on to its end, never cut at the size first seen."""
    path = tmp_path / "a.yaml"
    body = b"x" * 80_000
    path.write_bytes(body)
    real = os.fstat

    class Shrunk:
        def __init__(self, st: Any) -> None:
            self.st_mode, self.st_size = st.st_mode, seen

    monkeypatch.setattr(sources.os, "fstat", lambda fd: Shrunk(real(fd)))
    monkeypatch.setattr(sources, "_CHUNK", 4096)  # (several reads on)
    assert Source(str(path)).read() == body


def test_a_folder_or_a_missing_file_is_an_os_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError) as err:
        Source(str(tmp_path)).read()
    assert err.value.filename == str(tmp_path)
    with pytest.raises(FileNotFoundError) as missing:
        Source(str(tmp_path / "nope.yaml")).read()
    assert missing.value.filename == str(tmp_path / "nope.yaml")
