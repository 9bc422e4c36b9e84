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
    from concurrent.futures import Executor, Future, ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

T = TypeVar("T")
R = TypeVar("R")


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


def share(pool: Executor, forked: int, items: Sequence[T],
          remote: Callable[[list[T]], list[R]], here: Callable[[T], R], *,
          collect: Callable[[Future[list[R]], list[T]], list[R]] | None = None,
          done: Callable[[list[T]], None] | None = None, most: int = 32) -> list[R]:
    """Every item's result, in the items' order, with the work shared between ``forked``
    workers of ``pool`` and this process.

    Both take from the front. Each worker has at most two chunks outstanding (``remote(chunk)``),
    of at most ``most`` items and smaller as the work runs out, down to one item, so that
    nobody waits long for the last ones; between chunks handed out, this process does one
    item at a time (``here(item)``). Its results are not pickled, and one process fewer is
    forked: with two workers beside an idle parent, pickling what came back cost ~1.3 of a
    check's ~10 CPU-s on the benchmark corpus. ``collect(future, chunk)`` gives a chunk's
    results (the caller's own error handling; ``future.result()`` by default); ``done(chunk)``
    is told of every chunk or item finished (progress)."""
    n = len(items)
    results: list[list[R]] = []  # per chunk or item, with its start, sorted at the end
    starts: list[int] = []
    out: list[tuple[int, list[T], Future[list[R]]]] = []
    consumers = forked + 1
    taken = 0

    def finish(entry: tuple[int, list[T], Future[list[R]]]) -> None:
        start, chunk, fut = entry
        starts.append(start)
        results.append(collect(fut, chunk) if collect is not None else fut.result())
        if done is not None:
            done(chunk)

    while taken < n or out:
        while taken < n and len(out) < 2 * forked:
            size = max(1, min(most, (n - taken) // (4 * consumers)))
            chunk = list(items[taken:taken + size])
            out.append((taken, chunk, pool.submit(remote, chunk)))
            taken += size
        ready = next((i for i, entry in enumerate(out) if entry[2].done()), None)
        if ready is not None:
            finish(out.pop(ready))
        elif taken < n:
            item = items[taken]
            starts.append(taken)
            taken += 1
            results.append([here(item)])
            if done is not None:
                done([item])
        else:  # nothing left to take: wait for the oldest chunk out
            finish(out.pop(0))
    order = sorted(range(len(starts)), key=starts.__getitem__)
    return [r for i in order for r in results[i]]
