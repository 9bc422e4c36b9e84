"""socle.core.collector: the cycle collector paused and objects frozen, then put back."""

from __future__ import annotations

import gc

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
