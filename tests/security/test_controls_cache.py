"""Control folders are read once and then served from the cache, until a file changes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scan_testing import write_controls
from socle.core.errors import UsageError
from socle.security import controls as C


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("SOCLE_CACHE_DIR", str(root))
    monkeypatch.delenv("SOCLE_NO_COMPILE_CACHE", raising=False)
    return root


def _entries(cache: Path) -> list[Path]:
    folder = cache / "controls"
    return sorted(folder.glob("*.bin")) if folder.is_dir() else []


def test_a_second_load_comes_from_the_cache_and_is_the_same(cache: Path) -> None:
    first = C.load_controls()
    assert len(_entries(cache)) == 1
    # served from the entry: parsing a control would fail now
    real = C.parse_control
    try:
        C.parse_control = None  # type: ignore[assignment]
        second = C.load_controls()
    finally:
        C.parse_control = real
    assert second.controls == first.controls
    assert second.libraries == first.libraries
    assert len(first.controls) >= 60


def test_an_edited_control_is_read_again(cache: Path, tmp_path: Path) -> None:
    root = write_controls(tmp_path / "mine", ["test-privileged"])
    meta = root / "test-privileged" / "control.yaml"
    before = C.load_controls([str(root)], bundled=False)
    assert [c.title for c in before.controls] == ["Test test-privileged"]
    # the same size, written at once: only the bytes differ
    meta.write_text(meta.read_text().replace("title: Test test-privileged",
                                             "title: Best test-privileged"))
    after = C.load_controls([str(root)], bundled=False)
    assert [c.title for c in after.controls] == ["Best test-privileged"]
    (root / "test-privileged" / "policy.rego").write_text("package socle.controls.other\n")
    with pytest.raises(UsageError, match=r"the package must be socle\.controls\.test_privileged"):
        C.load_controls([str(root)], bundled=False)


def test_a_new_control_folder_is_seen(cache: Path, tmp_path: Path) -> None:
    root = write_controls(tmp_path / "mine", ["test-privileged"])
    assert len(C.load_controls([str(root)], bundled=False).controls) == 1
    write_controls(root, ["test-privileged", "test-registry"])
    assert len(C.load_controls([str(root)], bundled=False).controls) == 2


def test_a_broken_entry_is_ignored(cache: Path) -> None:
    first = C.load_controls()
    for entry in _entries(cache):
        entry.write_bytes(b"not a pickle")
    assert C.load_controls().controls == first.controls


def test_an_entry_others_can_write_is_not_trusted(cache: Path) -> None:
    C.load_controls()
    (entry,) = _entries(cache)
    os.chmod(entry, 0o666)
    real = C.parse_control
    calls = []

    def counting(folder: Path, bundled: bool = True) -> C.Control:
        calls.append(folder)
        return real(folder, bundled)

    try:
        C.parse_control = counting  # type: ignore[assignment]
        C.load_controls()
    finally:
        C.parse_control = real
    assert len(calls) >= 60  # read from the folders, not the entry


def test_no_entry_when_the_cache_is_off(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOCLE_NO_COMPILE_CACHE", "1")
    assert C.load_controls().controls
    assert _entries(cache) == []


def test_a_small_run_imports_neither_pyyaml_nor_the_worker_pool(tmp_path: Path) -> None:
    """Start-up cost of every pre-commit run: PyYAML (~25 ms) is imported only for documents
    the fast path declines, the process pool (~30 ms) only for runs large enough to use it."""
    doc = tmp_path / "cm.yaml"
    doc.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n")
    odd = tmp_path / "odd.yaml"
    odd.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: b\ndata: !!map\n"
                   "  k: yes\n")
    probe = ("import sys\n"
             "sys.argv = ['socle', 'check', '--no-test', *sys.argv[1:]]\n"
             "from socle.cli.main import main\n"
             "code = main(sys.argv[1:])\n"
             "print(code, 'yaml' in sys.modules, 'concurrent.futures' in sys.modules,\n"
             "      file=open(sys.argv[-1] + '.out', 'w'))\n")
    env = {**os.environ, "SOCLE_CACHE_DIR": str(tmp_path / "cache")}
    # (the first run fills the cache: two bundled control.yaml files take the reference loader)
    for path in (doc, doc, odd):
        subprocess.run([sys.executable, "-c", probe, str(path)], env=env, check=False,
                       capture_output=True, timeout=120)
    assert (tmp_path / "cm.yaml.out").read_text().split() == ["0", "False", "False"]
    # a document only the reference loader reads: PyYAML is imported and types "yes" as go-yaml
    # does (a boolean, which a ConfigMap's data refuses)
    code, yaml_loaded, _pool = (tmp_path / "odd.yaml.out").read_text().split()
    assert (code, yaml_loaded) == ("1", "True")
