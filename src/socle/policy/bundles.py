"""Policy bundles: ``socle pull`` and ``socle push`` (conftest's ``pull`` and ``push``).

Sources use conftest's go-getter style addresses:

- a local folder or file (``./shared``, ``/abs/policy``, ``file:///abs/policy``);
- an http(s) file or archive (``.tar.gz``, ``.tgz``, ``.tar``, ``.tar.bz2``, ``.tar.xz``, ``.zip``)
  with optional ``?checksum=sha256:<hex>`` and ``?archive=false``;
- a git repository (``git::<url>``, ``git@host:org/repo``, ``github.com/org/repo``, URLs ending
  in ``.git``, ``git://`` and ``ssh://``) with optional ``?ref=`` and ``?depth=``;
- an OCI artifact (``oci://host/repo:tag``, or the bare ``host/repo:tag`` form) in conftest's
  layout: one layer per file, titled with ``org.opencontainers.image.title``.

Any source may name a folder inside it after a double slash: ``<url>//sub/folder``.

Everything is fetched into a staging folder on the destination's filesystem, checked (checksums,
digests, size limits, no path or link leaving the bundle), and only then moved into the
destination. A failure leaves the destination as it was.
"""

from __future__ import annotations

import base64
import bz2
import contextlib
import gzip
import hashlib
import ipaddress
import json
import lzma
import os
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, cast

from socle.core.errors import InputError

__all__ = [
    "ANNOTATION_TITLE",
    "MEDIA_CONFIG",
    "MEDIA_DATA_LAYER",
    "MEDIA_POLICY_LAYER",
    "BundleError",
    "Limits",
    "OciReference",
    "PullResult",
    "PushResult",
    "Source",
    "detect",
    "parse_reference",
    "pull",
    "pull_all",
    "push",
]

MEDIA_CONFIG = "application/vnd.cncf.openpolicyagent.config.v1+json"
MEDIA_POLICY_LAYER = "application/vnd.cncf.openpolicyagent.policy.layer.v1+rego"
MEDIA_DATA_LAYER = "application/vnd.cncf.openpolicyagent.data.layer.v1+json"
MEDIA_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MEDIA_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MEDIA_DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_TAR_GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
ANNOTATION_TITLE = "org.opencontainers.image.title"
ANNOTATION_UNPACK = "io.deis.oras.content.unpack"  # oras: the layer is a tar.gz of a folder

MiB = 1024 * 1024

# hosts that conftest (and go-getter's detectors) treat as OCI registries without oci://
_KNOWN_REGISTRIES = re.compile(
    r"(azurecr\.io|gcr\.io|registry\.gitlab\.com|[0-9]{12}\.dkr\.ecr\.[a-z0-9-]*\.amazonaws\.com"
    r"|pkg\.dev|ghcr\.io|quay\.io|docker\.io)(/|$)"
)
_ARCHIVES = (".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz", ".tar", ".zip")
_SINGLE_COMPRESSED = (".gz", ".bz2", ".xz")
_CHECKSUM_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_GETTER_PARAMS = ("checksum", "archive")
_GIT_PARAMS = ("ref", "depth", "sshkey")
_POLICY_SUFFIXES = (".rego",)
_DATA_SUFFIXES = (".json", ".yaml", ".yml")


class BundleError(InputError):
    """A bundle that cannot be fetched, verified or written: one line, exit code 2."""


@dataclass(frozen=True)
class Limits:
    """Upper bounds for one pull: bytes downloaded, bytes written, files written."""

    max_download: int = 100 * MiB
    max_extract: int = 500 * MiB
    max_files: int = 20_000


@dataclass(frozen=True)
class Source:
    """A detected source address: which getter, where, which folder inside, getter options."""

    kind: str  # file | http | git | oci
    location: str
    subdir: str = ""
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OciReference:
    host: str
    repository: str
    tag: str = "latest"
    digest: str = ""

    @property
    def reference(self) -> str:
        return self.digest or self.tag

    def __str__(self) -> str:
        if self.digest:
            return f"{self.host}/{self.repository}@{self.digest}"
        return f"{self.host}/{self.repository}:{self.tag}"


@dataclass
class PullResult:
    url: str
    dest: str
    files: list[str]  # paths relative to dest, sorted


@dataclass
class PushResult:
    reference: str
    digest: str
    files: list[str]  # layer titles, sorted


# --------------------------------------------------------------------------------------------
# detection


def _split_forced(url: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9]+)::(.+)$", url)
    if m:
        return m.group(1).lower(), m.group(2)
    return "", url


def _split_subdir(url: str) -> tuple[str, str]:
    """``a/b//sub?x=1`` -> (``a/b?x=1``, ``sub``), keeping a scheme's ``://`` intact."""
    query = ""
    if "?" in url:
        url, query = url.split("?", 1)
        query = "?" + query
    start = url.find("://")
    start = start + 3 if start >= 0 else 0
    # file:///abs: the third slash belongs to the path
    idx = url.find("//", start + (1 if url[start:start + 1] == "/" else 0))
    if idx < 0:
        return url + query, ""
    return url[:idx] + query, url[idx + 2:].strip("/")


def _pop_params(url: str, names: Sequence[str]) -> tuple[str, dict[str, str]]:
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url, {}
    kept: list[tuple[str, str]] = []
    taken: dict[str, str] = {}
    for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
        if key in names:
            taken[key] = value
        else:
            kept.append((key, value))
    query = urllib.parse.urlencode(kept)
    return urllib.parse.urlunsplit(parts._replace(query=query)), taken


_HOST = re.compile(r"^(localhost|[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+|\[[0-9A-Fa-f:.]+\])(:[0-9]+)?$"
                   r"|^[A-Za-z0-9-]+:[0-9]+$")


def _looks_like_oci(url: str) -> bool:
    """The bare ``host[:port]/repo[:tag]`` form: the first segment must look like a host."""
    first = url.split("/", 1)[0]
    if "/" not in url or not _HOST.match(first):
        return False
    return bool(_KNOWN_REGISTRIES.search(url)) or "." in first or ":" in first \
        or first == "localhost"


def _hostname(host: str) -> str:
    """``host:port`` or ``[v6]:port`` -> the bare host name."""
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host[1:]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def detect(url: str, cwd: str | None = None) -> Source:
    """Work out which getter serves ``url`` (go-getter's forced getters and detectors)."""
    url = url.strip()
    if not url:
        raise BundleError("empty source address")
    forced, rest = _split_forced(url)
    if forced in ("s3", "gcs", "hg"):
        raise BundleError(f"{url}: the {forced} getter is not supported by socle; "
                          "download the bundle another way and pull the local folder")
    if forced and forced not in ("git", "http", "https", "file", "oci"):
        raise BundleError(f"{url}: unknown getter {forced!r}")
    location, subdir = _split_subdir(rest)
    scheme = urllib.parse.urlsplit(location).scheme.lower() if "://" in location else ""

    if forced == "oci" or scheme == "oci":
        loc = location.split("://", 1)[1] if "://" in location else location
        return Source("oci", loc, subdir)
    if forced == "git" or scheme in ("git", "ssh", "git+ssh") or (
            scheme in ("http", "https") and location.split("?", 1)[0].endswith(".git")):
        loc, opts = _pop_params(location, _GIT_PARAMS)
        return Source("git", loc, subdir, opts)
    if forced in ("http", "https") or scheme in ("http", "https"):
        if forced and not scheme:
            location = f"{forced}://{location}"
        loc, opts = _pop_params(location, _GETTER_PARAMS)
        return Source("http", loc, subdir, opts)
    if forced == "file" or scheme == "file":
        loc, opts = _pop_params(location, _GETTER_PARAMS)
        if loc.startswith("file://"):
            loc = urllib.parse.unquote(urllib.parse.urlsplit(loc).path)
        return Source("file", _abs(loc, cwd), subdir, opts)
    if scheme:
        raise BundleError(f"{url}: unsupported scheme {scheme!r}")
    if location.startswith("git@") and ":" in location:
        loc, opts = _pop_params("ssh://" + location.replace(":", "/", 1), _GIT_PARAMS)
        return Source("git", loc, subdir, opts)
    if re.match(r"^(github\.com|gitlab\.com|bitbucket\.org)/[^/]+/[^/]+", location):
        loc, opts = _pop_params("https://" + location, _GIT_PARAMS)
        if not loc.split("?", 1)[0].endswith(".git"):
            head, sep, query = loc.partition("?")
            loc = head + ".git" + sep + query
        return Source("git", loc, subdir, opts)
    path_part, opts = _pop_params(location, _GETTER_PARAMS)
    local = _abs(path_part, cwd)
    if os.path.lexists(local):
        return Source("file", local, subdir, opts)
    if _looks_like_oci(location):
        return Source("oci", location, subdir)
    raise BundleError(f"{url}: no such file or folder, and not a URL socle knows")


def _abs(path: str, cwd: str | None) -> str:
    path = os.path.expanduser(path)
    if not os.path.isabs(path):
        path = os.path.join(cwd or os.getcwd(), path)
    return os.path.normpath(path)


def _is_loopback(host: str) -> bool:
    host = host.strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_reference(ref: str) -> OciReference:
    """``[oci://]host[:port]/repo/path[:tag][@sha256:...]``; the tag defaults to ``latest``."""
    raw = ref
    if ref.startswith("oci://"):
        ref = ref[len("oci://"):]
    digest = ""
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not re.fullmatch(r"sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128}", digest):
            raise BundleError(f"{raw}: bad digest {digest!r}")
    if "/" not in ref:
        raise BundleError(f"{raw}: the reference needs a registry and a repository "
                          "(host/repository[:tag])")
    host, path = ref.split("/", 1)
    tag = "latest"
    last = path.rsplit("/", 1)[-1]
    if ":" in last:
        path, tag = path.rsplit(":", 1)
    if not host or not path or not re.fullmatch(r"[a-z0-9]+(?:[._/-]+[a-z0-9]+)*", path):
        raise BundleError(f"{raw}: bad repository name {path!r} (lowercase letters, digits, "
                          "'.', '_', '-', '/')")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}", tag):
        raise BundleError(f"{raw}: bad tag {tag!r}")
    return OciReference(host, path, tag, digest)


# --------------------------------------------------------------------------------------------
# pull


def pull(url: str, dest: str | os.PathLike[str] = "policy", *, tls: bool | None = None,
         limits: Limits | None = None, timeout: float = 60.0,
         cwd: str | None = None) -> PullResult:
    """Fetch one bundle into ``dest`` (created if missing), merging with files already there.

    ``tls``: ``None`` picks plain http for loopback registries and https elsewhere (as conftest
    does); ``False`` forces plain http; ``True`` forces https. Raises :class:`BundleError`, and
    then ``dest`` is untouched.
    """
    return pull_all([url], dest, tls=tls, limits=limits, timeout=timeout, cwd=cwd)[0]


def pull_all(urls: Sequence[str], dest: str | os.PathLike[str] = "policy", *,
             tls: bool | None = None, limits: Limits | None = None, timeout: float = 60.0,
             cwd: str | None = None) -> list[PullResult]:
    """Fetch several bundles; all of them land in ``dest`` together, or none does."""
    limits = limits or Limits()
    dest_s = _abs(os.fspath(dest), cwd)
    if os.path.exists(dest_s) and not os.path.isdir(dest_s):
        raise BundleError(f"{dest_s}: the destination exists and is not a folder")
    sources = [(u, detect(u, cwd)) for u in urls]
    results: list[PullResult] = []
    with _staging(dest_s) as stage:
        merged = os.path.join(stage, "merged")
        os.mkdir(merged)
        for i, (url, source) in enumerate(sources):
            work = os.path.join(stage, f"src{i}")
            os.mkdir(work)
            try:
                root = _fetch(source, work, limits, tls, timeout)
            except BundleError as err:
                raise BundleError(f"{url}: {err}") from None
            except OSError as err:
                raise BundleError(f"{url}: {err.strerror or err}") from None
            if source.subdir:
                root = _select_subdir(root, source.subdir, url)
            files = _validate_tree(root, limits, url)
            _merge_tree(root, merged)
            results.append(PullResult(url, dest_s, files))
        _validate_tree(merged, limits, "bundle")
        _apply(merged, dest_s, os.path.join(stage, "backup"))
    return results


@contextlib.contextmanager
def _staging(dest: str) -> Iterator[str]:
    """A temporary folder on the same filesystem as ``dest`` (its nearest existing ancestor)."""
    anchor = os.path.dirname(dest)
    while anchor and not os.path.isdir(anchor):
        parent = os.path.dirname(anchor)
        if parent == anchor:
            break
        anchor = parent
    try:
        stage = tempfile.mkdtemp(prefix=".socle-pull-", dir=anchor or None)
    except OSError as err:
        raise BundleError(f"{anchor}: cannot create a staging folder: {err.strerror}") from None
    try:
        yield stage
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _fetch(source: Source, work: str, limits: Limits, tls: bool | None, timeout: float) -> str:
    """Fetch ``source`` under ``work``; return the folder that holds the bundle's files."""
    out = os.path.join(work, "out")
    os.mkdir(out)
    if source.kind == "file":
        return _fetch_file(source, work, out, limits)
    if source.kind == "http":
        return _fetch_http(source, work, out, limits, timeout)
    if source.kind == "git":
        return _fetch_git(source, work, limits, timeout)
    if source.kind == "oci":
        ref = parse_reference(source.location)
        _Registry(ref.host, tls, timeout, limits).pull(ref, work, out)
        return out
    raise BundleError(f"unknown source kind {source.kind!r}")  # pragma: no cover


def _fetch_file(source: Source, work: str, out: str, limits: Limits) -> str:
    path = source.location
    if not os.path.lexists(path):
        raise BundleError(f"{path}: no such file or folder")
    if os.path.isdir(path):
        if source.options.get("checksum"):
            raise BundleError("a checksum can only be checked on a file, not a folder")
        _copy_tree(path, out, limits)
        return out
    size = os.path.getsize(path)
    if size > limits.max_download:
        raise BundleError(f"{path}: {size} bytes is over the limit of {limits.max_download}")
    _check_checksum(path, source.options.get("checksum", ""))
    _unpack_file(path, os.path.basename(path), source.options.get("archive", ""), work, out,
                 limits, copy=True)
    return out


def _copy_tree(src: str, out: str, limits: Limits) -> None:
    """Copy a local folder, keeping symlinks as links (checked later), skipping ``.git``."""
    total = 0
    count = 0
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        rel = os.path.relpath(dirpath, src)
        target_dir = os.path.normpath(os.path.join(out, rel))
        os.makedirs(target_dir, exist_ok=True)
        for name in list(dirnames):
            full = os.path.join(dirpath, name)
            if os.path.islink(full):
                os.symlink(os.readlink(full), os.path.join(target_dir, name))
                dirnames.remove(name)
        for name in filenames:
            full = os.path.join(dirpath, name)
            target = os.path.join(target_dir, name)
            if os.path.islink(full):
                os.symlink(os.readlink(full), target)
                continue
            st = os.stat(full)
            if not stat.S_ISREG(st.st_mode):
                raise BundleError(f"{full}: not a regular file")
            total += st.st_size
            count += 1
            _check_limits(total, count, limits)
            shutil.copyfile(full, target)


def _fetch_http(source: Source, work: str, out: str, limits: Limits, timeout: float) -> str:
    url = source.location
    path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
    name = os.path.basename(path.rstrip("/"))
    download = os.path.join(work, "download")
    opener = _opener(_is_loopback(urllib.parse.urlsplit(url).hostname or ""))
    request = urllib.request.Request(url, headers={"User-Agent": "socle"})
    try:
        with opener.open(request, timeout=timeout) as resp, open(download, "wb") as fh:
            _copy_limited(resp, fh, limits.max_download, "download")
    except urllib.error.HTTPError as err:
        raise BundleError(f"HTTP {err.code} {err.reason}") from None
    except urllib.error.URLError as err:
        raise BundleError(f"cannot download: {err.reason}") from None
    except (TimeoutError, ConnectionError) as err:
        raise BundleError(f"cannot download: {err}") from None
    _check_checksum(download, source.options.get("checksum", ""))
    if not name:
        raise BundleError("the URL has no file name to save the download as")
    _unpack_file(download, name, source.options.get("archive", ""), work, out, limits,
                 copy=False)
    return out


def _copy_limited(src: IO[bytes], dst: IO[bytes], limit: int, what: str) -> int:
    total = 0
    while True:
        chunk = src.read(256 * 1024)
        if not chunk:
            return total
        total += len(chunk)
        if total > limit:
            raise BundleError(f"{what} is over the size limit of {limit} bytes")
        dst.write(chunk)


def _check_checksum(path: str, spec: str) -> None:
    if not spec:
        return
    kind, sep, want = spec.partition(":")
    if not sep:
        kind, want = _CHECKSUM_LENGTHS.get(len(spec), ""), spec
        if not kind:
            raise BundleError(f"checksum {spec!r}: give it as sha256:<hex>")
    kind = kind.lower()
    if kind == "file":
        raise BundleError("checksum=file:<url> is not supported; give sha256:<hex>")
    if kind not in ("md5", "sha1", "sha256", "sha512"):
        raise BundleError(f"checksum type {kind!r} is not supported (md5, sha1, sha256, sha512)")
    digest = hashlib.new(kind)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(chunk)
    got = digest.hexdigest()
    if got != want.lower():
        raise BundleError(f"checksum mismatch: expected {kind}:{want.lower()}, got {kind}:{got}")


def _archive_kind(name: str, forced: str) -> str:
    if forced:
        low = forced.lower()
        if low == "false":
            return ""
        name = "x." + low.lstrip(".")
    low = name.lower()
    for ext in _ARCHIVES:
        if low.endswith(ext):
            return ext
    for ext in _SINGLE_COMPRESSED:
        if low.endswith(ext):
            return ext
    if forced:
        raise BundleError(f"archive={forced!r}: unknown archive format")
    return ""


def _unpack_file(path: str, name: str, forced: str, work: str, out: str, limits: Limits,
                 copy: bool) -> None:
    kind = _archive_kind(name, forced)
    if kind in _ARCHIVES:
        if kind == ".zip":
            _extract_zip(path, out, limits)
        else:
            _extract_tar(path, out, limits)
        return
    if kind in _SINGLE_COMPRESSED:
        target = os.path.join(out, _check_name(name[: -len(kind)] or "file", name))
        try:
            with _open_compressed(kind, path) as src, open(target, "wb") as dst:
                _copy_limited(src, dst, limits.max_extract, "the decompressed file")
        except (OSError, EOFError, lzma.LZMAError, zlib.error) as err:
            raise BundleError(f"{name}: not a valid {kind} file: {err}") from None
        return
    _check_name(name, name)
    if copy:
        shutil.copyfile(path, os.path.join(out, name))
    else:
        os.replace(path, os.path.join(out, name))


def _open_compressed(kind: str, path: str) -> IO[bytes]:
    if kind == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    if kind == ".bz2":
        return bz2.open(path, "rb")
    return lzma.open(path, "rb")


def _check_limits(total: int, count: int, limits: Limits) -> None:
    if total > limits.max_extract:
        raise BundleError(f"the bundle is over the size limit of {limits.max_extract} bytes")
    if count > limits.max_files:
        raise BundleError(f"the bundle has more than {limits.max_files} files")


def _check_name(name: str, shown: str) -> str:
    """A member name that stays inside its folder, normalised to ``a/b``; else an error."""
    if not name or "\x00" in name or "\\" in name:
        raise BundleError(f"{shown!r}: bad file name in bundle")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise BundleError(f"{shown!r}: absolute path in bundle")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise BundleError(f"{shown!r}: path escapes the bundle folder")
    if not parts:
        raise BundleError(f"{shown!r}: bad file name in bundle")
    return "/".join(parts)


def _check_link(rel: str, target: str, shown: str) -> None:
    if os.path.isabs(target) or target.startswith("\\"):
        raise BundleError(f"{shown!r}: symlink to an absolute path ({target})")
    resolved = os.path.normpath(os.path.join(os.path.dirname(rel), target))
    if resolved == ".." or resolved.startswith("../") or resolved.startswith("/"):
        raise BundleError(f"{shown!r}: symlink points outside the bundle ({target})")


def _extract_tar(path: str, out: str, limits: Limits, prefix: str = "",
                 rooted: bool = False) -> None:
    """Unpack a (compressed) tar member by member; nothing may leave ``out``.

    ``prefix``: every member must sit under this folder (oras folder layers). ``rooted``:
    names like ``/policy.rego`` are taken as relative (OPA bundle tarballs).
    """
    total = 0
    count = 0
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                raw = member.name
                name = raw.lstrip("/") if rooted else raw
                if rooted and not name:
                    continue
                rel = _check_name(name, raw)
                if prefix and rel != prefix and not rel.startswith(prefix + "/"):
                    raise BundleError(f"{raw!r}: outside the layer's folder {prefix!r}")
                target = os.path.join(out, rel)
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.lexists(target):
                    if os.path.isdir(target) and not os.path.islink(target):
                        raise BundleError(f"{raw!r}: both a folder and a file in the bundle")
                    os.unlink(target)
                if member.issym():
                    _check_link(rel, member.linkname, raw)
                    os.symlink(member.linkname, target)
                elif member.islnk():
                    link = _check_name(member.linkname.lstrip("/") if rooted
                                       else member.linkname, member.linkname)
                    source = os.path.join(out, link)
                    if not os.path.isfile(source) or os.path.islink(source):
                        raise BundleError(f"{raw!r}: hard link to a missing file")
                    total += os.path.getsize(source)
                    count += 1
                    _check_limits(total, count, limits)
                    shutil.copyfile(source, target)
                elif member.isfile():
                    count += 1
                    _check_limits(total + member.size, count, limits)
                    fh = tar.extractfile(member)
                    if fh is None:  # pragma: no cover - isfile() members always have data
                        raise BundleError(f"{raw!r}: unreadable member")
                    with fh, open(target, "wb") as dst:
                        total += _copy_limited(fh, dst, limits.max_extract - total,
                                               "the unpacked bundle")
                else:
                    raise BundleError(f"{raw!r}: device, fifo or other special file in bundle")
    except (tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as err:
        raise BundleError(f"not a valid tar archive: {err}") from None


def _extract_zip(path: str, out: str, limits: Limits) -> None:
    total = 0
    count = 0
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            declared = sum(i.file_size for i in infos)
            _check_limits(declared, len(infos), limits)
            for info in infos:
                raw = info.filename
                rel = _check_name(raw, raw)
                target = os.path.join(out, rel)
                if info.is_dir():
                    os.makedirs(target, exist_ok=True)
                    continue
                os.makedirs(os.path.dirname(target), exist_ok=True)
                mode = info.external_attr >> 16
                if stat.S_ISLNK(mode):
                    link = zf.read(info)[:4096].decode("utf-8", "replace")
                    _check_link(rel, link, raw)
                    if os.path.lexists(target):
                        os.unlink(target)
                    os.symlink(link, target)
                    continue
                count += 1
                with zf.open(info) as src, open(target, "wb") as dst:
                    total += _copy_limited(src, dst, limits.max_extract - total,
                                           "the unpacked bundle")
                _check_limits(total, count, limits)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, zlib.error) as err:
        raise BundleError(f"not a valid zip archive: {err}") from None


def _fetch_git(source: Source, work: str, limits: Limits, timeout: float) -> str:
    git = shutil.which("git")
    if not git:
        raise BundleError("git is not installed")
    if source.options.get("sshkey"):
        raise BundleError("the sshkey option is not supported; use an ssh agent")
    ref = source.options.get("ref", "")
    depth = source.options.get("depth", "")
    if depth and not depth.isdigit():
        raise BundleError(f"depth={depth!r}: not a number")
    is_commit = bool(re.fullmatch(r"[0-9a-f]{7,40}", ref))
    repo = os.path.join(work, "repo")
    cmd = [git, "-c", "advice.detachedHead=false", "-c", "core.hooksPath=/dev/null",
           "clone", "--quiet"]
    if ref and not is_commit:
        cmd += ["--branch", ref]
    if depth:
        cmd += ["--depth", depth]
    elif not is_commit:
        cmd += ["--depth", "1"]
    cmd += ["--", source.location, repo]
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0", LC_ALL="C")
    _run_git(cmd, env, timeout)
    if is_commit:
        _run_git([git, "-C", repo, "-c", "advice.detachedHead=false", "checkout", "--quiet",
                  ref, "--"], env, timeout)
    shutil.rmtree(os.path.join(repo, ".git"), ignore_errors=True)
    _validate_tree(repo, limits, source.location)
    return repo


def _run_git(cmd: list[str], env: dict[str, str], timeout: float) -> None:
    try:
        proc = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=max(timeout, 30.0) * 5, check=False)
    except subprocess.TimeoutExpired:
        raise BundleError("git timed out") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip()]
        msg = lines[-1] if lines else f"exit code {proc.returncode}"
        msg = re.sub(r"^(fatal|error): ", "", msg)
        raise BundleError(f"git: {msg}")


def _select_subdir(root: str, subdir: str, url: str) -> str:
    rel = _check_name(subdir, subdir)
    path = os.path.join(root, rel)
    real_root = os.path.realpath(root)
    real = os.path.realpath(path)
    if os.path.commonpath([real_root, real]) != real_root:
        raise BundleError(f"{url}: folder {subdir!r} points outside the source")
    if not os.path.isdir(path):
        raise BundleError(f"{url}: no folder {subdir!r} in the source")
    return path


def _validate_tree(root: str, limits: Limits, what: str) -> list[str]:
    """Every entry is a folder, a file or a link that stays inside ``root``; within limits."""
    real_root = os.path.realpath(root)
    files: list[str] = []
    total = 0
    for dirpath, dirnames, filenames in os.walk(root):
        entries = [(n, True) for n in dirnames] + [(n, False) for n in filenames]
        for name, _is_dir in entries:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                _check_link(rel, os.readlink(full), rel)
                real = os.path.realpath(full)
                if os.path.commonpath([real_root, real]) != real_root:
                    raise BundleError(f"{what}: {rel!r}: symlink points outside the bundle")
                files.append(rel)
            elif stat.S_ISREG(st.st_mode):
                total += st.st_size
                files.append(rel)
            elif not stat.S_ISDIR(st.st_mode):
                raise BundleError(f"{what}: {rel!r}: not a regular file, folder or link")
        _check_limits(total, len(files), limits)
    return sorted(files)


def _merge_tree(src: str, dst: str) -> None:
    """Move everything in ``src`` into ``dst`` (both staging folders); later sources win."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target_dir = os.path.normpath(os.path.join(dst, rel))
        if os.path.lexists(target_dir) and (os.path.islink(target_dir)
                                             or not os.path.isdir(target_dir)):
            os.unlink(target_dir)
        os.makedirs(target_dir, exist_ok=True)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in links:
            dirnames.remove(name)
        for name in [*filenames, *links]:
            target = os.path.join(target_dir, name)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target)
            os.replace(os.path.join(dirpath, name), target)


def _apply(staged: str, dest: str, backup: str) -> None:
    """Move the staged tree into ``dest``: a rename if ``dest`` is new, else a checked merge
    that restores every replaced file if any move fails."""
    if not os.path.lexists(dest):
        try:
            os.makedirs(os.path.dirname(dest), exist_ok=True)
            os.rename(staged, dest)
        except OSError as err:
            raise BundleError(f"{dest}: cannot create: {err.strerror}") from None
        return
    plan: list[tuple[str, str]] = []
    dirs: list[str] = []
    for dirpath, dirnames, filenames in os.walk(staged):
        rel_dir = os.path.relpath(dirpath, staged)
        links = [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]
        for name in links:
            dirnames.remove(name)
        for name in dirnames:
            target = os.path.normpath(os.path.join(dest, rel_dir, name))
            if os.path.lexists(target) and not os.path.isdir(target):
                raise BundleError(f"{target}: a file is in the way of a folder in the bundle")
            dirs.append(target)
        for name in [*filenames, *links]:
            target = os.path.normpath(os.path.join(dest, rel_dir, name))
            if os.path.isdir(target) and not os.path.islink(target):
                raise BundleError(f"{target}: a folder is in the way of a file in the bundle")
            plan.append((os.path.join(dirpath, name), target))
    os.makedirs(backup, exist_ok=True)
    made: list[str] = []
    moved: list[tuple[str, str | None]] = []  # (target, backup copy or None)
    try:
        for d in dirs:
            if not os.path.isdir(d):
                os.mkdir(d)
                made.append(d)
        for i, (src, target) in enumerate(plan):
            saved: str | None = None
            if os.path.lexists(target):
                saved = os.path.join(backup, str(i))
                os.rename(target, saved)
            moved.append((target, saved))
            os.replace(src, target)
    except OSError as err:
        for target, saved in reversed(moved):
            with contextlib.suppress(OSError):
                if os.path.lexists(target):
                    os.unlink(target)
                if saved:
                    os.rename(saved, target)
        for d in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(d)
        raise BundleError(f"{dest}: cannot write ({err.strerror}); nothing was changed") from None


# --------------------------------------------------------------------------------------------
# OCI registry client (the distribution API over urllib)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str,
                         headers: Any, newurl: str) -> urllib.request.Request | None:
        return None


def _opener(loopback: bool, follow: bool = True) -> urllib.request.OpenerDirector:
    handlers: list[urllib.request.BaseHandler] = []
    if loopback:
        handlers.append(urllib.request.ProxyHandler({}))
    if not follow:
        handlers.append(_NoRedirect())
    return urllib.request.build_opener(*handlers)


def _docker_credentials(host: str) -> tuple[str, str] | None:
    """Username and password for ``host`` from the docker config (``auths`` entries only)."""
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    path = os.path.join(base, "config.json")
    try:
        with open(path, encoding="utf-8") as fh:
            cfg = json.load(fh)
    except (OSError, ValueError):
        return None
    auths = cfg.get("auths") if isinstance(cfg, dict) else None
    if not isinstance(auths, dict):
        return None
    for key, entry in auths.items():
        name = re.sub(r"^https?://", "", str(key)).split("/", 1)[0]
        if name != host or not isinstance(entry, dict):
            continue
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return user, password
        if entry.get("username"):
            return str(entry["username"]), str(entry.get("password", ""))
    return None


def _parse_challenge(header: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    return scheme.lower(), params


@dataclass
class _Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _Registry:
    """Just enough of the OCI distribution API for policy bundles."""

    def __init__(self, host: str, tls: bool | None, timeout: float, limits: Limits) -> None:
        self.host = host
        loopback = _is_loopback(_hostname(host))
        use_tls = (not loopback) if tls is None else tls
        self.base = f"{'https' if use_tls else 'http'}://{host}"
        self.timeout = timeout
        self.limits = limits
        self.opener = _opener(loopback, follow=False)
        self.authorization: str | None = None

    # -- transport

    def _open(self, method: str, url: str, headers: dict[str, str], data: bytes | None,
              stream_to: IO[bytes] | None, limit: int) -> _Response:
        hdrs = {"User-Agent": "socle", **headers}
        for _ in range(6):
            request = urllib.request.Request(url, data=data, method=method, headers=hdrs)
            try:
                with self.opener.open(request, timeout=self.timeout) as resp:
                    body = b""
                    if stream_to is not None:
                        _copy_limited(resp, stream_to, limit, "the download")
                    else:
                        body = resp.read(limit + 1)
                        if len(body) > limit:
                            raise BundleError(f"{url}: the answer is over {limit} bytes")
                    return _Response(resp.status, dict(resp.headers.items()), body)
            except urllib.error.HTTPError as err:
                if err.code in (301, 302, 303, 307, 308) and method in ("GET", "HEAD"):
                    location = err.headers.get("Location", "")
                    new = urllib.parse.urljoin(url, location)
                    if urllib.parse.urlsplit(new).netloc != urllib.parse.urlsplit(url).netloc:
                        hdrs.pop("Authorization", None)  # never send a token elsewhere
                    url = new
                    continue
                body = err.read(64 * 1024) if err.fp else b""
                return _Response(err.code, dict(err.headers.items()), body)
            except urllib.error.URLError as err:
                reason = str(err.reason)
                hint = ""
                if "WRONG_VERSION_NUMBER" in reason or "wrong version number" in reason:
                    hint = " (the registry speaks plain http: use --tls=false)"
                raise BundleError(f"cannot reach {self.host}: {reason}{hint}") from None
            except (TimeoutError, ConnectionError) as err:
                raise BundleError(f"cannot reach {self.host}: {err}") from None
        raise BundleError(f"{url}: too many redirects")

    def request(self, method: str, path: str, *, scope: str, headers: dict[str, str] | None = None,
                data: bytes | None = None, stream_to: IO[bytes] | None = None,
                limit: int = 4 * MiB) -> _Response:
        url = path if "://" in path else self.base + path
        hdrs = dict(headers or {})
        if self.authorization:
            hdrs["Authorization"] = self.authorization
        resp = self._open(method, url, hdrs, data, stream_to, limit)
        if resp.status == 401 and self._authenticate(resp, scope):
            hdrs["Authorization"] = self.authorization or ""
            if stream_to is not None:
                stream_to.seek(0)
                stream_to.truncate()
            resp = self._open(method, url, hdrs, data, stream_to, limit)
        return resp

    def _authenticate(self, resp: _Response, scope: str) -> bool:
        challenge = next((v for k, v in resp.headers.items()
                          if k.lower() == "www-authenticate"), "")
        if not challenge:
            return False
        scheme, params = _parse_challenge(challenge)
        creds = _docker_credentials(self.host)
        basic = None
        if creds:
            basic = "Basic " + base64.b64encode(f"{creds[0]}:{creds[1]}".encode()).decode()
        if scheme == "basic":
            if not basic:
                return False
            self.authorization = basic
            return True
        if scheme != "bearer" or not params.get("realm"):
            return False
        query = {"scope": scope}
        if params.get("service"):
            query["service"] = params["service"]
        token_url = params["realm"] + ("&" if "?" in params["realm"] else "?") + \
            urllib.parse.urlencode(query)
        hdrs = {"Authorization": basic} if basic else {}
        token_resp = self._open("GET", token_url, hdrs, None, None, MiB)
        if token_resp.status != 200:
            raise BundleError(f"{self.host}: the token service answered HTTP "
                              f"{token_resp.status}")
        try:
            doc = json.loads(token_resp.body)
            token = doc.get("token") or doc.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise BundleError(f"{self.host}: the token service gave no token")
        self.authorization = f"Bearer {token}"
        return True

    def _fail(self, what: str, resp: _Response) -> BundleError:
        detail = ""
        try:
            errors = json.loads(resp.body).get("errors") or []
            if errors:
                detail = ": " + "; ".join(
                    f"{e.get('code', '')} {e.get('message', '')}".strip() for e in errors)
        except (ValueError, AttributeError):
            pass
        if resp.status == 401:
            detail += " (log in with docker login, or check ~/.docker/config.json)"
        return BundleError(f"{what}: HTTP {resp.status}{detail}")

    # -- pull

    def pull(self, ref: OciReference, work: str, out: str) -> None:
        scope = f"repository:{ref.repository}:pull"
        manifest, _ = self._get_manifest(ref, ref.reference, scope)
        layers = manifest.get("layers")
        if not isinstance(layers, list):
            raise BundleError("the manifest has no layers")
        seen: set[str] = set()
        total = 0
        blobs = os.path.join(work, "blobs")
        os.mkdir(blobs)
        for i, layer in enumerate(layers):
            if not isinstance(layer, dict):
                raise BundleError("bad layer in the manifest")
            annotations = layer.get("annotations") or {}
            title = annotations.get(ANNOTATION_TITLE) if isinstance(annotations, dict) else None
            if not title:
                continue  # oras skips layers without a file name, and so do we
            rel = _check_name(str(title), str(title))
            if rel in seen:
                raise BundleError(f"two layers are titled {rel!r}")
            seen.add(rel)
            size = int(layer.get("size", 0))
            total += size
            if size < 0 or total > self.limits.max_download:
                raise BundleError(f"the artifact is over the download limit of "
                                  f"{self.limits.max_download} bytes")
            blob = os.path.join(blobs, str(i))
            self._get_blob(ref, str(layer.get("digest", "")), size, blob, scope)
            media = str(layer.get("mediaType", ""))
            if str(annotations.get(ANNOTATION_UNPACK, "")).lower() == "true":
                _extract_tar(blob, out, self.limits, prefix=rel)
            elif media == MEDIA_TAR_GZIP_LAYER:
                _extract_tar(blob, out, self.limits, rooted=True)  # an OPA bundle tarball
            else:
                target = os.path.join(out, rel)
                os.makedirs(os.path.dirname(target), exist_ok=True)
                if os.path.isdir(target):
                    raise BundleError(f"{rel!r} is both a folder and a file")
                os.replace(blob, target)
        if not seen:
            raise BundleError("the artifact has no titled layers (files)")

    def _get_manifest(self, ref: OciReference, reference: str, scope: str,
                      depth: int = 0) -> tuple[dict[str, Any], bytes]:
        accept = ", ".join((MEDIA_OCI_MANIFEST, MEDIA_DOCKER_MANIFEST, MEDIA_OCI_INDEX,
                            MEDIA_DOCKER_LIST))
        resp = self.request("GET", f"/v2/{ref.repository}/manifests/{reference}", scope=scope,
                            headers={"Accept": accept})
        if resp.status == 404:
            raise BundleError(f"{reference} not found in the registry")
        if resp.status != 200:
            raise self._fail("cannot get the manifest", resp)
        if reference.startswith("sha256:"):
            got = "sha256:" + hashlib.sha256(resp.body).hexdigest()
            if got != reference:
                raise BundleError(f"manifest digest mismatch (got {got})")
        try:
            doc = json.loads(resp.body)
        except ValueError:
            raise BundleError("the manifest is not JSON") from None
        if not isinstance(doc, dict):
            raise BundleError("the manifest is not a JSON object")
        media = doc.get("mediaType") or next(
            (v for k, v in resp.headers.items() if k.lower() == "content-type"), "")
        if media in (MEDIA_OCI_INDEX, MEDIA_DOCKER_LIST) or "manifests" in doc:
            entries = doc.get("manifests") or []
            if depth or len(entries) != 1 or not isinstance(entries[0], dict):
                raise BundleError(f"an index of {len(entries)} manifests; pull one of "
                                  "them by digest (host/repo@sha256:...)")
            return self._get_manifest(ref, str(entries[0].get("digest", "")), scope, depth + 1)
        return doc, resp.body

    def _get_blob(self, ref: OciReference, digest: str, size: int, path: str,
                  scope: str) -> None:
        algo, _, want = digest.partition(":")
        if algo not in ("sha256", "sha512") or not re.fullmatch(r"[0-9a-f]+", want):
            raise BundleError(f"bad layer digest {digest!r}")
        with open(path, "w+b") as fh:
            resp = self.request("GET", f"/v2/{ref.repository}/blobs/{digest}", scope=scope,
                                stream_to=fh, limit=max(size, 0))
            if resp.status != 200:
                raise self._fail(f"cannot get layer {digest}", resp)
            fh.seek(0)
            h = hashlib.new(algo)
            n = 0
            for chunk in iter(lambda: fh.read(MiB), b""):
                h.update(chunk)
                n += len(chunk)
        if h.hexdigest() != want or n != size:
            raise BundleError(f"layer {digest} does not match its digest or size")

    # -- push

    def push(self, ref: OciReference, blobs: Sequence[tuple[dict[str, Any], bytes]],
             config: tuple[dict[str, Any], bytes]) -> str:
        scope = f"repository:{ref.repository}:pull,push"
        for desc, data in [*blobs, config]:
            self._put_blob(ref, str(desc["digest"]), data, scope)
        manifest = {
            "schemaVersion": 2,
            "mediaType": MEDIA_OCI_MANIFEST,
            "config": config[0],
            "layers": [d for d, _ in blobs],
        }
        body = json.dumps(manifest, separators=(",", ":")).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        resp = self.request("PUT", f"/v2/{ref.repository}/manifests/{ref.reference}",
                            scope=scope, headers={"Content-Type": MEDIA_OCI_MANIFEST}, data=body)
        if resp.status not in (200, 201):
            raise self._fail("cannot upload the manifest", resp)
        return digest

    def _put_blob(self, ref: OciReference, digest: str, data: bytes, scope: str) -> None:
        repo = ref.repository
        head = self.request("HEAD", f"/v2/{repo}/blobs/{digest}", scope=scope)
        if head.status == 200:
            return
        start = self.request("POST", f"/v2/{repo}/blobs/uploads/", scope=scope, data=b"",
                             headers={"Content-Length": "0"})
        if start.status != 202:
            raise self._fail("cannot start an upload", start)
        location = next((v for k, v in start.headers.items() if k.lower() == "location"), "")
        if not location:
            raise BundleError("the registry gave no upload location")
        url = urllib.parse.urljoin(self.base + "/", location)
        url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"digest": digest})
        done = self.request("PUT", url, scope=scope, data=data,
                            headers={"Content-Type": "application/octet-stream",
                                     "Content-Length": str(len(data))})
        if done.status not in (201, 204):
            raise self._fail(f"cannot upload blob {digest}", done)


# --------------------------------------------------------------------------------------------
# push


def _collect(root: str, suffixes: Iterable[str]) -> list[tuple[str, str]]:
    """(title, path) for files under ``root`` with one of ``suffixes``, skipping dot-entries."""
    found: list[tuple[str, str]] = []
    suffixes = tuple(suffixes)
    if os.path.isfile(root):
        if root.endswith(suffixes):
            found.append((os.path.basename(root), root))
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith(".") or not name.endswith(suffixes):
                continue
            full = os.path.join(dirpath, name)
            found.append((os.path.relpath(full, root).replace(os.sep, "/"), full))
    return found


def push(ref: str, policy: str | os.PathLike[str] | None = "policy",
         data: str | os.PathLike[str] | None = None, *, tls: bool | None = None,
         timeout: float = 60.0, limits: Limits | None = None) -> PushResult:
    """Upload the ``.rego`` files under ``policy`` and the data files (``.json``, ``.yaml``)
    under ``data`` (default: ``policy``) as one artifact in conftest's layout.

    Layer titles are paths relative to the folder given, so a pull recreates the same tree.
    The manifest is deterministic: the same files give the same digest.
    """
    limits = limits or Limits()
    parsed = parse_reference(ref)
    if parsed.digest:
        raise BundleError(f"{ref}: push to a tag, not a digest")
    policy_s = os.fspath(policy) if policy else ""
    data_s = os.fspath(data) if data else policy_s
    if not policy_s and not data_s:
        raise BundleError("either a policy or a data folder must be given")
    for path in {policy_s, data_s} - {""}:
        if not os.path.exists(path):
            raise BundleError(f"{path}: no such file or folder")
    entries: list[tuple[str, str, str]] = []  # (title, path, media type)
    if policy_s:
        entries += [(t, p, MEDIA_POLICY_LAYER) for t, p in _collect(policy_s, _POLICY_SUFFIXES)]
    if data_s:
        entries += [(t, p, MEDIA_DATA_LAYER) for t, p in _collect(data_s, _DATA_SUFFIXES)]
    if not entries:
        raise BundleError(f"{policy_s or data_s}: no .rego or data files to push")
    titles: dict[str, str] = {}
    blobs: list[tuple[dict[str, Any], bytes]] = []
    total = 0
    for title, path, media in sorted(entries):
        if title in titles:
            if os.path.samefile(titles[title], path):
                continue
            raise BundleError(f"{path}: two files would both be named {title!r} in the bundle; "
                              "give --data a folder outside --policy")
        titles[title] = path
        try:
            with open(path, "rb") as fh:
                content = fh.read()
        except OSError as err:
            raise BundleError(f"{path}: {err.strerror}") from None
        total += len(content)
        if total > limits.max_download:
            raise BundleError(f"the bundle is over the size limit of {limits.max_download} bytes")
        desc = {"mediaType": media, "digest": "sha256:" + hashlib.sha256(content).hexdigest(),
                "size": len(content), "annotations": {ANNOTATION_TITLE: title}}
        blobs.append((desc, content))
    config_body = b"{}"
    config = ({"mediaType": MEDIA_CONFIG,
               "digest": "sha256:" + hashlib.sha256(config_body).hexdigest(),
               "size": len(config_body)}, config_body)
    try:
        digest = _Registry(parsed.host, tls, timeout, limits).push(parsed, blobs, config)
    except BundleError as err:
        raise BundleError(f"{parsed}: {err}") from None
    return PushResult(str(parsed), digest, sorted(titles))
