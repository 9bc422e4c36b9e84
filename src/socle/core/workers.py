"""Forked worker pools whose workers end with the process that started them.

A worker of :class:`~concurrent.futures.ProcessPoolExecutor` waits for work on a pipe that
every worker holds open, so it never learns that its parent is gone: a run stopped by a
signal (a CI job cancelled, ``kill``, the policy time limit) or leaving by ``os._exit`` would
leave its workers behind for ever, holding the output pipes of ``socle ... | tee`` open. On
Linux each worker asks the kernel to kill it when its parent ends.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # (imported when a pool starts: ~30 ms a small run need not pay)
    from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

T = TypeVar("T")


def die_with_parent(parent: int) -> None:
    """Have this process killed when ``parent`` (its parent's pid at fork time) ends; end now
    if it already has. Does nothing where Linux's prctl is not at hand."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):  # pragma: no cover - a libc without prctl
        return
    if os.getppid() != parent:  # it ended between the fork and the prctl
        os._exit(1)


def _start(parent: int, initializer: Callable[..., None], initargs: tuple[Any, ...]) -> None:
    die_with_parent(parent)
    initializer(*initargs)


def fork_pool(workers: int, initializer: Callable[..., None],
              initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """``workers`` forked processes (they inherit this process's objects) that run
    ``initializer(*initargs)`` first and end when this process ends."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start,
                               initargs=(os.getpid(), initializer, initargs))


def batches(items: Sequence[T], workers: int, most: int = 32) -> list[list[T]]:
    """``items`` (files) in batches for a pool of ``workers``: at least eight batches per
    worker, of at most ``most`` items, and the last round of them a quarter of that size.
    Whoever finishes first waits for the others' last batch: smaller ones there shorten the
    wait (a batch of 32 files of a check takes ~0.2 s) without paying per-batch costs over the
    whole run."""
    n = len(items)
    size = max(1, min(most, n // (workers * 8)))
    tail = min(n, workers * size)  # (the last round)
    small = max(1, size // 4)
    head = n - tail
    out = [list(items[i:min(i + size, head)]) for i in range(0, head, size)]
    out += [list(items[i:i + small]) for i in range(head, n, small)]
    return out
