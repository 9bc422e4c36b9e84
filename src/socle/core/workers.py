"""Forked worker pools whose workers end with the process that started them.

A worker of :class:`~concurrent.futures.ProcessPoolExecutor` waits for work on a pipe that
every worker holds open, so it never learns that its parent is gone: a run stopped by a
signal (a CI job cancelled, ``kill``, the policy time limit) or leaving by ``os._exit`` would
leave its workers behind for ever, holding the output pipes of ``socle ... | tee`` open. On
Linux each worker asks the kernel to kill it when its parent ends.

:class:`ForkPool` is a lighter pool for ``socle validate``: no threads, nothing to import.
``socle check`` and ``scan`` keep the executor, whose futures they time out and cancel.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import struct
import sys
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:  # (imported when a pool starts: ~30 ms a small run need not pay)
    from concurrent.futures import ProcessPoolExecutor

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

T = TypeVar("T")
R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class Pending(Protocol[R_co]):
    """What :func:`share` needs of a call handed to a pool: a
    :class:`~concurrent.futures.Future`, or a :class:`ForkPool`'s task."""

    def done(self) -> bool: ...

    def result(self) -> R_co: ...


class Pool(Protocol):
    """What :func:`share` needs of a pool: an executor, or a :class:`ForkPool`."""

    def submit(self, fn: Callable[[list[T]], list[R]], arg: list[T], /) -> Pending[list[R]]: ...


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
    """Let the pipe under ``connection`` (a connection, or a descriptor) hold up to ``most``
    bytes (as much as the system allows); the new size, or 0 where it cannot be changed (not
    Linux, not a pipe, over the user's pipe quota: nothing is lost, the pipe keeps its size).

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

        fd = connection if isinstance(connection, int) else connection.fileno()
        with open(limit_file, encoding="ascii") as fh:
            most = min(most, int(fh.read().split()[0]))
        return int(fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", _F_SETPIPE_SZ), most))
    except (AttributeError, ImportError, OSError, ValueError, IndexError):
        return 0


def share(pool: Pool, forked: int, items: Sequence[T],
          remote: Callable[[list[T]], list[R]], here: Callable[[T], R], *,
          collect: Callable[[Any, list[T]], list[R]] | None = None,
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
    out: list[tuple[int, list[T], Pending[list[R]]]] = []
    consumers = forked + 1
    taken = 0

    def finish(entry: tuple[int, list[T], Pending[list[R]]]) -> None:
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


# --- a pool of forked workers without threads --------------------------------------------------


class WorkerLost(RuntimeError):
    """A :class:`ForkPool` worker ended before answering (killed, out of memory), or its
    answer could not be read."""


class _Task:
    """One call handed to a :class:`ForkPool` worker: the part of a
    :class:`~concurrent.futures.Future` that :func:`share` uses."""

    __slots__ = ("_done", "_error", "_pool", "_value")

    def __init__(self, pool: ForkPool) -> None:
        self._pool = pool
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None

    def done(self) -> bool:
        if not self._done:
            self._pool._poll(None)
        return self._done

    def result(self) -> Any:
        if not self._done:
            self._pool._poll(self)
        if self._error is not None:
            raise self._error
        return self._value


class _Worker:
    __slots__ = ("answers", "calls", "inbox", "outbox", "pid", "waiting")

    def __init__(self, pid: int, calls: int, answers: int) -> None:
        self.pid = pid  # (0 once it has ended and been waited for)
        self.calls = calls  # the write end of its calls pipe (non-blocking)
        self.answers = answers  # the read end of its answers pipe (non-blocking)
        self.inbox = bytearray()  # answer bytes read, not yet a whole frame
        self.outbox = bytearray()  # call bytes its pipe has not taken yet
        self.waiting: deque[_Task] = deque()  # calls sent, oldest first (answered in order)


# a frame on either pipe: its length, then a pickle
_FRAME = struct.Struct("<Q")


def _serve(calls: int, answers: int) -> None:
    """A worker's loop: read a call, run it, write the answer (its value, or the exception it
    raised), until the calls pipe closes."""
    import pickle

    reader = os.fdopen(calls, "rb", buffering=1 << 16)
    while True:
        head = reader.read(_FRAME.size)
        if len(head) < _FRAME.size:
            return
        fn, arg = pickle.loads(reader.read(_FRAME.unpack(head)[0]))
        try:
            answer: tuple[bool, Any] = (True, fn(arg))
        except Exception as err:  # (raised again in the caller, as a Future does)
            answer = (False, err)
        try:
            data = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as err:  # (an answer that cannot travel)
            data = pickle.dumps((False, WorkerLost(f"a worker's answer cannot be sent: {err}")))
        view = memoryview(_FRAME.pack(len(data)) + data)
        while view:
            view = view[os.write(answers, view):]


class ForkPool:
    """``workers`` forked processes (they inherit this process's objects) that run
    ``initializer(*initargs)``, then the calls :meth:`submit` hands them, and end with this
    process (see :func:`die_with_parent`) or when the pool is shut down.

    Unlike :class:`~concurrent.futures.ProcessPoolExecutor` it starts no thread and imports
    nothing: importing multiprocessing and concurrent.futures takes ~13 ms, and a thread that
    reads the answers takes the GIL from this process's own work (together ~5% of a 0.5 s
    ``socle validate``). Answers are read when a task is asked whether it is done; this process
    never waits on a full pipe (what a worker's calls pipe does not take yet is written on the
    next look), so a worker blocked writing a large answer cannot deadlock with it."""

    def __init__(self, workers: int, initializer: Callable[..., None],
                 initargs: tuple[Any, ...] = ()) -> None:
        self._workers: list[_Worker] = []
        parent = os.getpid()
        for stream in (sys.stdout, sys.stderr):  # (nothing buffered is written twice)
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        try:
            for _ in range(workers):
                self._workers.append(self._fork(parent, initializer, initargs))
        except BaseException:
            self.shutdown(kill=True)
            raise

    def _fork(self, parent: int, initializer: Callable[..., None],
              initargs: tuple[Any, ...]) -> _Worker:
        calls_r, calls_w = os.pipe()
        answers_r, answers_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: it never returns from here
            code = 1
            try:
                for other in self._workers:
                    os.close(other.calls)
                    os.close(other.answers)
                os.close(calls_w)
                os.close(answers_r)
                # Ctrl-C reaches the whole process group: the parent stops its workers
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                die_with_parent(parent)
                initializer(*initargs)
                _serve(calls_r, answers_w)
                code = 0
            finally:
                os._exit(code)
        os.close(calls_r)
        os.close(answers_w)
        os.set_blocking(calls_w, False)
        os.set_blocking(answers_r, False)
        widen_pipe(answers_r)  # (a chunk's answer in one write: see widen_pipe)
        return _Worker(pid, calls_w, answers_r)

    def submit(self, fn: Callable[[Any], Any], arg: Any, /) -> _Task:
        """Have the worker with the fewest calls waiting run ``fn(arg)`` (``fn`` a module's
        function; both picklable)."""
        import pickle

        alive = [w for w in self._workers if w.pid]
        if not alive:
            raise WorkerLost("no worker process is left")
        worker = min(alive, key=lambda w: len(w.waiting))
        data = pickle.dumps((fn, arg), pickle.HIGHEST_PROTOCOL)
        task = _Task(self)
        worker.outbox += _FRAME.pack(len(data))
        worker.outbox += data
        worker.waiting.append(task)
        self._send(worker)
        return task

    def _send(self, worker: _Worker) -> None:
        try:
            while worker.outbox:
                del worker.outbox[:os.write(worker.calls, worker.outbox)]
        except BlockingIOError:
            pass  # (the rest on the next look)
        except OSError:  # it has ended: its answers pipe says so
            worker.outbox.clear()

    def _poll(self, until: _Task | None) -> None:
        """Read every answer that has arrived, write what calls wait; with ``until``, wait
        until that task is done."""
        import select

        while True:
            for worker in self._workers:
                if worker.waiting:
                    self._receive(worker)
                if worker.outbox and worker.pid:
                    self._send(worker)
            if until is None or until._done:
                return
            readers = [w.answers for w in self._workers if w.waiting]
            writers = [w.calls for w in self._workers if w.outbox and w.pid]
            if not readers:  # (cannot happen: a task not done waits on its worker)
                raise WorkerLost("a task has no worker")
            select.select(readers, writers, [])

    def _receive(self, worker: _Worker) -> None:
        import pickle

        ended = False
        try:
            while True:
                chunk = os.read(worker.answers, 1 << 20)
                if not chunk:  # it has ended: what it answered first is still read below
                    ended = True
                    break
                worker.inbox += chunk
        except BlockingIOError:
            pass
        inbox = worker.inbox
        at = 0
        while len(inbox) - at >= _FRAME.size:
            end = at + _FRAME.size + _FRAME.unpack_from(inbox, at)[0]
            if len(inbox) < end:
                break
            task = worker.waiting.popleft()
            try:
                with memoryview(inbox) as view:
                    ok, value = pickle.loads(view[at + _FRAME.size:end])
            except Exception as err:  # (an exception that does not unpickle)
                ok, value = False, WorkerLost(f"a worker's answer cannot be read: {err}")
            if ok:
                task._value = value
            else:
                task._error = value
            task._done = True
            at = end
        if at:
            del inbox[:at]
        if ended:
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        status = _reap(worker.pid)
        worker.pid = 0
        why = f"killed by signal {-status}" if status < 0 else f"exit code {status}"
        while worker.waiting:
            task = worker.waiting.popleft()
            task._error = WorkerLost(f"a worker process ended ({why})")
            task._done = True

    def shutdown(self, kill: bool = False) -> None:
        """Close the calls pipes (a worker ends once it has answered what it was sent) and
        wait for the workers; with ``kill``, stop them first."""
        for worker in self._workers:
            if kill and worker.pid:
                with contextlib.suppress(OSError):
                    os.kill(worker.pid, signal.SIGKILL)
            for fd in (worker.calls, worker.answers):
                with contextlib.suppress(OSError):
                    os.close(fd)
        for worker in self._workers:
            if worker.pid:
                _reap(worker.pid)
                worker.pid = 0
        self._workers = []

    def pids(self) -> list[int]:
        """The workers' process ids (those not ended)."""
        return [w.pid for w in self._workers if w.pid]

    def __enter__(self) -> ForkPool:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        self.shutdown(kill=kind is not None)


def _reap(pid: int) -> int:
    """Wait for a worker: its exit code, or minus the signal that ended it."""
    try:
        _, status = os.waitpid(pid, 0)
    except ChildProcessError:
        return 0
    return os.waitstatus_to_exitcode(status)

