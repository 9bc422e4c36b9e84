"""Forked worker pools whose workers end with the process that started them.

A worker of :class:`~concurrent.futures.ProcessPoolExecutor` waits for work on a pipe that
every worker holds open, so it never learns that its parent is gone: a run stopped by a
signal (a CI job cancelled, ``kill``, the policy time limit) or leaving by ``os._exit`` would
leave its workers behind for ever, holding the output pipes of ``socle ... | tee`` open. On
Linux each worker asks the kernel to kill it when its parent ends.
"""

from __future__ import annotations

import math
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


def cores(cgroup_root: str = "/sys/fs/cgroup", own: str = "/proc/self/cgroup") -> int:
    """How many processes a run uses by default: the CPUs this process may run on (its
    affinity: a container's cpuset, ``taskset``), capped by a cgroup CPU quota rounded up (a
    container's ``--cpus``, a Kubernetes CPU limit), at least 1. ``os.cpu_count()`` alone
    counts the host's CPUs: a CI job limited to 2 CPUs on a 64-core node would fork 63
    workers, each with its own copy of what it touches."""
    try:
        n = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # (not Linux)
        n = os.cpu_count() or 1
    quota = cpu_quota(cgroup_root, own)
    if quota is not None:
        n = min(n, max(1, math.ceil(quota - 1e-9)))
    return max(1, n)


def cpu_quota(cgroup_root: str = "/sys/fs/cgroup", own: str = "/proc/self/cgroup"
              ) -> float | None:
    """The CPU time this process's cgroup and its ancestors may use, in CPUs (the smallest
    limit on the way up; cgroup v2's ``cpu.max``, v1's ``cpu.cfs_quota_us`` over
    ``cpu.cfs_period_us``), or None when nothing limits it or nothing can be read."""
    try:
        with open(own, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    found: list[float] = []
    names: tuple[str, ...]
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":  # cgroup v2
            base, names = cgroup_root, ("cpu.max",)
            if not os.path.exists(os.path.join(base, "cgroup.controllers")):
                base = os.path.join(cgroup_root, "unified")
        elif "cpu" in controllers.split(","):  # cgroup v1
            base, names = os.path.join(cgroup_root, controllers), ("cpu.cfs_quota_us",
                                                                   "cpu.cfs_period_us")
        else:
            continue
        # from the process's own cgroup up to the root (in a container, /proc/self/cgroup may
        # name a path of the host's hierarchy: what is not there is skipped)
        parts = [p for p in path.split("/") if p]
        for depth in range(len(parts), -1, -1):
            limit = _limit(os.path.join(base, *parts[:depth]), names)
            if limit is not None:
                found.append(limit)
    return min(found) if found else None


def _limit(folder: str, names: tuple[str, ...]) -> float | None:
    try:
        values = []
        for name in names:
            with open(os.path.join(folder, name), encoding="ascii") as fh:
                values.extend(fh.read().split())
        quota, period = (values[0], values[1])
        if quota in ("max", "-1"):
            return None
        q, p = int(quota), int(period)
    except (OSError, ValueError, IndexError):
        return None
    return q / p if q > 0 and p > 0 else None


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


def forkable(*engines: str | None) -> bool:
    """False when one of the Rego engines is the OPA bridge: a Go shared library, whose runtime
    does not survive ``fork`` (a forked worker calling into it waits for ever). Such a run
    stays in one process; the webhook's server processes are started, not forked."""
    return "opa" not in engines


def fork_pool(workers: int, initializer: Callable[..., None],
              initargs: tuple[Any, ...] = ()) -> ProcessPoolExecutor:
    """``workers`` forked processes (they inherit this process's objects) that run
    ``initializer(*initargs)`` first and end when this process ends."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_start,
                               initargs=(os.getpid(), initializer, initargs))
    widen_pipe(getattr(getattr(pool, "_result_queue", None), "_reader", None))
    return pool


# the most a pipe may hold that an unprivileged process may ask for (Linux's default
# /proc/sys/fs/pipe-max-size); the kernel's default is 64 KiB
_PIPE_MOST = 1 << 20
_F_SETPIPE_SZ = 1031  # <linux/fcntl.h> (fcntl.F_SETPIPE_SZ, where Python names it)


def widen_pipe(connection: Any, most: int = _PIPE_MOST,
               limit_file: str = "/proc/sys/fs/pipe-max-size") -> int:
    """Let the pipe under ``connection`` hold up to ``most`` bytes (as much as the system
    allows); the new size, or 0 where it cannot be changed (not Linux, not a pipe, over the
    user's pipe quota: nothing is lost, the pipe keeps its size).

    A pool's results come back on one pipe, read in the parent by a thread that needs the GIL
    after every read, while the parent's own thread holds it (it checks files too): with the
    default 64 KiB, a worker sending a chunk's results (~1 MB of findings for check) waited
    on full pipes for ~0.65 s of a 4 s run, about 15% of its time.

    The kernel counts the size against the user's pipe quota (``pipe-user-pages-soft``, 64 MiB
    by default) while the pool lives: a run holds one such pipe at a time, so only dozens of
    runs at once by one user could reach it, and past it the request fails and changes
    nothing."""
    try:
        import fcntl

        fd = connection.fileno()
        with open(limit_file, encoding="ascii") as fh:
            most = min(most, int(fh.read().split()[0]))
        return int(fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), most))
    except (AttributeError, ImportError, OSError, ValueError, IndexError):
        return 0


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
