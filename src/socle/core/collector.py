"""Python's cycle collector in runs that keep what they build and fork workers.

A run of ``validate``, ``scan`` or ``check`` keeps its documents, verdicts and findings until
the report is written, and frees what it drops by reference counting. The cycle collector
only walks that growing heap again and again (it ran ~8 full passes over a check of 10,000
documents, ~3 CPU-s), and forked workers walk what they inherit (and copy every page it sits
on).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused() -> Iterator[bool]:
    """The collector off for the block; yields whether it was on. On the way out it is
    restored, and what :func:`frozen` left frozen inside is unfrozen unless something had
    frozen objects before."""
    was_on = gc.isenabled()
    before = gc.get_freeze_count()
    gc.disable()
    try:
        yield was_on
    finally:
        if not before:
            gc.unfreeze()
        if was_on:
            gc.enable()


@contextmanager
def frozen() -> Iterator[None]:
    """Every object alive now frozen for the block (open the worker pool inside it: the
    workers' collections then leave what they inherit alone); unfrozen after, unless
    something had frozen objects before."""
    before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not before:
            gc.unfreeze()
