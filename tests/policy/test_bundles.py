"""socle.policy.bundles: address detection and pulls from local folders, http(s) and git."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import shutil
import subprocess
import tarfile
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from socle.policy.bundles import (
    BundleError,
    Limits,
    detect,
    parse_reference,
    pull,
    pull_all,
)

DENY = b'package main\n\ndeny contains "no" if { input.bad }\n'


def tree(root: Path) -> dict[str, bytes]:
    """Every file and link under root: relative path -> content (or b'->target')."""
    out: dict[str, bytes] = {}
    if not root.exists():
        return out
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_symlink():
            out[rel] = b"->" + os.readlink(p).encode()
        elif p.is_file():
            out[rel] = p.read_bytes()
    return out


def make_tar(path: Path, members: list[tuple[str, bytes | None, str]]) -> bytes:
    """members: (name, data, kind) with kind file | dir | sym (data = target) | lnk."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data or b"")
                tar.addfile(info, io.BytesIO(data or b""))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind in ("sym", "lnk"):
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = (data or b"").decode()
                tar.addfile(info)
    path.write_bytes(buf.getvalue())
    return buf.getvalue()


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served over http on 127.0.0.1; yields (folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def existing_dest(tmp_path: Path) -> Path:
    dest = tmp_path / "policy"
    dest.mkdir()
    (dest / "mine.rego").write_bytes(b"package mine\n")
    (dest / "deny.rego").write_bytes(b"package old\n")
    return dest


# -- detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("url", "kind", "location", "subdir", "options"), [
    ("oci://127.0.0.1:5000/policies:v1", "oci", "127.0.0.1:5000/policies:v1", "", {}),
    ("127.0.0.1:5000/policies", "oci", "127.0.0.1:5000/policies", "", {}),
    ("localhost:5000/team/policies:v2", "oci", "localhost:5000/team/policies:v2", "", {}),
    ("myregistry.azurecr.io/policies:v1", "oci", "myregistry.azurecr.io/policies:v1", "", {}),
    ("https://example.test/b.tar.gz?checksum=sha256:ab&token=1", "http",
     "https://example.test/b.tar.gz?token=1", "", {"checksum": "sha256:ab"}),
    ("https://example.test/b.tgz//policy/k8s", "http", "https://example.test/b.tgz",
     "policy/k8s", {}),
    ("git::file:///srv/repo.git//sub/dir?ref=v1.2", "git", "file:///srv/repo.git", "sub/dir",
     {"ref": "v1.2"}),
    ("git::https://example.test/org/repo.git?ref=main&depth=5", "git",
     "https://example.test/org/repo.git", "", {"ref": "main", "depth": "5"}),
    ("https://example.test/org/repo.git//policy", "git", "https://example.test/org/repo.git",
     "policy", {}),
    ("git@example.test:org/repo.git?ref=v1", "git", "ssh://git@example.test/org/repo.git", "",
     {"ref": "v1"}),
    ("github.com/org/repo//policy?ref=v3", "git", "https://github.com/org/repo.git", "policy",
     {"ref": "v3"}),
    ("file:///srv/policies//k8s", "file", "/srv/policies", "k8s", {}),
])
def test_detect_matches_conftest_address_forms(url: str, kind: str, location: str, subdir: str,
                                               options: dict[str, str]) -> None:
    source = detect(url)
    assert (source.kind, source.location, source.subdir, source.options) == (
        kind, location, subdir, options)


def test_detect_prefers_an_existing_local_path(tmp_path: Path) -> None:
    (tmp_path / "shared").mkdir()
    source = detect("shared", cwd=str(tmp_path))
    assert (source.kind, source.location) == ("file", str(tmp_path / "shared"))


@pytest.mark.parametrize(("url", "message"), [
    ("s3::https://bucket.test/x", "not supported"),
    ("ftp://example.test/x.tgz", "unsupported scheme"),
    ("no/such/folder", "no such file or folder"),
    ("", "empty"),
])
def test_detect_rejects_what_socle_cannot_fetch(url: str, message: str) -> None:
    with pytest.raises(BundleError, match=message):
        detect(url, cwd="/nonexistent-socle-test")


def test_parse_reference_defaults_tag_latest_and_checks_names() -> None:
    ref = parse_reference("oci://127.0.0.1:5000/team/policies")
    assert (ref.host, ref.repository, ref.tag, str(ref)) == (
        "127.0.0.1:5000", "team/policies", "latest", "127.0.0.1:5000/team/policies:latest")
    digest = "sha256:" + "a" * 64
    assert parse_reference(f"r.test/p@{digest}").reference == digest
    with pytest.raises(BundleError, match="registry and a repository"):
        parse_reference("policies:v1")
    with pytest.raises(BundleError, match="bad repository"):
        parse_reference("r.test/Upper:v1")


# -- local folders ----------------------------------------------------------------------------


def test_pull_local_folder_into_a_new_destination(tmp_path: Path) -> None:
    src = tmp_path / "shared"
    (src / "lib").mkdir(parents=True)
    (src / "deny.rego").write_bytes(DENY)
    (src / "lib" / "k8s.rego").write_bytes(b"package lib.k8s\n")
    (src / ".git").mkdir()
    (src / ".git" / "HEAD").write_bytes(b"ref")
    result = pull(str(src), tmp_path / "out" / "policy")
    assert tree(tmp_path / "out" / "policy") == {"deny.rego": DENY,
                                                 "lib/k8s.rego": b"package lib.k8s\n"}
    assert result.files == ["deny.rego", "lib/k8s.rego"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".socle-pull")]


def test_pull_merges_into_an_existing_destination(tmp_path: Path, existing_dest: Path) -> None:
    src = tmp_path / "shared"
    src.mkdir()
    (src / "deny.rego").write_bytes(DENY)
    pull(str(src), existing_dest)
    assert tree(existing_dest) == {"deny.rego": DENY, "mine.rego": b"package mine\n"}


def test_pull_local_subdir_and_relative_path(tmp_path: Path) -> None:
    (tmp_path / "repo" / "policy" / "k8s").mkdir(parents=True)
    (tmp_path / "repo" / "policy" / "k8s" / "deny.rego").write_bytes(DENY)
    (tmp_path / "repo" / "README.md").write_bytes(b"x")
    pull("repo//policy", "dest", cwd=str(tmp_path))
    assert tree(tmp_path / "dest") == {"k8s/deny.rego": DENY}


def test_local_symlink_out_of_the_folder_is_refused(tmp_path: Path,
                                                     existing_dest: Path) -> None:
    src = tmp_path / "shared"
    src.mkdir()
    (src / "deny.rego").write_bytes(DENY)
    (src / "passwd").symlink_to("/etc/passwd")
    before = tree(existing_dest)
    with pytest.raises(BundleError, match=r"passwd.*(absolute|outside)"):
        pull(str(src), existing_dest)
    assert tree(existing_dest) == before


# -- http(s) ----------------------------------------------------------------------------------


def test_pull_http_tarball_with_checksum_and_subdir(tmp_path: Path,
                                                    http_root: tuple[Path, str]) -> None:
    root, base = http_root
    data = make_tar(root / "bundle.tar.gz", [
        ("policy/", None, "dir"), ("policy/deny.rego", DENY, "file"),
        ("policy/lib/util.rego", b"package util\n", "file"), ("README.md", b"hi", "file"),
    ])
    digest = hashlib.sha256(data).hexdigest()
    pull(f"{base}/bundle.tar.gz//policy?checksum=sha256:{digest}", tmp_path / "p")
    assert tree(tmp_path / "p") == {"deny.rego": DENY, "lib/util.rego": b"package util\n"}


def test_pull_http_zip_and_plain_file(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    root, base = http_root
    with zipfile.ZipFile(root / "b.zip", "w") as zf:
        zf.writestr("k8s/deny.rego", DENY)
    (root / "single.rego").write_bytes(b"package single\n")
    pull_all([f"{base}/b.zip", f"{base}/single.rego"], tmp_path / "p")
    assert tree(tmp_path / "p") == {"k8s/deny.rego": DENY, "single.rego": b"package single\n"}


def test_bad_checksum_leaves_destination_untouched(existing_dest: Path,
                                                   http_root: tuple[Path, str]) -> None:
    root, base = http_root
    make_tar(root / "b.tgz", [("deny.rego", DENY, "file")])
    before = tree(existing_dest)
    with pytest.raises(BundleError, match="checksum mismatch: expected sha256:0000"):
        pull(f"{base}/b.tgz?checksum=sha256:{'0' * 64}", existing_dest)
    assert tree(existing_dest) == before
    assert [p.name for p in existing_dest.parent.iterdir() if p.name.startswith(".socle")] == []


@pytest.mark.parametrize(("members", "message"), [
    ([("deny.rego", DENY, "file"), ("../evil.rego", b"x", "file")], "escapes"),
    ([("deny.rego", DENY, "file"), ("/etc/evil.rego", b"x", "file")], "absolute"),
    ([("deny.rego", DENY, "file"), ("link", b"../../../etc", "sym")], "outside"),
    ([("deny.rego", DENY, "file"), ("link", b"/etc/passwd", "sym")], "absolute"),
    ([("deny.rego", DENY, "file"), ("hard", b"/etc/passwd", "lnk")], "absolute"),
    ([("a/../../evil.rego", b"x", "file")], "escapes"),
])
def test_escaping_tarball_is_refused_and_nothing_applied(
        existing_dest: Path, http_root: tuple[Path, str],
        members: list[tuple[str, bytes | None, str]], message: str) -> None:
    root, base = http_root
    make_tar(root / "evil.tar.gz", members)
    before = tree(existing_dest)
    with pytest.raises(BundleError, match=message):
        pull(f"{base}/evil.tar.gz", existing_dest)
    assert tree(existing_dest) == before
    assert not (existing_dest.parent / "evil.rego").exists()


def test_symlink_inside_the_bundle_is_kept(tmp_path: Path, http_root: tuple[Path, str]) -> None:
    root, base = http_root
    make_tar(root / "ok.tgz", [("lib/deny.rego", DENY, "file"),
                               ("deny.rego", b"lib/deny.rego", "sym")])
    pull(f"{base}/ok.tgz", tmp_path / "p")
    assert tree(tmp_path / "p") == {"deny.rego": b"->lib/deny.rego", "lib/deny.rego": DENY}


def test_zip_with_parent_path_is_refused(existing_dest: Path,
                                         http_root: tuple[Path, str]) -> None:
    root, base = http_root
    with zipfile.ZipFile(root / "evil.zip", "w") as zf:
        zf.writestr("ok.rego", DENY)
        zf.writestr("../../evil.rego", b"x")
    before = tree(existing_dest)
    with pytest.raises(BundleError, match="escapes"):
        pull(f"{base}/evil.zip", existing_dest)
    assert tree(existing_dest) == before


def test_download_error_and_size_limits(existing_dest: Path,
                                        http_root: tuple[Path, str]) -> None:
    root, base = http_root
    before = tree(existing_dest)
    with pytest.raises(BundleError, match="HTTP 404"):
        pull(f"{base}/missing.tar.gz", existing_dest)
    (root / "big.rego").write_bytes(b"#" * 5000)
    with pytest.raises(BundleError, match="size limit of 1000"):
        pull(f"{base}/big.rego", existing_dest, limits=Limits(max_download=1000))
    # a small archive that unpacks to far more than the limit (a "zip bomb")
    make_tar(root / "bomb.tgz", [("a.rego", b"\0" * 2_000_000, "file")])
    assert (root / "bomb.tgz").stat().st_size < 10_000
    with pytest.raises(BundleError, match="size limit"):
        pull(f"{base}/bomb.tgz", existing_dest, limits=Limits(max_extract=1_000_000))
    with pytest.raises(BundleError, match="more than 2 files"):
        make_tar(root / "many.tgz", [(f"{i}.rego", b"x", "file") for i in range(5)])
        pull(f"{base}/many.tgz", existing_dest, limits=Limits(max_files=2))
    with pytest.raises(BundleError, match="cannot download"):
        pull("http://127.0.0.1:9/x.tgz", existing_dest, timeout=5)
    assert tree(existing_dest) == before


def test_one_bad_url_applies_none(existing_dest: Path, http_root: tuple[Path, str]) -> None:
    root, base = http_root
    make_tar(root / "good.tgz", [("good.rego", DENY, "file")])
    before = tree(existing_dest)
    with pytest.raises(BundleError, match=r"missing\.tgz: HTTP 404"):
        pull_all([f"{base}/good.tgz", f"{base}/missing.tgz"], existing_dest)
    assert tree(existing_dest) == before


def test_a_file_in_the_way_of_a_folder_changes_nothing(tmp_path: Path,
                                                       http_root: tuple[Path, str]) -> None:
    root, base = http_root
    dest = tmp_path / "policy"
    dest.mkdir()
    (dest / "lib").write_bytes(b"a file named lib")
    make_tar(root / "b.tgz", [("aaa.rego", DENY, "file"), ("lib/x.rego", DENY, "file")])
    with pytest.raises(BundleError, match="in the way"):
        pull(f"{base}/b.tgz", dest)
    assert tree(dest) == {"lib": b"a file named lib"}


# -- git --------------------------------------------------------------------------------------


def git(*args: str, cwd: Path) -> str:
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@t", GIT_CONFIG_GLOBAL="/dev/null")
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    if not shutil.which("git"):
        pytest.skip("git is not installed")
    work = tmp_path / "work"
    (work / "policy" / "k8s").mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=work)
    (work / "policy" / "k8s" / "deny.rego").write_bytes(b"package v1\n")
    (work / "README.md").write_bytes(b"readme")
    git("add", ".", cwd=work)
    git("commit", "-q", "-m", "v1", cwd=work)
    git("tag", "v1", cwd=work)
    (work / "policy" / "k8s" / "deny.rego").write_bytes(b"package v2\n")
    git("commit", "-q", "-am", "v2", cwd=work)
    bare = tmp_path / "repo.git"
    git("clone", "-q", "--bare", str(work), str(bare), cwd=tmp_path)
    return bare


def test_pull_git_tag_and_subdir(tmp_path: Path, git_repo: Path) -> None:
    pull(f"git::file://{git_repo}//policy?ref=v1", tmp_path / "p")
    assert tree(tmp_path / "p") == {"k8s/deny.rego": b"package v1\n"}
    pull(f"git::file://{git_repo}", tmp_path / "q")
    assert tree(tmp_path / "q") == {"README.md": b"readme",
                                    "policy/k8s/deny.rego": b"package v2\n"}


def test_pull_git_commit(tmp_path: Path, git_repo: Path) -> None:
    sha = git("rev-parse", "v1", cwd=git_repo)
    pull(f"git::{git_repo}//policy/k8s?ref={sha}", tmp_path / "p")
    assert tree(tmp_path / "p") == {"deny.rego": b"package v1\n"}


def test_git_errors_leave_destination_untouched(existing_dest: Path, git_repo: Path) -> None:
    before = tree(existing_dest)
    with pytest.raises(BundleError, match=r"git: .*nosuchtag"):
        pull(f"git::file://{git_repo}?ref=nosuchtag", existing_dest)
    with pytest.raises(BundleError, match="no folder 'nope'"):
        pull(f"git::file://{git_repo}//nope", existing_dest)
    assert tree(existing_dest) == before
