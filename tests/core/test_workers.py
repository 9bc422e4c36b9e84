"""Worker processes end with the run that started them, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux prctl")

CONFIG_MAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings-{i}
  labels: {{app: shop, tier: web}}
data:
  LOG_LEVEL: info
  UPSTREAM: http://billing.shop.svc:8080
"""


def _corpus(root: Path, files: int = 2000, docs: int = 10) -> Path:
    root.mkdir()
    for f in range(files):
        text = "---\n".join(CONFIG_MAP.format(i=f * docs + d) for d in range(docs))
        (root / f"f{f}.yaml").write_text(text)
    return root


def _alive(session: int) -> list[int]:
    """The processes of a session that have not ended (zombies left out)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            found.append(int(entry))
    return found


def _stop_when_working(args: list[str], processes: int) -> tuple[subprocess.Popen[bytes], int]:
    """Start socle, wait until ``processes`` of it run, then send SIGTERM to the first one."""
    proc = subprocess.Popen([sys.executable, "-m", "socle.cli.main", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while len(_alive(proc.pid)) < processes:
            assert proc.poll() is None, "the run ended before its workers were seen"
            assert time.monotonic() < deadline
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=60)  # its pipes close: no process holds them any more
    finally:
        proc.kill()
    deadline = time.monotonic() + 10
    while _alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    return proc, len(_alive(proc.pid))


def test_a_stopped_check_stops_its_worker_and_supervisor_processes(tmp_path: Path) -> None:
    # with policies, check runs under a supervising parent (the time limit); a cancelled CI
    # job signals that parent alone
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "p.rego").write_text('package main\n\ndeny contains "x" if { input.nope }\n')
    corpus = _corpus(tmp_path / "corpus")
    # -n 3: the run checks files itself beside two forked workers
    proc, left = _stop_when_working(["check", "-n", "3", "--policy", str(policy), str(corpus)],
                                    processes=4)  # supervisor, run, two workers
    assert proc.returncode == 128 + signal.SIGTERM
    assert left == 0


def test_a_stopped_validate_stops_its_workers(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    proc, left = _stop_when_working(["validate", "-n", "3", str(corpus)], processes=3)
    assert proc.returncode == -signal.SIGTERM
    assert left == 0


def test_a_process_whose_parent_is_already_gone_ends_at_once() -> None:
    # (the parent can end between the fork and the request to the kernel)
    code = subprocess.run([sys.executable, "-c",
                           "from socle.core.workers import die_with_parent\n"
                           "die_with_parent(1)\n"  # not this process's parent
                           "raise SystemExit(7)"], check=False).returncode
    assert code == 1
    code = subprocess.run([sys.executable, "-c",
                           "import os\n"
                           "from socle.core.workers import die_with_parent\n"
                           "die_with_parent(os.getppid())\n"
                           "raise SystemExit(7)"], check=False).returncode
    assert code == 7  # its parent is alive: it goes on


@pytest.mark.parametrize("n", [0, 1, 7, 100, 1000, 12345])
def test_shared_work_keeps_every_item_in_order_and_ends_in_small_chunks(n: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from socle.core.workers import share

    chunks: list[list[int]] = []
    finished: list[int] = []

    def remote(chunk: list[int]) -> list[str]:
        chunks.append(chunk)
        time.sleep(0.0005)
        return [f"r{i}" for i in chunk]

    def here(i: int) -> str:
        time.sleep(0.0005)
        return f"h{i}"

    with ThreadPoolExecutor(1) as pool:
        out = share(pool, 1, list(range(n)), remote, here, done=finished.extend)
    assert [int(x[1:]) for x in out] == list(range(n))  # each once, in the items' order
    assert sorted(finished) == list(range(n))  # progress heard of every item once
    assert all(0 < len(c) <= 32 for c in chunks)
    if n >= 1000:
        # both did a share, and whoever finishes first waits for a chunk of a few items at
        # most at the end, not 32
        assert {x[0] for x in out} == {"r", "h"}
        assert max(len(c) for c in chunks) == 32
        assert all(len(c) <= 4 for c in chunks[-2:])


@pytest.mark.parametrize("kind", ["executor", "fork"])
def test_shared_work_runs_in_forked_workers_and_in_this_process(kind: str) -> None:
    # this process takes items between the chunks it hands out; a chunk's error is the
    # caller's to turn into a message (collect), and one raised here goes up as it is
    from socle.core.workers import ForkPool, fork_pool, share

    with (fork_pool(1, _nothing) if kind == "executor" else ForkPool(1, _nothing)) as pool:
        out = share(pool, 1, list(range(400)), _pids, lambda i: (i, os.getpid()))
        assert [i for i, _ in out] == list(range(400))
        workers = ({p.pid for p in (pool._processes or {}).values()}
                   if isinstance(pool, ProcessPoolExecutor) else set(pool.pids()))
        assert len(workers) == 1
        assert {pid for _, pid in out} == {os.getpid(), *workers}

        def collect(fut: Any, chunk: list[int]) -> list[tuple[int, int]]:
            raise ValueError(f"chunk from {chunk[0]} failed")

        with pytest.raises(ValueError, match="chunk from 0 failed"):
            share(pool, 1, list(range(400)), _pids, lambda i: (i, 0), collect=collect)

        def broken(i: int) -> tuple[int, int]:
            raise KeyError(i)

        with pytest.raises(KeyError):
            share(pool, 1, list(range(400)), _pids, broken)


def _nothing() -> None:
    pass


def _pids(chunk: list[int]) -> list[tuple[int, int]]:
    time.sleep(0.001 * len(chunk))
    return [(i, os.getpid()) for i in chunk]


def _cgroups(root: Path, own: str, files: dict[str, str]) -> tuple[str, str]:
    for rel, text in files.items():
        path = root / "fs" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    (root / "self").write_text(own)
    return str(root / "fs"), str(root / "self")


@pytest.mark.parametrize(("own", "files", "quota"), [
    # cgroup v2: a container limited to 1.5 CPUs, its parent to 4
    ("0::/kubepods/pod1/c1\n", {"cgroup.controllers": "cpu\n", "cpu.max": "max 100000\n",
                                "kubepods/cpu.max": "400000 100000\n",
                                "kubepods/pod1/c1/cpu.max": "150000 100000\n"}, 1.5),
    # v2, no limit anywhere
    ("0::/user.slice\n", {"cgroup.controllers": "cpu\n", "user.slice/cpu.max": "max 100000\n"},
     None),
    # v1 (the hierarchy named by its controllers), a limit of 2 CPUs in the container's root
    ("12:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc\n0::/\n",
     {"cpu,cpuacct/cpu.cfs_quota_us": "200000\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"},
     2.0),
    # v1 with no quota (-1), as on this machine
    ("1:cpu:/\n", {"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"}, None),
    # nothing readable
    ("garbage\n", {}, None),
])
def test_cpu_quota_reads_the_cgroup_limits(tmp_path: Path, own: str, files: dict[str, str],
                                           quota: float | None) -> None:
    from socle.core.workers import cpu_quota

    root, path = _cgroups(tmp_path, own, files)
    assert cpu_quota(root, path) == quota


def test_default_processes_follow_affinity_and_the_cpu_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # a CI job limited to 1.5 CPUs on a host with many cores runs 2 processes, not one per
    # host core; with no limit, one per core it may run on
    from socle.core import workers

    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(64)))
    root, path = _cgroups(tmp_path, "0::/job\n", {"cgroup.controllers": "cpu\n",
                                                   "job/cpu.max": "150000 100000\n"})
    assert workers.cores(root, path) == 2
    root, path = _cgroups(tmp_path / "b", "0::/job\n", {"cgroup.controllers": "cpu\n",
                                                         "job/cpu.max": "50000 100000\n"})
    assert workers.cores(root, path) == 1
    assert workers.cores(str(tmp_path / "none"), str(tmp_path / "none")) == 64
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 3})
    assert workers.cores(str(tmp_path / "none"), str(tmp_path / "none")) == 2


def _pipe_room(fd: int) -> int:
    """How many bytes can be written to a pipe before a writer would wait."""
    os.set_blocking(fd, False)
    written = 0
    try:
        while True:
            written += os.write(fd, b"x" * 65536)
    except BlockingIOError:
        pass
    return written


def test_a_widened_pipe_takes_a_large_result_without_the_writer_waiting(tmp_path: Path) -> None:
    from socle.core.workers import widen_pipe

    limit = tmp_path / "pipe-max-size"
    limit.write_text("262144\n")
    r, w = os.pipe()
    try:
        assert widen_pipe(_File(r), limit_file=str(limit)) == 262144
        assert _pipe_room(w) == 262144  # the kernel's default pipe takes 64 KiB
    finally:
        os.close(r)
        os.close(w)
    r, w = os.pipe()
    try:
        widen_pipe(_File(r), most=1 << 40)  # asks for more than the system allows: its limit
        with open("/proc/sys/fs/pipe-max-size") as fh:
            assert _pipe_room(w) == int(fh.read())
    finally:
        os.close(r)
        os.close(w)


def test_widening_what_is_not_a_pipe_changes_nothing(tmp_path: Path) -> None:
    from socle.core.workers import widen_pipe

    with open(tmp_path / "f", "wb") as fh:
        assert widen_pipe(fh) == 0
    assert widen_pipe(None) == 0
    assert widen_pipe(_File(-1)) == 0


def test_a_pool_sends_its_results_on_a_widened_pipe() -> None:
    import fcntl

    from socle.core.workers import fork_pool

    with open("/proc/sys/fs/pipe-max-size") as fh:
        want = min(int(fh.read()), 1 << 20)
    with fork_pool(1, _nothing) as pool:
        reader = pool._result_queue._reader
        assert fcntl.fcntl(reader.fileno(), fcntl.F_GETPIPE_SZ) == want
        big = pool.submit(_big, 600_000).result()
        assert len(big) == 600_000


class _File:
    def __init__(self, fd: int) -> None:
        self.fd = fd

    def fileno(self) -> int:
        return self.fd


def _big(n: int) -> bytes:
    return os.urandom(n)


# --- ForkPool -----------------------------------------------------------------------------------


def _gone(pid: int) -> bool:
    """True when ``pid`` no longer runs (ended and waited for)."""
    return not os.path.exists(f"/proc/{pid}")


def _state(pid: int) -> str:
    """A process's state letter ("Z": it has ended, not yet waited for)."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rpartition(")")[2].split()[0]


def _echo(arg: bytes) -> bytes:
    return arg[::-1]


def _die(arg: int) -> int:
    os.kill(os.getpid(), signal.SIGKILL)
    return arg


def _unsendable(arg: int) -> Any:
    return lambda: arg  # (a lambda does not pickle)


class _Odd(Exception):
    def __init__(self, a: int, b: int) -> None:  # (pickles, does not unpickle: args is (a,))
        super().__init__(a)
        self.b = b


def _odd(arg: int) -> int:
    raise _Odd(arg, 2)


def test_a_fork_pool_moves_calls_and_answers_larger_than_its_pipes() -> None:
    # four 3 MB calls at once, each answered with 3 MB: calls wait in this process until a
    # worker's pipe takes them, answers until this process reads them, and neither side
    # waits on the other for ever (a deadlock here would hang: the alarm fails the test)
    from socle.core.workers import ForkPool

    def hung(*_: object) -> None:
        raise TimeoutError("calls and answers waited on each other")

    old = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    try:
        with ForkPool(2, _nothing) as pool:
            blobs = [os.urandom(3 << 20) for _ in range(4)]
            tasks = [pool.submit(_echo, blob) for blob in blobs]
            assert [t.result() for t in tasks] == [b[::-1] for b in blobs]
            workers = pool.pids()
            assert len(workers) == 2
        assert all(_gone(pid) for pid in workers)  # shut down: ended and waited for
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_a_fork_pool_raises_a_workers_exceptions_and_says_when_one_dies() -> None:
    from socle.core.workers import ForkPool, WorkerLost

    with ForkPool(1, _nothing) as pool:
        with pytest.raises(TypeError, match="has no len"):
            pool.submit(_pids, None).result()
        with pytest.raises(WorkerLost, match="answer cannot be sent"):
            pool.submit(_unsendable, 1).result()
        with pytest.raises(WorkerLost, match="answer cannot be read"):
            pool.submit(_odd, 1).result()
        assert pool.submit(_echo, b"ab").result() == b"ba"  # the worker goes on
        with pytest.raises(WorkerLost, match=r"a worker process ended \(killed by signal 9\)"):
            pool.submit(_die, 1).result()
        with pytest.raises(WorkerLost, match="no worker process is left"):
            pool.submit(_echo, b"x")


def test_a_fork_pool_keeps_the_answers_a_worker_sent_before_it_died() -> None:
    from socle.core.workers import ForkPool, WorkerLost

    with ForkPool(1, _nothing) as pool:
        first = pool.submit(_echo, b"ab")
        second = pool.submit(_die, 1)
        deadline = time.monotonic() + 30
        while _state(pool.pids()[0]) != "Z":  # (the answer, then the end, in the pipe)
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert first.result() == b"ba"
        with pytest.raises(WorkerLost, match="killed by signal 9"):
            second.result()


def test_a_fork_pool_left_by_an_error_stops_its_workers() -> None:
    from socle.core.workers import ForkPool

    with pytest.raises(RuntimeError), ForkPool(2, _nothing) as pool:
        workers = pool.pids()
        pool.submit(_pids, list(range(2000)))  # (two seconds of work, not waited for)
        raise RuntimeError("stop")
    assert all(_gone(pid) for pid in workers)


def _killed(items: list[object], **_: object) -> list[object]:
    os.kill(os.getpid(), signal.SIGKILL)  # (as the kernel's out-of-memory killer would)
    return []


@pytest.mark.parametrize("command", ["validate", "scan", "check"])
def test_a_worker_killed_midway_is_one_error_naming_its_files(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str) -> None:
    # (was a BrokenProcessPool traceback for validate and scan)
    from socle.check import runner as check_runner
    from socle.core.errors import InputError
    from socle.schema import validator
    from socle.schema.registry import RegistryOptions
    from socle.security import runner as scan_runner

    corpus = str(_corpus(tmp_path / "corpus", files=300))  # (over 256 KiB: the run forks)
    validate = validator.ValidateOptions(registry=RegistryOptions(kubernetes_version="1.30.0"),
                                         workers=2)
    run, module, verb = {
        "validate": (lambda: validator.validate_paths([corpus], validate), validator,
                     "validating"),
        "scan": (lambda: scan_runner.scan_paths([corpus], scan_runner.ScanOptions(workers=2)),
                 scan_runner, "scanning"),
        "check": (lambda: check_runner.check_paths([corpus], check_runner.CheckOptions(
            validate=validate, workers=2)), check_runner, "checking"),
    }[command]
    monkeypatch.setattr(module, "_work", _killed)  # (the forked workers inherit it)
    with pytest.raises(InputError, match=rf"^a worker process (ended \(killed by signal 9\)|died) "
                                         rf"while {verb} .*/corpus/f\d+\.yaml"):
        run()
