"""A large check or scan starts itself again once with glibc's huge-page tunable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socle.cli import _hugepages as hugepages

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux, glibc")

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web-{i}, namespace: shop}}
spec:
  selector: {{matchLabels: {{app: web-{i}}}}}
  template:
    metadata: {{labels: {{app: web-{i}}}}}
    spec:
      containers:
      - name: app
        image: nginx:1.27
"""


def test_input_bytes_counts_files_and_folders_until_the_limit(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.yaml").write_bytes(b"x" * 1000)
    (tmp_path / "a" / ".git").mkdir()
    (tmp_path / "a" / ".git" / "pack").write_bytes(b"x" * 10_000)  # hidden: not input
    (tmp_path / "b.yaml").write_bytes(b"y" * 500)
    argv = ["check", "-o", "json", "-", str(tmp_path / "a"), str(tmp_path / "b.yaml"),
            str(tmp_path / "missing")]
    assert hugepages.input_bytes(argv) == 1500
    assert hugepages.input_bytes(argv, limit=800) >= 800  # stops early, past the limit


def test_only_large_checks_and_scans_on_a_supporting_system_start_again(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hugepages, "_glibc_supports", lambda: True)
    monkeypatch.setattr(hugepages, "_kernel_offers", lambda: True)
    monkeypatch.delenv("SOCLE_HUGEPAGES", raising=False)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    (tmp_path / "big.yaml").write_bytes(b"x" * 2048)
    monkeypatch.setattr(hugepages, "LARGE_INPUT", 1024)
    big = ["check", str(tmp_path / "big.yaml")]
    assert hugepages.wanted("check", big)
    assert hugepages.wanted("scan", big)
    assert not hugepages.wanted("validate", big)
    monkeypatch.setattr(hugepages, "LARGE_INPUT", 4096)
    assert not hugepages.wanted("check", big)  # small: a second start-up would not pay
    monkeypatch.setenv("SOCLE_HUGEPAGES", "1")
    assert hugepages.wanted("check", big)  # forced
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.hugetlb=0")
    assert not hugepages.wanted("check", big)  # the user's own setting stays
    monkeypatch.delenv("GLIBC_TUNABLES")
    monkeypatch.setenv("SOCLE_HUGEPAGES", "0")
    assert not hugepages.wanted("check", big)
    monkeypatch.setenv("SOCLE_HUGEPAGES", "1")
    monkeypatch.setattr(hugepages, "_kernel_offers", lambda: False)  # THP "never"
    assert not hugepages.wanted("check", big)


def test_the_restart_keeps_the_command_and_adds_the_tunable(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def fake_execve(path: str, argv: list[str], env: dict[str, str]) -> None:
        seen.append((path, argv, env))

    monkeypatch.setattr(os, "execve", fake_execve)
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "socle.cli.main", "check", "."])
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    hugepages.restart_with_huge_pages()
    ((path, argv, env),) = seen
    assert path == sys.executable
    assert argv == ["python", "-m", "socle.cli.main", "check", "."]
    assert env["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"


def test_a_restarted_check_gives_the_same_report(tmp_path: Path) -> None:
    if not (hugepages._glibc_supports() and hugepages._kernel_offers()):
        pytest.skip("no glibc 2.35+ or no transparent huge pages here")
    corpus = tmp_path / "repo"
    corpus.mkdir()
    for i in range(40):
        (corpus / f"d{i}.yaml").write_text(DEPLOYMENT.format(i=i))
    probe = ("import os, sys\n"
             "with open(os.environ['MARK'], 'a') as f:\n"
             "    f.write(os.environ.get('GLIBC_TUNABLES', '-') + '\\n')\n"
             "from socle.cli.main import console\n"
             "console()\n")
    out = {}
    for choice in ("1", "0", ""):
        mark = tmp_path / f"mark-{choice or 'auto'}"
        env = {**os.environ, "SOCLE_HUGEPAGES": choice, "MARK": str(mark),
               "SOCLE_CACHE_DIR": str(tmp_path / "cache")}
        env.pop("GLIBC_TUNABLES", None)
        proc = subprocess.run([sys.executable, "-c", probe, "check", "--no-test", "-o", "json",
                               str(corpus)], env=env, capture_output=True, timeout=300)
        out[choice] = (proc.returncode, proc.stdout)
        starts = mark.read_text().split()
        if choice == "1":  # started again once, with the tunable
            assert starts == ["-", "glibc.malloc.hugetlb=1"]
        else:  # off, or a small input: one start
            assert starts == ["-"]
    assert out["1"] == out["0"] == out[""]
    assert out["1"][0] == 1 and b"SCL-" in out["1"][1]
