"""A real OCI registry (Debian's docker-registry, i.e. distribution) on 127.0.0.1 for tests.

Use it from a test module with::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from conftest_registry import oci_registry_fixture  # noqa: F401  (registers the fixture)

The fixture, named ``oci_registry``, yields ``host:port`` and skips when the binary is missing
(CI installs it: ``apt-get install -y docker-registry``, with the service kept from starting).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

REGISTRY_BINARY = os.environ.get("SOCLE_DOCKER_REGISTRY", "docker-registry")

CONFIG = """\
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: {root}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalRegistry:
    """Start ``docker-registry serve`` with a generated config; stop it by its PID."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which(REGISTRY_BINARY)
        if not binary:
            raise FileNotFoundError(REGISTRY_BINARY)
        self.binary = binary
        self.workdir = workdir
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        for _attempt in range(3):
            self.port = _free_port()
            root = self.workdir / f"storage-{self.port}"
            root.mkdir(parents=True, exist_ok=True)
            config = self.workdir / f"config-{self.port}.yml"
            config.write_text(CONFIG.format(root=root, port=self.port))
            log = open(self.workdir / f"registry-{self.port}.log", "wb")  # noqa: SIM115
            self.proc = subprocess.Popen([self.binary, "serve", str(config)],
                                         stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            if self._wait_ready():
                return
            self.stop()
        raise RuntimeError(f"docker-registry did not start; see {self.workdir}")

    def _wait_ready(self, seconds: float = 15.0) -> bool:
        deadline = time.monotonic() + seconds
        url = f"http://{self.host}/v2/"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            try:
                with opener.open(url, timeout=1) as resp:
                    if resp.status == 200:
                        return True
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.05)
        return False

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="module", name="oci_registry")
def oci_registry_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``127.0.0.1:<port>`` of a fresh registry for this test module (skips if not installed)."""
    if not shutil.which(REGISTRY_BINARY):
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    registry = LocalRegistry(tmp_path_factory.mktemp("registry"))
    registry.start()
    try:
        yield registry.host
    finally:
        registry.stop()


# -- raw distribution-API helpers, independent of socle's client -------------------------------

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _call(method: str, url: str, data: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers.items()), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers.items()), err.read()


def put_blob(host: str, repo: str, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    status, headers, _ = _call("POST", f"http://{host}/v2/{repo}/blobs/uploads/", b"")
    assert status == 202, status
    location = urllib.parse.urljoin(f"http://{host}/", headers["Location"])
    sep = "&" if "?" in location else "?"
    status, _, body = _call("PUT", f"{location}{sep}digest={digest}", data,
                            {"Content-Type": "application/octet-stream"})
    assert status == 201, (status, body)
    return digest


def push_raw(host: str, repo: str, tag: str, layers: list[tuple[str, bytes, dict[str, str]]],
             config_media: str = "application/vnd.cncf.openpolicyagent.config.v1+json") -> str:
    """Upload an artifact exactly as given: layers are (media type, data, annotations)."""
    config = b"{}"
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": config_media, "digest": put_blob(host, repo, config),
                   "size": len(config)},
        "layers": [{"mediaType": media, "digest": put_blob(host, repo, data), "size": len(data),
                    "annotations": annotations} for media, data, annotations in layers],
    }
    body = json.dumps(manifest).encode()
    status, _, answer = _call("PUT", f"http://{host}/v2/{repo}/manifests/{tag}", body,
                              {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 201, (status, answer)
    return "sha256:" + hashlib.sha256(body).hexdigest()


def get_manifest(host: str, repo: str, ref: str) -> dict[str, object]:
    status, _, body = _call("GET", f"http://{host}/v2/{repo}/manifests/{ref}", None,
                            {"Accept": "application/vnd.oci.image.manifest.v1+json"})
    assert status == 200, status
    doc: dict[str, object] = json.loads(body)
    return doc
