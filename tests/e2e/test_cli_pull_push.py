"""``socle pull`` and ``socle push`` as a user runs them (a real registry on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest_registry import oci_registry_fixture  # noqa: F401

DENY = b'package main\n\ndeny contains "no" if { input.bad }\n'


def socle(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "socle.cli.main", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def tree(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def one_line_error(proc: subprocess.CompletedProcess[str], verb: str) -> str:
    assert proc.returncode == 2, proc
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"socle {verb}: ")
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "policy" / "lib").mkdir(parents=True)
    (tmp_path / "policy" / "deny.rego").write_bytes(DENY)
    (tmp_path / "policy" / "lib" / "k8s.rego").write_bytes(b"package lib.k8s\n")
    (tmp_path / "policy" / "exceptions.json").write_bytes(b'{"names": []}')
    return tmp_path


def test_push_then_pull_round_trip(oci_registry: str, project: Path, tmp_path: Path) -> None:
    pushed = socle("push", f"{oci_registry}/e2e/policies:v1", cwd=project)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout.startswith(f"pushed 3 files to {oci_registry}/e2e/policies:v1 with "
                                    "digest sha256:")
    other = tmp_path / "consumer"
    other.mkdir()
    pulled = socle("pull", f"oci://{oci_registry}/e2e/policies:v1", cwd=other)
    assert pulled.returncode == 0, pulled.stderr
    assert pulled.stdout.strip() == (f"pulled 3 files from oci://{oci_registry}/e2e/policies:v1 "
                                     f"into {other / 'policy'}")
    assert tree(other / "policy") == tree(project / "policy")


def test_push_flags_and_pull_into_another_folder(oci_registry: str, project: Path) -> None:
    (project / "rules").mkdir()
    (project / "rules" / "r.rego").write_bytes(b"package r\n")
    (project / "data").mkdir()
    (project / "data" / "d.yaml").write_bytes(b"a: 1\n")
    pushed = socle("push", f"oci://{oci_registry}/flags", "-p", "rules", "--data", "data",
                   "--tls=false", "-q", cwd=project)
    assert (pushed.returncode, pushed.stdout) == (0, "")
    pulled = socle("pull", f"{oci_registry}/flags:latest", "--policy", "vendor", "--insecure",
                   cwd=project)
    assert pulled.returncode == 0, pulled.stderr
    assert tree(project / "vendor") == {"d.yaml": b"a: 1\n", "r.rego": b"package r\n"}


def test_pull_folder_from_config_file(oci_registry: str, project: Path) -> None:
    socle("push", f"{oci_registry}/cfg:v1", cwd=project)
    (project / "socle.yaml").write_text("pull:\n  policy: vendored\n")
    proc = socle("pull", f"{oci_registry}/cfg:v1", "-q", cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "deny.rego" in tree(project / "vendored")
    (project / "socle.yaml").write_text("pull:\n  polcy: vendored\n")
    assert "unknown option 'polcy'" in one_line_error(
        socle("pull", f"{oci_registry}/cfg:v1", cwd=project), "pull")


def test_errors_are_one_line_exit_2_and_change_nothing(oci_registry: str, project: Path,
                                                       tmp_path: Path) -> None:
    before = tree(project / "policy")
    archive = tmp_path / "bundle.tar.gz"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("deny.rego")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"new"))
    archive.write_bytes(buf.getvalue())
    good = hashlib.sha256(buf.getvalue()).hexdigest()
    bad = "f" * 64

    msg = one_line_error(socle("pull", f"{archive}?checksum=sha256:{bad}", cwd=project), "pull")
    assert "checksum mismatch" in msg
    msg = one_line_error(socle("pull", f"oci://{oci_registry}/nothing:here", cwd=project),
                         "pull")
    assert "not found" in msg
    msg = one_line_error(socle("pull", "--timeout", "5", "--tls",
                               f"oci://{oci_registry}/nothing:here", cwd=project), "pull")
    assert "cannot reach" in msg and "--tls=false" in msg
    assert tree(project / "policy") == before

    ok = socle("pull", f"{archive}?checksum=sha256:{good}", cwd=project)
    assert ok.returncode == 0, ok.stderr
    assert tree(project / "policy")["deny.rego"] == b"new"


def test_push_errors(oci_registry: str, project: Path) -> None:
    assert "repository" in one_line_error(socle("push", "policies:v1", cwd=project), "push")
    assert "no such file" in one_line_error(
        socle("push", f"{oci_registry}/x:v1", "-p", "missing", cwd=project), "push")
    (project / "empty").mkdir()
    assert "no .rego or data files" in one_line_error(
        socle("push", f"{oci_registry}/x:v1", "-p", "empty", cwd=project), "push")
