"""Worker processes end with the run that started them, however it ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    proc, left = _stop_when_working(["check", "-n", "2", "--policy", str(policy), str(corpus)],
                                    processes=4)  # supervisor, run, two workers
    assert proc.returncode == 128 + signal.SIGTERM
    assert left == 0


def test_a_stopped_validate_stops_its_workers(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus")
    proc, left = _stop_when_working(["validate", "-n", "2", str(corpus)], processes=3)
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
def test_batches_keep_every_file_in_order_and_end_small(n: int) -> None:
    from socle.core.workers import batches

    items = list(range(n))
    out = batches(items, 2)
    assert [x for b in out for x in b] == items
    assert all(0 < len(b) <= 32 for b in out)
    if n >= 1000:  # whoever finishes first waits for a batch of 8 files at most, not 32
        assert max(len(b) for b in out) == 32
        assert all(len(b) <= 8 for b in out[-8:])
