"""A real kube-apiserver with etcd on 127.0.0.1 for tests (no kubelet, scheduler or controllers).

The binaries come from ``scripts/build-kube.sh`` (built from the Go module proxy and cached
outside git). ``SOCLE_KUBE_BIN_DIR`` points at another directory holding ``kube-apiserver`` and
``etcd``. When they are missing the fixtures skip, unless ``SOCLE_REQUIRE_KUBE`` is set (CI),
where they fail.

Fixtures (see docs/cluster-tests.md):
- ``kube``            session: one running ``KubeCluster`` per test process
- ``kube_namespace``  function: a fresh namespace, emptied and removed after the test
- ``kube_client``     function: a ``socle.cluster.KubeClient`` logged in as cluster admin

Other test folders use them with ``from cluster.kube import kube, kube_client, kube_namespace``
in their conftest.py (or ``pytest_plugins = ("cluster.kube",)`` in tests/conftest.py). The
server is a process-wide singleton, so importing the fixtures in several places still starts one
server per test process; it is stopped by PID when the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from socle.cluster import ApiError, KubeClient, load_kubeconfig

ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = ROOT / "scripts" / "build-kube.sh"
ADMIN_USER = "socle-admin"
VIEWER_USER = "socle-nobody"      # authenticated, but no RBAC grants at all
START_TIMEOUT = 60.0
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY",
               "http_proxy", "https_proxy", "no_proxy", "all_proxy")


class KubeUnavailable(RuntimeError):
    """The binaries are not built."""


def bin_dir() -> Path:
    """Where kube-apiserver and etcd are expected (SOCLE_KUBE_BIN_DIR, else the build cache)."""
    if os.environ.get("SOCLE_KUBE_BIN_DIR"):
        return Path(os.environ["SOCLE_KUBE_BIN_DIR"])
    out = subprocess.run(["bash", str(BUILD_SCRIPT), "--print-bin-dir"], capture_output=True,
                         text=True, check=True, timeout=30)
    return Path(out.stdout.strip())


def binaries() -> tuple[Path, Path]:
    """(kube-apiserver, etcd), or KubeUnavailable with the command that builds them."""
    where = bin_dir()
    apiserver, etcd = where / "kube-apiserver", where / "etcd"
    missing = [p.name for p in (apiserver, etcd) if not os.access(p, os.X_OK)]
    if missing:
        raise KubeUnavailable(f"{' and '.join(missing)} not found in {where}; "
                              "build them with: bash scripts/build-kube.sh")
    return apiserver, etcd


# -- certificates (openssl CLI) ----------------------------------------------------------------


def _openssl(*args: str, cwd: Path) -> None:
    proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=30, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {proc.stderr.strip()}")


@dataclass(frozen=True)
class CertPair:
    cert: Path
    key: Path


class CertAuthority:
    """A throw-away CA (EC P-256) that signs serving and client certificates."""

    def __init__(self, directory: Path, name: str = "socle-test-ca") -> None:
        self.dir = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = directory / "ca.crt", directory / "ca.key"
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-nodes", "-keyout", str(self.key), "-out", str(self.cert), "-days", "2",
                 "-subj", f"/CN={name}",
                 "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
        self._lock = threading.Lock()

    @property
    def pem(self) -> bytes:
        return self.cert.read_bytes()

    def issue(self, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost"),
              organization: str | None = None, client: bool = False) -> CertPair:
        """A leaf certificate for ``hosts`` (IPs and DNS names), or a client certificate.

        For a client certificate, ``name`` is the Kubernetes user and ``organization`` a group.
        """
        with self._lock:
            stem = self.dir / name
            key, csr, cert, ext = (stem.with_suffix(s) for s in (".key", ".csr", ".crt", ".ext"))
            subject = f"/CN={name}" + (f"/O={organization}" if organization else "")
            _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", subject,
                     cwd=self.dir)
            lines = ["basicConstraints=critical,CA:FALSE",
                     "keyUsage=critical,digitalSignature,keyEncipherment"]
            if client:
                lines.append("extendedKeyUsage=clientAuth")
            else:
                sans = [("IP:" if _is_ip(h) else "DNS:") + h for h in hosts]
                lines += ["extendedKeyUsage=serverAuth", "subjectAltName=" + ",".join(sans)]
            ext.write_text("\n".join(lines) + "\n")
            _openssl("x509", "-req", "-in", str(csr), "-CA", str(self.cert), "-CAkey",
                     str(self.key), "-CAcreateserial", "-days", "2", "-out", str(cert),
                     "-extfile", str(ext), cwd=self.dir)
            return CertPair(cert, key)


def _is_ip(host: str) -> bool:
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except OSError:
            continue
    return False


# -- processes ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:
    """In the child: get SIGTERM if the test process dies, so no server outlives it."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    env["GOMAXPROCS"] = env.get("GOMAXPROCS", "2")
    return env


def _stop(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class KubeCluster:
    """A running etcd + kube-apiserver pair on 127.0.0.1, and how to log in to it."""

    workdir: Path
    server: str = ""
    kubeconfig: Path = field(default_factory=Path)           # admin, bearer token
    cert_kubeconfig: Path = field(default_factory=Path)      # admin, client certificate
    token: str = ""                                          # cluster-admin (system:masters)
    viewer_token: str = ""                                   # authenticated, no permissions
    ca: CertAuthority | None = None
    etcd_url: str = ""
    startup_seconds: float = 0.0
    extra_args: tuple[str, ...] = ()
    etcd_proc: subprocess.Popen[bytes] | None = None
    apiserver_proc: subprocess.Popen[bytes] | None = None

    @property
    def ca_file(self) -> Path:
        assert self.ca is not None
        return self.ca.cert

    @property
    def ca_pem(self) -> bytes:
        assert self.ca is not None
        return self.ca.pem

    def client(self, kubeconfig: Path | None = None, timeout: float = 30.0) -> KubeClient:
        """A socle client for the admin kubeconfig (or another one)."""
        return KubeClient(load_kubeconfig(kubeconfig or self.kubeconfig), timeout=timeout)

    def issue_cert(self, name: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
                   ) -> CertPair:
        """A serving certificate signed by the cluster CA (e.g. for a webhook on 127.0.0.1);
        use ``ca_pem`` as the webhook's caBundle."""
        assert self.ca is not None
        return self.ca.issue(name, hosts)

    # start and stop ---------------------------------------------------------------------------

    def start(self) -> None:
        apiserver, etcd = binaries()
        began = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.ca = CertAuthority(self.workdir / "pki")
        serving = self.ca.issue("kube-apiserver", ("127.0.0.1", "localhost", "kubernetes",
                                                   "kubernetes.default.svc"))
        admin_cert = self.ca.issue(ADMIN_USER + "-cert", organization="system:masters",
                                   client=True)
        sa_key = self.workdir / "pki" / "sa.key"
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                 "-out", str(sa_key), cwd=self.workdir)
        sa_pub = self.workdir / "pki" / "sa.pub"
        _openssl("pkey", "-in", str(sa_key), "-pubout", "-out", str(sa_pub), cwd=self.workdir)
        self.token = secrets.token_hex(16)
        self.viewer_token = secrets.token_hex(16)
        tokens = self.workdir / "tokens.csv"
        tokens.write_text(f'{self.token},{ADMIN_USER},{ADMIN_USER},"system:masters"\n'
                          f"{self.viewer_token},{VIEWER_USER},{VIEWER_USER}\n")
        tokens.chmod(0o600)
        last_error = ""
        for _attempt in range(3):   # a free port may be taken between probe and bind: retry
            try:
                self._start_etcd(etcd)
                self._start_apiserver(apiserver, serving, sa_key, sa_pub, tokens)
                break
            except _PortRace as exc:
                last_error = str(exc)
                self.stop(keep_workdir=True)
        else:
            raise RuntimeError(f"could not start the test cluster: {last_error}")
        self.startup_seconds = time.monotonic() - began
        self.kubeconfig = self._write_kubeconfig("kubeconfig", {"token": self.token})
        self.cert_kubeconfig = self._write_kubeconfig("kubeconfig-cert", {
            "client-certificate": str(admin_cert.cert), "client-key": str(admin_cert.key)})

    def _start_etcd(self, etcd: Path) -> None:
        client_port, peer_port = free_port(), free_port()
        data = self.workdir / "etcd-data"
        shutil.rmtree(data, ignore_errors=True)
        self.etcd_url = f"http://127.0.0.1:{client_port}"
        peer = f"http://127.0.0.1:{peer_port}"
        log = self.workdir / "etcd.log"
        with log.open("wb") as out:
            self.etcd_proc = subprocess.Popen(
                [str(etcd), "--name=socle", f"--data-dir={data}",
                 f"--listen-client-urls={self.etcd_url}",
                 f"--advertise-client-urls={self.etcd_url}",
                 f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
                 f"--initial-cluster=socle={peer}", "--initial-cluster-state=new",
                 "--unsafe-no-fsync=true", "--log-level=warn", "--log-outputs=stderr"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=_child_env(), preexec_fn=_die_with_parent)
        self._wait("etcd", self.etcd_proc, log, self._etcd_healthy)

    def _etcd_healthy(self) -> bool:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        try:
            with opener.open(self.etcd_url + "/health", timeout=2) as resp:
                return bool(json.loads(resp.read()).get("health") == "true")
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def _start_apiserver(self, apiserver: Path, serving: CertPair, sa_key: Path, sa_pub: Path,
                         tokens: Path) -> None:
        assert self.ca is not None
        port = free_port()
        self.server = f"https://127.0.0.1:{port}"
        log = self.workdir / "kube-apiserver.log"
        args = [
            str(apiserver),
            f"--etcd-servers={self.etcd_url}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={serving.cert}", f"--tls-private-key-file={serving.key}",
            f"--client-ca-file={self.ca.cert}",
            f"--token-auth-file={tokens}",
            "--authorization-mode=RBAC",
            f"--service-account-key-file={sa_pub}",
            f"--service-account-signing-key-file={sa_key}",
            f"--service-account-issuer={self.server}",
            "--service-cluster-ip-range=10.96.0.0/16",
            # No controller-manager creates the default ServiceAccount, so pods could not be
            # admitted with the ServiceAccount plugin on.
            "--disable-admission-plugins=ServiceAccount",
            "--allow-privileged=true",
            "--endpoint-reconciler-type=none",
            "--profiling=false",
            "--v=1",
            *self.extra_args,
        ]
        with log.open("wb") as out:
            self.apiserver_proc = subprocess.Popen(
                args, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=_child_env(), preexec_fn=_die_with_parent)
        self._wait("kube-apiserver", self.apiserver_proc, log, self._apiserver_ready)

    def _apiserver_ready(self) -> bool:
        assert self.ca is not None
        ctx = ssl.create_default_context(cafile=str(self.ca.cert))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                             urllib.request.HTTPSHandler(context=ctx))
        req = urllib.request.Request(self.server + "/readyz",
                                     headers={"Authorization": f"Bearer {self.token}"})
        try:
            with opener.open(req, timeout=2) as resp:
                return bool(resp.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def _wait(self, name: str, proc: subprocess.Popen[bytes], log: Path,
              ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                text = _tail(log)
                if "address already in use" in text:
                    raise _PortRace(f"{name}: address already in use")
                raise RuntimeError(f"{name} exited with {proc.returncode}; last log lines:\n"
                                   f"{text}")
            if ready():
                return
            time.sleep(0.1)
        raise RuntimeError(f"{name} not ready after {START_TIMEOUT:.0f} s; see {log}:\n"
                           f"{_tail(log)}")

    def _write_kubeconfig(self, name: str, user: dict[str, str]) -> Path:
        import yaml

        doc = {
            "apiVersion": "v1", "kind": "Config", "current-context": "socle-test",
            "clusters": [{"name": "socle-test", "cluster": {
                "server": self.server, "certificate-authority": str(self.ca_file)}}],
            "users": [{"name": ADMIN_USER, "user": user}],
            "contexts": [{"name": "socle-test", "context": {
                "cluster": "socle-test", "user": ADMIN_USER, "namespace": "default"}}],
        }
        path = self.workdir / name
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        path.chmod(0o600)
        return path

    def stop(self, keep_workdir: bool = False) -> None:
        """Stop kube-apiserver, then etcd, by PID; remove the working directory."""
        apiserver, self.apiserver_proc = self.apiserver_proc, None
        etcd, self.etcd_proc = self.etcd_proc, None
        _stop(apiserver)
        _stop(etcd)
        if not keep_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    # namespaces -------------------------------------------------------------------------------

    def create_namespace(self, prefix: str = "t") -> str:
        name = f"{prefix}-{secrets.token_hex(4)}"
        with self.client() as client:
            client.create("/api/v1/namespaces",
                          {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        return name

    def delete_namespace(self, name: str) -> None:
        """Delete a namespace and everything in it.

        There is no controller-manager, so the apiserver alone would leave the namespace in
        Terminating forever: empty it kind by kind, then clear its finalizer.
        """
        with self.client() as client:
            for kind in client.discover():
                if kind.namespaced and "deletecollection" in kind.verbs:
                    with contextlib.suppress(ApiError):
                        client.delete(kind.path(name))
            try:
                client.delete(f"/api/v1/namespaces/{name}")
                client.replace(f"/api/v1/namespaces/{name}/finalize", {
                    "apiVersion": "v1", "kind": "Namespace",
                    "metadata": {"name": name}, "spec": {"finalizers": []}})
            except ApiError as exc:
                if exc.status != 404:
                    raise


class _PortRace(RuntimeError):
    pass


# -- the shared server and the pytest fixtures -------------------------------------------------

_SHARED: KubeCluster | None = None
_SHARED_ERROR: str | None = None


def start_cluster(extra_args: tuple[str, ...] = (), workdir: Path | None = None) -> KubeCluster:
    """Start a private cluster (e.g. with extra kube-apiserver flags); call ``stop()`` after."""
    where = workdir or Path(tempfile.mkdtemp(prefix="socle-kube-"))
    cluster = KubeCluster(workdir=where, extra_args=extra_args)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


def shared_cluster() -> KubeCluster:
    """The process-wide cluster, started on first use and stopped at exit."""
    global _SHARED, _SHARED_ERROR
    if _SHARED is None:
        if _SHARED_ERROR is not None:
            raise RuntimeError(_SHARED_ERROR)
        try:
            _SHARED = start_cluster()
        except Exception as exc:
            _SHARED_ERROR = str(exc)
            raise
        atexit.register(_SHARED.stop)
    return _SHARED


def require_kube() -> bool:
    return bool(os.environ.get("SOCLE_REQUIRE_KUBE"))


@pytest.fixture(scope="session")
def kube() -> KubeCluster:
    """The running test cluster (skips when the binaries are not built, unless required)."""
    try:
        binaries()
    except KubeUnavailable as exc:
        if require_kube():
            pytest.fail(f"SOCLE_REQUIRE_KUBE is set but {exc}", pytrace=False)
        pytest.skip(str(exc))
    return shared_cluster()


@pytest.fixture
def kube_namespace(kube: KubeCluster) -> Iterator[str]:
    """A fresh, empty namespace for one test; deleted with its contents afterwards."""
    name = kube.create_namespace()
    try:
        yield name
    finally:
        kube.delete_namespace(name)


@pytest.fixture
def kube_client(kube: KubeCluster) -> Iterator[KubeClient]:
    """A socle client logged in as cluster admin with a bearer token."""
    with kube.client() as client:
        yield client
