"""Python's cycle collector in runs that keep what they build and fork workers.

A run of ``validate``, ``scan`` or ``check`` keeps its documents, verdicts and findings until
the report is written, and frees what it drops by reference counting. The cycle collector
only walks that growing heap again and again (it ran ~8 full passes over a check of 10,000
documents, ~3 CPU-s), and forked workers walk what they inherit (and copy every page it sits
on).
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")

# What a run let go of while the process is about to end anyway (see exit_soon): kept here,
# unfreed, when the console entry point ends the process without freeing its heap
_KEPT: list[Any] | None = None


@contextmanager
def paused() -> Iterator[bool]:
    """The collector off for the block; yields whether it was on. On the way out it is
    restored, and what :func:`frozen` left frozen inside is unfrozen unless something had
    frozen objects before. In a process that ends when its command returns (see
    :func:`exit_soon`) it stays off: the first collections after the block walked everything
    the run had built (~50-100 ms after a large validate or check, while the report was being
    written) and found nothing to free."""
    was_on = gc.isenabled()
    before = gc.get_freeze_count()
    gc.disable()
    try:
        yield was_on
    finally:
        if not before:
            gc.unfreeze()
        if was_on and _KEPT is None:
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


def exit_soon() -> None:
    """Announce that this process ends when its command returns, without freeing its heap
    (the console entry point does that: see :func:`socle.cli.main.console`). From now on
    :func:`let_go` keeps what it is given instead of freeing it."""
    global _KEPT
    if _KEPT is None:
        _KEPT = []


def let_go(obj: Any) -> None:
    """Drop a run's big intermediate results (every document, object and finding of tens of
    thousands of documents): freeing them object by object costs ~0.15 s on a large check,
    which a process that is about to exit need not pay. Kept unfreed when :func:`exit_soon`
    was called; otherwise nothing is kept (the caller's reference goes, and with it the
    objects, as usual)."""
    if _KEPT is not None:
        _KEPT.append(obj)


def collect_young() -> int:
    """Free the cyclic garbage among the objects made since the last collection (the youngest
    generation), collector paused or not: a long run under :func:`paused` calls it between
    inputs, so that a policy or engine leaving cycles behind cannot grow the heap without
    bound; it costs what was made since, not a walk of the whole heap."""
    return gc.collect(0)


def collecting(items: Iterable[T], every: int = 256) -> Iterator[T]:
    """``items`` one by one, the young objects collected (:func:`collect_young`) before every
    ``every``-th: the inputs of a long run under :func:`paused`."""
    for i, item in enumerate(items, 1):
        if i % every == 0:
            collect_young()
        yield item
