"""socle.policy.bundles against a real OCI registry (docker-registry on 127.0.0.1)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from conftest_registry import get_manifest, oci_registry_fixture, push_raw  # noqa: F401
from socle.policy.bundles import (
    ANNOTATION_TITLE,
    MEDIA_CONFIG,
    MEDIA_DATA_LAYER,
    MEDIA_POLICY_LAYER,
    BundleError,
    Limits,
    pull,
    push,
)

DENY = b'package main\n\ndeny contains "no" if { input.bad }\n'
TITLE = ANNOTATION_TITLE


def tree(root: Path) -> dict[str, bytes]:
    if not root.exists():
        return {}
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def policy_dir(tmp_path: Path) -> Path:
    root = tmp_path / "policy"
    (root / "lib").mkdir(parents=True)
    (root / "deny.rego").write_bytes(DENY)
    (root / "deny_test.rego").write_bytes(b"package main\n")
    (root / "lib" / "k8s.rego").write_bytes(b"package lib.k8s\n")
    (root / "data.yaml").write_bytes(b"allowed: [a]\n")
    (root / "notes.md").write_bytes(b"not pushed")
    (root / ".hidden").mkdir()
    (root / ".hidden" / "x.rego").write_bytes(b"not pushed")
    return root


def test_push_uses_conftest_layout_and_pull_recreates_the_tree(
        oci_registry: str, policy_dir: Path, tmp_path: Path) -> None:
    result = push(f"oci://{oci_registry}/team/policies:v1", policy_dir)
    assert result.files == ["data.yaml", "deny.rego", "deny_test.rego", "lib/k8s.rego"]
    manifest = get_manifest(oci_registry, "team/policies", "v1")
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["mediaType"] == MEDIA_CONFIG  # type: ignore[index]
    layers = {layer["annotations"][TITLE]: layer["mediaType"]  # type: ignore[attr-defined]
              for layer in manifest["layers"]}  # type: ignore[attr-defined]
    assert layers == {"data.yaml": MEDIA_DATA_LAYER, "deny.rego": MEDIA_POLICY_LAYER,
                      "deny_test.rego": MEDIA_POLICY_LAYER, "lib/k8s.rego": MEDIA_POLICY_LAYER}

    pulled = pull(f"oci://{oci_registry}/team/policies:v1", tmp_path / "out")
    assert pulled.files == result.files
    assert tree(tmp_path / "out") == {k: v for k, v in tree(policy_dir).items()
                                      if k in result.files}


def test_push_is_deterministic_and_defaults_to_latest(oci_registry: str,
                                                      policy_dir: Path) -> None:
    first = push(f"{oci_registry}/det", policy_dir)
    second = push(f"{oci_registry}/det:latest", policy_dir)
    assert first.reference == f"{oci_registry}/det:latest"
    assert first.digest == second.digest


def test_bare_reference_and_separate_data_folder(oci_registry: str, policy_dir: Path,
                                                 tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "extra.json").write_bytes(b'{"x": 1}')
    push(f"{oci_registry}/withdata:v2", policy_dir, data)
    pull(f"{oci_registry}/withdata:v2", tmp_path / "out")
    assert sorted(tree(tmp_path / "out")) == ["deny.rego", "deny_test.rego", "extra.json",
                                               "lib/k8s.rego"]


def test_pull_by_digest_and_missing_tag(oci_registry: str, policy_dir: Path,
                                        tmp_path: Path) -> None:
    digest = push(f"{oci_registry}/bydigest:v1", policy_dir).digest
    pull(f"oci://{oci_registry}/bydigest@{digest}", tmp_path / "out")
    assert "deny.rego" in tree(tmp_path / "out")
    with pytest.raises(BundleError, match="nosuch not found"):
        pull(f"oci://{oci_registry}/bydigest:nosuch", tmp_path / "other")
    assert not (tmp_path / "other").exists()


@pytest.mark.parametrize(("title", "message"), [
    ("../evil.rego", "escapes"),
    ("/etc/evil.rego", "absolute"),
    ("a/../../evil.rego", "escapes"),
])
def test_artifact_with_escaping_title_is_refused(oci_registry: str, tmp_path: Path,
                                                 title: str, message: str) -> None:
    dest = tmp_path / "deep" / "policy"
    dest.mkdir(parents=True)
    (dest / "mine.rego").write_bytes(b"package mine\n")
    push_raw(oci_registry, "evil", "t", [
        (MEDIA_POLICY_LAYER, DENY, {TITLE: "ok.rego"}),
        (MEDIA_POLICY_LAYER, b"package evil\n", {TITLE: title}),
    ])
    with pytest.raises(BundleError, match=message):
        pull(f"oci://{oci_registry}/evil:t", dest)
    assert tree(dest) == {"mine.rego": b"package mine\n"}
    assert not (tmp_path / "deep" / "evil.rego").exists()


def _tgz(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_opa_bundle_and_oras_folder_layers_are_unpacked(oci_registry: str,
                                                        tmp_path: Path) -> None:
    push_raw(oci_registry, "opabundle", "v1", [
        ("application/vnd.oci.image.layer.v1.tar+gzip",
         _tgz({"/policy/main.rego": DENY, "/data.json": b"{}"}), {TITLE: "bundle.tar.gz"}),
        ("application/vnd.oci.image.layer.v1.tar+gzip",
         _tgz({"shared/lib.rego": b"package lib\n"}),
         {TITLE: "shared", "io.deis.oras.content.unpack": "true"}),
    ])
    pull(f"oci://{oci_registry}/opabundle:v1", tmp_path / "out")
    assert tree(tmp_path / "out") == {"data.json": b"{}", "policy/main.rego": DENY,
                                      "shared/lib.rego": b"package lib\n"}
    # a folder layer whose tar reaches outside its folder is refused
    push_raw(oci_registry, "opabundle", "evil", [
        ("application/vnd.oci.image.layer.v1.tar+gzip",
         _tgz({"other/x.rego": b"package x\n"}),
         {TITLE: "shared", "io.deis.oras.content.unpack": "true"}),
    ])
    with pytest.raises(BundleError, match="outside the layer's folder"):
        pull(f"oci://{oci_registry}/opabundle:evil", tmp_path / "evil")
    assert not (tmp_path / "evil").exists()


def test_size_limit_on_artifacts(oci_registry: str, tmp_path: Path) -> None:
    push_raw(oci_registry, "big", "v1", [(MEDIA_POLICY_LAYER, b"#" * 4096, {TITLE: "a.rego"})])
    with pytest.raises(BundleError, match="download limit"):
        pull(f"oci://{oci_registry}/big:v1", tmp_path / "out", limits=Limits(max_download=1024))
    assert not (tmp_path / "out").exists()


def test_tls_against_a_plain_http_registry_fails_with_a_hint(oci_registry: str,
                                                             tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="cannot reach"):
        pull(f"oci://{oci_registry}/team/policies:v1", tmp_path / "out", tls=True, timeout=5)
    assert not (tmp_path / "out").exists()


# -- differential: the real conftest binary ---------------------------------------------------


def _conftest() -> str | None:
    for candidate in (os.environ.get("CONFTEST"), shutil.which("conftest"),
                      os.path.expanduser("~/.cache/socle-ci/bin/conftest"),
                      os.path.expanduser("~/go/bin/conftest")):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


@pytest.fixture
def conftest_bin(policy_dir: Path) -> str:
    binary = _conftest()
    if not binary:
        pytest.skip("conftest binary not found (set CONFTEST)")
    shutil.rmtree(policy_dir / ".hidden")  # conftest would load (and fail on) dot-folders
    return binary


def test_conftest_push_then_socle_pull(oci_registry: str, policy_dir: Path, tmp_path: Path,
                                       conftest_bin: str) -> None:
    subprocess.run([conftest_bin, "push", f"{oci_registry}/fromconftest:v1", "-p", "policy"],
                   cwd=policy_dir.parent, check=True, capture_output=True, timeout=120)
    pull(f"oci://{oci_registry}/fromconftest:v1", tmp_path / "socle")
    subprocess.run([conftest_bin, "pull", f"oci://{oci_registry}/fromconftest:v1",
                    "-p", "conftest"],  # conftest joins -p to "."
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    assert tree(tmp_path / "socle") == tree(tmp_path / "conftest")
    assert tree(tmp_path / "socle")["policy/deny.rego"] == DENY  # conftest titles keep the dir


def test_socle_push_then_conftest_pull(oci_registry: str, policy_dir: Path, tmp_path: Path,
                                       conftest_bin: str) -> None:
    push(f"{oci_registry}/fromsocle:v1", policy_dir)
    subprocess.run([conftest_bin, "pull", f"oci://{oci_registry}/fromsocle:v1",
                    "-p", "conftest"],  # conftest joins -p to "."
                   cwd=tmp_path, check=True, capture_output=True, timeout=120)
    pull(f"oci://{oci_registry}/fromsocle:v1", tmp_path / "socle")
    assert tree(tmp_path / "conftest") == tree(tmp_path / "socle")
    assert tree(tmp_path / "conftest")["lib/k8s.rego"] == b"package lib.k8s\n"
