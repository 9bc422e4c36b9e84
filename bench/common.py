"""Shared helpers for socle's benchmarks: measured child runs, interleaving, medians, tables.

How a run is measured (:func:`measure`):

* **wall time**: ``time.perf_counter`` around the child, from spawn to reap: when the command
  has ended for whoever started it (a shell, a CI step).
* **CPU time**: user + system from ``os.wait4`` on the child. Linux folds the CPU time of every
  descendant the child has reaped into it, so a Python pool's worker processes are counted
  (they are joined before the command exits). A descendant still running when the command ends
  (``socle check``'s working process, whose heap the kernel is still freeing when the
  supervising parent ends with its exit code) comes to the helper, a child subreaper, and is
  reaped after the wall time is taken: its CPU time and peak count too.
* **peak RSS (largest process)**: ``ru_maxrss`` from the same ``wait4`` calls. For a process
  tree Linux reports the *maximum* over the child and its reaped descendants, not their sum: it
  is the peak of the single biggest process.
* **peak tree memory**: what the whole tree held at once. Summing each process's own
  ``ru_maxrss`` would count memory that forked workers share with their parent (copy-on-write
  pages) once per process, and the peaks need not coincide. So a sampler thread reads the tree
  (``/proc/<pid>/task/*/children``, recursively) every ``interval`` seconds and sums each
  process's PSS (``/proc/<pid>/smaps_rollup``; shared pages split between their users), falling
  back to RSS where PSS is unreadable. The maximum of those sums is reported. Sampling can miss
  a short spike.

Sampling is not free, and not equally so for every tool: reading ``smaps_rollup`` walks the
process's page tables under its memory-map lock, so it costs more, and stalls more, the more
processes and the bigger the heaps. Measured on the check corpus with a 50 ms interval, it
made a three-process ``socle check`` 23% slower (median 5.83 s against 4.73 s) and left a
single-process kubeconform unchanged. So :func:`interleaved` times runs that are not sampled,
and measures the whole tree's memory in separate sampled runs (``memory_runs``).

``RUSAGE_CHILDREN`` deltas are not used for memory because ``ru_maxrss`` there is a running
maximum over all children ever reaped, not something that can be subtracted.

The command is started by a tiny helper process (``python -S``, ~8 MiB), which also takes the
wall time and the ``wait4``. Started straight from the benchmark, the child would inherit the
benchmark's own high-water mark: at ``exec`` Linux copies the RSS peak of the old address space
(the parent's, after fork or vfork) into the new program's ``ru_maxrss``, so every tool would
seem to use at least as much memory as the benchmark process. With the helper that floor is
the helper's size, well below what any measured tool uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Measurement", "fmt_bytes", "interleaved", "markdown_table", "measure", "median",
           "summarize"]


@dataclass
class Measurement:
    wall: float  # seconds
    cpu: float  # user + system seconds, including reaped descendants
    max_rss: int  # bytes, largest single process (wait4 ru_maxrss)
    tree_peak: int  # bytes, largest sampled sum of PSS over the process tree (0 if unsampled)
    returncode: int
    samples: int = 0
    timed: bool = True  # False: a run for the memory sampler only (its time is not reported)


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/children", encoding="ascii") as fh:
                out.extend(int(x) for x in fh.read().split())
        except (OSError, ValueError):
            continue
    return out


def _tree(pid: int) -> list[int]:
    todo: list[int] = [pid]
    seen: list[int] = []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(_children(p))
    return seen


def _memory(pid: int) -> int:
    """PSS in bytes (RSS if PSS cannot be read); 0 if the process is gone."""
    for path, key in ((f"/proc/{pid}/smaps_rollup", "Pss:"), (f"/proc/{pid}/status", "VmRSS:")):
        try:
            with open(path, encoding="ascii") as fh:
                for line in fh:
                    if line.startswith(key):
                        return int(line.split()[1]) * 1024
        except (OSError, ValueError):
            continue
    return 0


class _Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak = 0
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            # the helper's descendants: the measured command and everything it started
            total = sum(_memory(p) for p in _tree(self.pid)[1:])
            self.samples += 1
            self.peak = max(self.peak, total)
            self.stop.wait(self.interval)


_HELPER = r"""
import ctypes, json, os, sys, time
cmd, cwd, out = json.loads(sys.argv[1]), sys.argv[2] or None, int(sys.argv[3])
if cwd:
    os.chdir(cwd)
try:  # descendants the command leaves behind come to this helper (PR_SET_CHILD_SUBREAPER)
    ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)
except (OSError, AttributeError):
    pass
start = time.perf_counter()
pid = os.posix_spawnp(cmd[0], cmd, os.environ)
_, status, ru = os.wait4(pid, 0)
wall = time.perf_counter() - start
cpu, rss = ru.ru_utime + ru.ru_stime, ru.ru_maxrss
while True:  # (not timed) their CPU and peak too
    try:
        _, _, more = os.wait4(-1, 0)
    except ChildProcessError:
        break
    cpu, rss = cpu + more.ru_utime + more.ru_stime, max(rss, more.ru_maxrss)
os.write(out, json.dumps([wall, cpu, rss * 1024, os.waitstatus_to_exitcode(status)]).encode())
"""


def measure(cmd: Sequence[str], *, cwd: str | None = None, env: Mapping[str, str] | None = None,
            stdout: Any = subprocess.DEVNULL, stderr: Any = subprocess.DEVNULL,
            interval: float | None = 0.05, timeout: float | None = None) -> Measurement:
    """Run ``cmd`` once and measure it (see the module docstring)."""
    read, write = os.pipe()
    try:
        helper = subprocess.Popen(
            [sys.executable, "-S", "-c", _HELPER, json.dumps(list(cmd)), cwd or "", str(write)],
            env=dict(env) if env is not None else None, stdout=stdout, stderr=stderr,
            pass_fds=(write,))
    finally:
        os.close(write)
    sampler = _Sampler(helper.pid, interval) if interval else None
    if sampler:
        sampler.start()
    try:
        helper.wait(timeout)
    except subprocess.TimeoutExpired:
        for pid in reversed(_tree(helper.pid)):
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        helper.wait()
        raise
    finally:
        if sampler:
            sampler.stop.set()
            sampler.join()
        with os.fdopen(read, "rb") as fh:
            data = fh.read()
    if helper.returncode != 0 or not data:
        raise RuntimeError(f"cannot run {' '.join(cmd)} (helper exit {helper.returncode})")
    wall, cpu, max_rss, code = json.loads(data)
    return Measurement(wall=wall, cpu=cpu, max_rss=max_rss,
                       tree_peak=sampler.peak if sampler else 0, returncode=code,
                       samples=sampler.samples if sampler else 0)


def find_tool(name: str, env: str, explicit: str | None = None) -> str | None:
    """A Go peer's binary: ``explicit``, then ``$env``, then PATH, then where ``.ci/run``
    installs them (``~/.cache/socle-ci/bin``), then ``$(go env GOPATH)/bin`` and ``~/go/bin``
    (``go install``'s default)."""
    import shutil

    for candidate in (explicit, os.environ.get(env), shutil.which(name),
                      os.path.expanduser(f"~/.cache/socle-ci/bin/{name}")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    gopath = ""
    go = shutil.which("go")
    if go:
        try:
            gopath = subprocess.run([go, "env", "GOPATH"], capture_output=True, text=True,
                                    timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            gopath = ""
    for base in [p for p in gopath.split(os.pathsep) if p] + [os.path.expanduser("~/go")]:
        path = os.path.join(base, "bin", name)
        if os.access(path, os.X_OK):
            return path
    return None


def compile_socle() -> None:
    """Compile socle's bytecode as ``pip install`` does for an installed package. From an
    editable checkout with ``PYTHONDONTWRITEBYTECODE`` set (as on the benchmark machine),
    every run would otherwise compile socle's sources again (~70 ms a run)."""
    import compileall

    import socle

    compileall.compile_dir(os.path.dirname(socle.__file__), quiet=1)


def interleaved(commands: Mapping[str, Sequence[str]], runs: int, *,
                ok_codes: Iterable[int] = (0, 1), progress: bool = True,
                interval: float | None = 0.05, memory_runs: int = 1,
                **kwargs: Any) -> dict[str, list[Measurement]]:
    """``runs`` timed rounds; each round runs every command once, alternating the order per
    round so that neither tool always runs first (caches, CPU frequency, neighbours' load).
    Then ``memory_runs`` rounds sampling the process tree's memory every ``interval`` seconds
    (none when ``interval`` is None or 0): their measurements are returned too, with ``timed``
    False, so :func:`summarize` takes their memory and not their time. socle's bytecode is
    compiled first (:func:`compile_socle`)."""
    compile_socle()
    ok = set(ok_codes)
    names = list(commands)
    out: dict[str, list[Measurement]] = {n: [] for n in names}
    rounds = [(i, None) for i in range(runs)]
    if interval:
        rounds += [(runs + j, interval) for j in range(memory_runs)]
    for i, every in rounds:
        order = names if i % 2 == 0 else names[::-1]
        for name in order:
            m = measure(commands[name], interval=every, **kwargs)
            m.timed = every is None
            if m.returncode not in ok:
                raise RuntimeError(f"{name} exited with {m.returncode}: {' '.join(commands[name])}")
            out[name].append(m)
            if progress:
                what = (f"run {i + 1}/{runs}" if m.timed
                        else f"memory run {i - runs + 1}/{memory_runs} (not timed)")
                print(f"  {what} {name}: {m.wall:.2f} s wall, {m.cpu:.2f} s CPU, "
                      f"{fmt_bytes(m.max_rss)} max RSS, {fmt_bytes(m.tree_peak)} tree",
                      flush=True)
    return out


def median(values: Iterable[float]) -> float:
    return float(statistics.median(list(values)))


@dataclass
class Summary:
    runs: int
    wall: float
    cpu: float
    max_rss: int
    tree_peak: int
    walls: list[float] = field(default_factory=list)


def summarize(ms: list[Measurement]) -> Summary:
    """Medians of the timed runs' time; the highest memory peak seen over all runs."""
    timed = [m for m in ms if m.timed] or ms
    return Summary(runs=len(timed), wall=median(m.wall for m in timed),
                   cpu=median(m.cpu for m in timed), max_rss=max(m.max_rss for m in ms),
                   tree_peak=max(m.tree_peak for m in ms), walls=[m.wall for m in timed])


def fmt_bytes(n: int) -> str:
    if n <= 0:
        return "-"
    return f"{n / 2**20:,.0f} MiB"


def markdown_table(headers: Sequence[str], rows: Iterable[Sequence[object]],
                   align: str | None = None) -> str:
    """A GitHub Markdown table; ``align`` is one letter per column (l, r, c)."""
    align = align or "l" + "r" * (len(headers) - 1)
    marks = {"l": "---", "r": "---:", "c": ":---:"}
    lines = ["| " + " | ".join(headers) + " |",
             "| " + " | ".join(marks[a] for a in align) + " |"]
    lines.extend("| " + " | ".join(str(c) for c in row) + " |" for row in rows)
    return "\n".join(lines)
