"""socle.check.runner: what an embedder of check_paths relies on."""

from __future__ import annotations

import gc
from pathlib import Path

from socle.check import CheckOptions, check_paths
from socle.schema.validator import ValidateOptions

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: "two"
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
        - name: web
          image: nginx
"""


def _files(tmp_path: Path, n: int) -> list[str]:
    for i in range(n):
        (tmp_path / f"d{i}.yaml").write_text(DEPLOYMENT.replace("name: web\n", f"name: w{i}\n"))
    return [str(tmp_path)]


def test_the_cycle_collector_is_back_on_after_a_run(tmp_path: Path) -> None:
    # the run pauses it (and freezes the heap for its workers); the caller gets it back as it was
    assert gc.isenabled()
    report = check_paths(_files(tmp_path, 3), CheckOptions(validate=ValidateOptions(), workers=1))
    assert any(f.path == "/spec/replicas" for f in report.findings)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


def test_workers_leave_the_collector_and_the_heap_as_they_were(tmp_path: Path) -> None:
    # large enough for worker processes (more than 256 KiB in more than one file)
    paths = _files(tmp_path, 1000)
    report = check_paths(paths, CheckOptions(validate=ValidateOptions(), workers=2))
    assert len([f for f in report.findings if f.path == "/spec/replicas"]) == 1000
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        check_paths(paths, CheckOptions(validate=ValidateOptions(), workers=2))
        assert not gc.isenabled()  # a caller that had turned it off keeps it off
    finally:
        gc.enable()


BOOM = """\
import sys
import socle.check.runner as runner
from socle.cli.main import console

real = runner.check_source

def check_source(source, checkers, data=None):
    if source.path.endswith("d7.yaml"):
        raise TypeError("a bug in a worker")
    return real(source, checkers, data)

runner.check_source = check_source  # (the forked workers inherit it)
sys.argv = ["socle", "check", "--policy", sys.argv[1], sys.argv[2]]
console()
"""


def test_a_bug_in_a_worker_ends_the_run_with_its_message(tmp_path: Path) -> None:
    # exit 2 with the error, and no process left holding the output pipes (a supervised run,
    # policies and output into pipes, leaves by os._exit; its workers are stopped first)
    import subprocess
    import sys

    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "p.rego").write_text('package main\n\ndeny contains "x" if { input.nope }\n')
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    _files(corpus, 1000)
    script = tmp_path / "boom.py"
    script.write_text(BOOM)
    proc = subprocess.Popen([sys.executable, str(script), str(policy), str(corpus)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=60)  # the pipes close: nobody holds them
    finally:
        proc.kill()
    assert proc.returncode == 2
    assert b"a bug in a worker" in err
