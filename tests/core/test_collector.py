"""socle.core.collector: the cycle collector paused and objects frozen, then put back."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import weakref
from pathlib import Path
from typing import Any

from socle.core import collector


def test_paused_restores_the_callers_collector_state() -> None:
    assert gc.isenabled()
    with collector.paused() as was_on:
        assert was_on and not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused() as was_on:
            assert not was_on
        assert not gc.isenabled()  # a caller who had it off keeps it off
    finally:
        gc.enable()


def test_paused_leaves_the_collector_off_in_a_process_about_to_exit(monkeypatch: Any) -> None:
    monkeypatch.setattr(collector, "_KEPT", None)
    collector.exit_soon()  # (the console entry point, for validate, scan, check, test)
    try:
        with collector.paused() as was_on:
            assert was_on
        # the rest of the run (cross checks, the report) without collections that would walk
        # everything it built
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_frozen_objects_are_unfrozen_unless_someone_froze_before() -> None:
    assert gc.get_freeze_count() == 0
    with collector.frozen():
        assert gc.get_freeze_count() > 0
    assert gc.get_freeze_count() == 0
    with collector.paused():
        with collector.frozen():
            pass
        gc.freeze()  # frozen inside the pause (a pool opened there): undone when it ends
    assert gc.get_freeze_count() == 0
    gc.freeze()
    try:
        before = gc.get_freeze_count()
        with collector.frozen():
            pass
        with collector.paused():
            pass
        assert gc.get_freeze_count() >= before  # someone else's freeze is left alone
    finally:
        gc.unfreeze()


class _Big:
    """Something a run lets go of (weak-referenceable, to see whether it was freed)."""


def test_let_go_frees_as_usual_unless_the_process_is_about_to_exit(monkeypatch: Any) -> None:
    monkeypatch.setattr(collector, "_KEPT", None)
    obj = _Big()
    ref = weakref.ref(obj)
    collector.let_go(obj)
    del obj
    assert ref() is None  # an in-process caller (tests, a server) keeps nothing
    collector.exit_soon()
    obj = _Big()
    ref = weakref.ref(obj)
    collector.let_go(obj)
    del obj
    assert ref() is not None  # kept, unfreed, for the exit that skips freeing the heap


def _socle(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "socle.cli.main", *args], cwd=cwd,
                          capture_output=True, timeout=120)


def test_the_fast_exit_keeps_the_output_and_the_exit_code(tmp_path: Path) -> None:
    # (the console entry point ends validate, scan, check and test with os._exit, after
    # flushing and exit handlers): nothing written is lost, the exit code is the command's
    docs = "".join(f"---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n"
                   f"data:\n  k: v{i}\n" for i in range(3000))
    (tmp_path / "ok.yaml").write_text(docs)
    (tmp_path / "bad.yaml").write_text("apiVersion: v1\nkind: Service\nspec:\n  ports: 80\n")
    run = _socle("validate", "-o", "json", "-verbose", ".", cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    report = json.loads(run.stdout)  # complete (a 3,000-document report, flushed)
    assert len(report["documents"]) == 3001
    assert any(f["file"].endswith("bad.yaml") for f in report["findings"])
    (tmp_path / "bad.yaml").unlink()
    assert _socle("validate", ".", cwd=tmp_path).returncode == 0


def test_the_fast_exit_survives_a_reader_that_goes_away(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("".join(
        f"---\napiVersion: v1\nkind: Service\nmetadata:\n  name: s{i}\nspec:\n  ports: 80\n"
        for i in range(3000)))
    proc = subprocess.Popen([sys.executable, "-m", "socle.cli.main", "validate", "."],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # like `| head -1`
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == 1
    assert b"bad.yaml" in first
    assert b"Traceback" not in err and b"Exception ignored" not in err


class _Cycle:
    def __init__(self) -> None:
        self.me = self


def test_collect_young_frees_new_cycles_while_paused() -> None:
    with collector.paused():
        ref = weakref.ref(_Cycle())
        assert ref() is not None  # (nobody collects while paused)
        collector.collect_young()
        assert ref() is None
