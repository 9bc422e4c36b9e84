"""A small Kubernetes API client: kubeconfig, discovery and paginated reads, as plain dicts.

Only the standard library is used (http.client + ssl + PyYAML for kubeconfig files, which
socle already depends on). The client keeps one HTTPS connection open and is not thread-safe:
give each thread its own ``KubeClient``.

    config = load_kubeconfig()                # $KUBECONFIG or ~/.kube/config, current context
    client = KubeClient(config)
    for kind in client.discover():            # every listable kind, preferred group versions
        for obj in client.list_objects(kind, limit=500):
            ...                               # plain dicts with apiVersion and kind set
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import shlex
import socket
import ssl
import subprocess
import tempfile
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from socle.core.errors import SocleError

JSON = dict[str, Any]

DEFAULT_TIMEOUT = 30.0
DEFAULT_PAGE = 500


class ClusterError(SocleError):
    """A kubeconfig that cannot be used or a cluster that cannot be reached (exit code 2)."""


class ApiError(ClusterError):
    """The API server answered with an error status."""

    def __init__(self, status: int, reason: str, message: str, method: str, path: str) -> None:
        self.status = status
        self.reason = reason
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {status} {reason}: {message}")


# -- kubeconfig ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class KubeConfig:
    """Everything needed to talk to one API server (one resolved kubeconfig context)."""

    server: str
    ca_data: bytes | None = None           # PEM
    insecure: bool = False                 # insecure-skip-tls-verify
    tls_server_name: str | None = None
    client_cert_data: bytes | None = None  # PEM
    client_key_data: bytes | None = None   # PEM
    token: str | None = None
    username: str | None = None            # basic auth (rare; kept for completeness)
    password: str | None = None
    namespace: str = "default"
    context: str = ""
    source: str = ""                       # the kubeconfig file, for messages
    exec_command: tuple[str, ...] = ()     # client-go credential plugin
    exec_env: tuple[tuple[str, str], ...] = ()
    extra_headers: tuple[tuple[str, str], ...] = field(default=())


def _named(entries: Any, what: str, source: str) -> dict[str, JSON]:
    out: dict[str, JSON] = {}
    if entries is None:
        return out
    if not isinstance(entries, list):
        raise ClusterError(f"'{what}' must be a list", source)
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            raise ClusterError(f"every entry of '{what}' needs a name", source)
        body = entry.get(what[:-1]) or {}
        if not isinstance(body, dict):
            raise ClusterError(f"{what[:-1]} '{entry['name']}' must be a mapping", source)
        out.setdefault(entry["name"], body)
    return out


def _read_data(body: JSON, data_key: str, file_key: str, base: Path, source: str) -> bytes | None:
    data = body.get(data_key)
    if isinstance(data, str) and data:
        try:
            return base64.b64decode(data, validate=True)
        except ValueError as exc:
            raise ClusterError(f"'{data_key}' is not valid base64", source) from exc
    name = body.get(file_key)
    if isinstance(name, str) and name:
        path = Path(os.path.expanduser(name))
        if not path.is_absolute():
            path = base / path
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ClusterError(f"cannot read {file_key} {path}: {exc.strerror}", source) from exc
    return None


def _kubeconfig_paths(path: str | os.PathLike[str] | None) -> list[Path]:
    if path is not None:
        return [Path(path)]
    env = os.environ.get("KUBECONFIG", "")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [Path.home() / ".kube" / "config"]


def load_kubeconfig(path: str | os.PathLike[str] | None = None,
                    context: str | None = None) -> KubeConfig:
    """Resolve one context of a kubeconfig file (or of every file in ``$KUBECONFIG``).

    As kubectl does, the first file that names a cluster, user, context or current-context wins.
    Relative certificate and token file paths are read relative to the file that names them.
    """
    paths = _kubeconfig_paths(path)
    clusters: dict[str, tuple[JSON, Path, str]] = {}
    users: dict[str, tuple[JSON, Path, str]] = {}
    contexts: dict[str, tuple[JSON, str]] = {}
    current = ""
    read_any = False
    for file in paths:
        source = str(file)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            if path is not None or len(paths) == 1:
                raise ClusterError("kubeconfig file not found", source) from None
            continue
        except OSError as exc:
            raise ClusterError(f"cannot read kubeconfig: {exc.strerror}", source) from exc
        try:
            doc = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise ClusterError(f"kubeconfig is not valid YAML: {exc}".splitlines()[0],
                               source, line) from exc
        if not isinstance(doc, dict):
            raise ClusterError("kubeconfig must be a mapping", source)
        read_any = True
        base = file.resolve().parent
        for name, body in _named(doc.get("clusters"), "clusters", source).items():
            clusters.setdefault(name, (body, base, source))
        for name, body in _named(doc.get("users"), "users", source).items():
            users.setdefault(name, (body, base, source))
        for name, body in _named(doc.get("contexts"), "contexts", source).items():
            contexts.setdefault(name, (body, source))
        if not current and isinstance(doc.get("current-context"), str):
            current = doc["current-context"]
    where = os.pathsep.join(str(p) for p in paths)
    if not read_any:
        raise ClusterError("no kubeconfig file found", where)
    name = context or current
    if not name:
        raise ClusterError("no context given and no current-context set", where)
    if name not in contexts:
        known = ", ".join(sorted(contexts)) or "none"
        raise ClusterError(f"context '{name}' not found (known: {known})", where)
    ctx, ctx_source = contexts[name]
    cluster_name = ctx.get("cluster")
    if not isinstance(cluster_name, str) or cluster_name not in clusters:
        raise ClusterError(f"context '{name}' names unknown cluster '{cluster_name}'", ctx_source)
    cluster, cbase, csource = clusters[cluster_name]
    server = cluster.get("server")
    if not isinstance(server, str) or not server:
        raise ClusterError(f"cluster '{cluster_name}' has no server", csource)
    user: JSON = {}
    ubase, usource = cbase, csource
    user_name = ctx.get("user")
    if isinstance(user_name, str) and user_name:
        if user_name not in users:
            raise ClusterError(f"context '{name}' names unknown user '{user_name}'", ctx_source)
        user, ubase, usource = users[user_name]
    token = user.get("token") if isinstance(user.get("token"), str) else None
    if not token:
        token_file = _read_data(user, "", "tokenFile", ubase, usource)
        token = token_file.decode().strip() if token_file else None
    exec_command: tuple[str, ...] = ()
    exec_env: tuple[tuple[str, str], ...] = ()
    plugin = user.get("exec")
    if isinstance(plugin, dict):
        command = plugin.get("command")
        if not isinstance(command, str) or not command:
            raise ClusterError(f"user '{user_name}' exec plugin has no command", usource)
        args = plugin.get("args") or []
        exec_command = (command, *(str(a) for a in args))
        exec_env = tuple((str(e.get("name")), str(e.get("value")))
                         for e in plugin.get("env") or [] if isinstance(e, dict))
    elif "auth-provider" in user:
        raise ClusterError(f"user '{user_name}': auth-provider plugins are not supported; "
                           "use an exec plugin or a token", usource)
    namespace = ctx.get("namespace")
    return KubeConfig(
        server=server.rstrip("/"),
        ca_data=_read_data(cluster, "certificate-authority-data", "certificate-authority",
                           cbase, csource),
        insecure=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name") or None,
        client_cert_data=_read_data(user, "client-certificate-data", "client-certificate",
                                    ubase, usource),
        client_key_data=_read_data(user, "client-key-data", "client-key", ubase, usource),
        token=token,
        username=user.get("username") if isinstance(user.get("username"), str) else None,
        password=user.get("password") if isinstance(user.get("password"), str) else None,
        namespace=namespace if isinstance(namespace, str) and namespace else "default",
        context=name,
        source=ctx_source,
        exec_command=exec_command,
        exec_env=exec_env,
    )


def _run_exec_plugin(config: KubeConfig) -> tuple[str | None, bytes | None, bytes | None]:
    env = dict(os.environ)
    env.update(config.exec_env)
    env["KUBERNETES_EXEC_INFO"] = json.dumps({
        "apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
        "spec": {"interactive": False}})
    shown = shlex.join(config.exec_command)
    try:
        proc = subprocess.run(list(config.exec_command), capture_output=True, env=env,
                              stdin=subprocess.DEVNULL, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClusterError(f"credential plugin '{shown}' failed: {exc}", config.source) from exc
    if proc.returncode != 0:
        tail = proc.stderr.decode("utf-8", "replace").strip().splitlines()[-1:]
        raise ClusterError(f"credential plugin '{shown}' exited {proc.returncode}"
                           + (f": {tail[0]}" if tail else ""), config.source)
    try:
        status = json.loads(proc.stdout).get("status") or {}
    except (ValueError, AttributeError) as exc:
        raise ClusterError(f"credential plugin '{shown}' printed no ExecCredential",
                           config.source) from exc
    cert = status.get("clientCertificateData")
    key = status.get("clientKeyData")
    return (status.get("token") or None, cert.encode() if isinstance(cert, str) else None,
            key.encode() if isinstance(key, str) else None)


# -- discovery -----------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class ResourceKind:
    """One resource type found by discovery (e.g. apps/v1 deployments)."""

    group: str          # "" for the core group
    version: str
    kind: str           # Deployment
    name: str           # deployments (the URL segment)
    namespaced: bool
    verbs: frozenset[str] = frozenset()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def listable(self) -> bool:
        return "list" in self.verbs

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        """The URL path of the collection (or of one object when ``name`` is given)."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None and self.namespaced:
            base += f"/namespaces/{urllib.parse.quote(namespace, safe='')}"
        base += f"/{self.name}"
        if name is not None:
            base += f"/{urllib.parse.quote(name, safe='')}"
        return base


@dataclass
class Inventory:
    """What ``KubeClient.list_all`` read: objects, plus the kinds it could not list and why."""

    objects: list[JSON] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)   # "apps/v1 Deployment" -> reason


# -- the client ----------------------------------------------------------------------------------


class KubeClient:
    """Reads (and, for tests and tools, writes) Kubernetes API objects as plain dicts."""

    def __init__(self, config: KubeConfig, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.config = config
        self.timeout = timeout
        url = urllib.parse.urlsplit(config.server)
        if url.scheme not in ("https", "http") or not url.hostname:
            raise ClusterError(f"server '{config.server}' is not an http(s) URL", config.source)
        self._scheme = url.scheme
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._prefix = url.path.rstrip("/")
        token, cert, key = config.token, config.client_cert_data, config.client_key_data
        if config.exec_command and not (token or cert):
            token, cert, key = _run_exec_plugin(config)
        self._headers = {"Accept": "application/json", "User-Agent": "socle"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"
        elif config.username is not None:
            pair = f"{config.username}:{config.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        self._headers.update(config.extra_headers)
        self._ssl = self._ssl_context(cert, key) if url.scheme == "https" else None
        self._conn: http.client.HTTPConnection | None = None
        self._kinds: list[ResourceKind] | None = None

    # connection -------------------------------------------------------------------------------

    def _ssl_context(self, cert: bytes | None, key: bytes | None) -> ssl.SSLContext:
        config = self.config
        ctx = ssl.create_default_context()
        if config.insecure:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif config.ca_data:
            ctx = ssl.create_default_context(cadata=config.ca_data.decode("ascii", "replace"))
        if cert:
            if not key:
                raise ClusterError("client certificate given without a client key",
                                   config.source)
            # ssl only loads a certificate chain from files: write both, load, remove.
            with tempfile.TemporaryDirectory(prefix="socle-kube-") as tmp:
                cert_path, key_path = Path(tmp) / "client.crt", Path(tmp) / "client.key"
                fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(key)
                cert_path.write_bytes(cert)
                try:
                    ctx.load_cert_chain(cert_path, key_path)
                except ssl.SSLError as exc:
                    raise ClusterError(f"cannot load the client certificate: {exc.reason}",
                                       config.source) from exc
        return ctx

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._ssl is not None:
                self._conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=self.timeout, context=self._ssl)
                if self.config.tls_server_name:
                    self._ssl_server_name(self._conn)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=self.timeout)
        return self._conn

    def _ssl_server_name(self, conn: http.client.HTTPSConnection) -> None:
        name = self.config.tls_server_name
        context = self._ssl
        assert context is not None and name is not None

        def connect() -> None:
            sock = socket.create_connection((self._host, self._port), self.timeout)
            conn.sock = context.wrap_socket(sock, server_hostname=name)

        conn.connect = connect  # type: ignore[method-assign]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # requests ---------------------------------------------------------------------------------

    def request(self, method: str, path: str, query: Mapping[str, str | int] | None = None,
                body: JSON | None = None, content_type: str = "application/json") -> JSON:
        """One API call; returns the decoded JSON answer ({} for an empty one).

        Raises ApiError for an error status and ClusterError when the server is unreachable.
        """
        target = self._prefix + path
        if query:
            target += "?" + urllib.parse.urlencode({k: str(v) for k, v in query.items()})
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = content_type
        status, reason, raw = self._send(method, target, data, headers)
        if status >= 400:
            raise self._error(status, reason, raw, method, path)
        if not raw:
            return {}
        try:
            doc = json.loads(raw)
        except ValueError as exc:
            raise ClusterError(f"{method} {path}: the server answered with invalid JSON",
                               self.config.server) from exc
        if not isinstance(doc, dict):
            raise ClusterError(f"{method} {path}: expected a JSON object", self.config.server)
        return doc

    def _send(self, method: str, target: str, data: bytes | None,
              headers: dict[str, str]) -> tuple[int, str, bytes]:
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request(method, target, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                if resp.will_close:
                    self.close()
                return resp.status, resp.reason, raw
            except ssl.SSLCertVerificationError as exc:
                self.close()
                raise ClusterError(f"TLS verification of {self.config.server} failed: "
                                   f"{exc.verify_message}", self.config.source) from exc
            except (http.client.RemoteDisconnected, BrokenPipeError,
                    ConnectionResetError) as exc:
                # A kept-alive connection the server closed: reconnect once.
                self.close()
                if attempt == 2:
                    raise ClusterError(f"{self.config.server}: connection lost: {exc}",
                                       self.config.source) from exc
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
                raise ClusterError(f"cannot reach {self.config.server}: {reason}",
                                   self.config.source) from exc
        raise AssertionError("unreachable")

    def _error(self, status: int, reason: str, raw: bytes, method: str, path: str) -> ApiError:
        message = raw.decode("utf-8", "replace").strip()[:300]
        try:
            doc = json.loads(raw)
            if isinstance(doc, dict) and doc.get("kind") == "Status":
                message = str(doc.get("message") or message)
                reason = str(doc.get("reason") or reason)
        except ValueError:
            pass
        if status == 401:
            how = ("token" if "Authorization" in self._headers else
                   "client certificate" if self.config.client_cert_data else "credentials")
            message = (f"the server rejected the {how} from context '{self.config.context}'"
                       if self.config.context else f"the server rejected the {how}")
        return ApiError(status, reason or http.client.responses.get(status, ""), message,
                        method, path)

    def get(self, path: str, **query: str | int) -> JSON:
        return self.request("GET", path, query or None)

    def create(self, path: str, obj: JSON) -> JSON:
        return self.request("POST", path, body=obj)

    def replace(self, path: str, obj: JSON) -> JSON:
        return self.request("PUT", path, body=obj)

    def delete(self, path: str, **query: str | int) -> JSON:
        return self.request("DELETE", path, query or None)

    def version(self) -> JSON:
        return self.get("/version")

    # discovery --------------------------------------------------------------------------------

    def discover(self, refresh: bool = False) -> list[ResourceKind]:
        """Every top-level resource type of the server's preferred group versions, sorted."""
        if self._kinds is not None and not refresh:
            return list(self._kinds)
        kinds: list[ResourceKind] = []
        core = self.get("/api")
        for version in core.get("versions") or []:
            kinds.extend(self._resources("", str(version), f"/api/{version}"))
        groups = self.get("/apis")
        for group in groups.get("groups") or []:
            name = group.get("name", "")
            preferred = (group.get("preferredVersion") or {}).get("version")
            if not preferred:
                versions = group.get("versions") or []
                preferred = versions[0].get("version") if versions else None
            if name and preferred:
                kinds.extend(self._resources(name, preferred, f"/apis/{name}/{preferred}"))
        self._kinds = sorted(set(kinds))
        return list(self._kinds)

    def _resources(self, group: str, version: str, path: str) -> list[ResourceKind]:
        try:
            doc = self.get(path)
        except ApiError as exc:
            if exc.status in (404, 503):   # an aggregated API that is not serving
                return []
            raise
        out = []
        for res in doc.get("resources") or []:
            name = res.get("name", "")
            if not name or "/" in name:    # subresources (pods/log, deployments/scale)
                continue
            out.append(ResourceKind(group, version, str(res.get("kind", "")), name,
                                    bool(res.get("namespaced")),
                                    frozenset(str(v) for v in res.get("verbs") or [])))
        return out

    def kind(self, api_version: str, kind: str) -> ResourceKind:
        """The served resource type for an apiVersion and kind ("apps/v1", "Deployment")."""
        group, _, version = api_version.rpartition("/")
        for found in self.discover():
            if found.group == group and found.version == version and found.kind == kind:
                return found
        for found in self.discover(refresh=True):
            if found.group == group and found.version == version and found.kind == kind:
                return found
        raise ClusterError(f"the server does not serve {api_version} {kind}", self.config.server)

    # reads ------------------------------------------------------------------------------------

    def list_objects(self, kind: ResourceKind, namespace: str | None = None,
                     limit: int = DEFAULT_PAGE, label_selector: str | None = None,
                     field_selector: str | None = None) -> Iterator[JSON]:
        """Every object of one kind, page by page (``limit`` per request, following ``continue``).

        ``namespace=None`` lists a namespaced kind across all namespaces. Each object gets the
        ``apiVersion`` and ``kind`` that list answers leave out.
        """
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query: dict[str, str | int] = {"limit": limit}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        path = kind.path(namespace)
        while True:
            page = self.request("GET", path, query)
            for item in page.get("items") or []:
                if isinstance(item, dict):
                    item.setdefault("apiVersion", kind.api_version)
                    item.setdefault("kind", kind.kind)
                    yield item
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return
            query["continue"] = token

    def list_all(self, namespace: str | None = None, limit: int = DEFAULT_PAGE,
                 kinds: list[ResourceKind] | None = None,
                 skip: frozenset[str] = frozenset({"events", "componentstatuses"})
                 ) -> Inventory:
        """Every object of every listable kind (in one namespace, or cluster-wide).

        With a namespace, cluster-scoped kinds are left out. Kinds the credentials may not list
        (403) or that vanished (404) are recorded in ``Inventory.skipped``, not raised.
        """
        inventory = Inventory()
        for kind in kinds if kinds is not None else self.discover():
            if not kind.listable or kind.name in skip:
                continue
            if namespace is not None and not kind.namespaced:
                continue
            label = f"{kind.api_version} {kind.kind}"
            try:
                inventory.objects.extend(self.list_objects(kind, namespace, limit))
            except ApiError as exc:
                if exc.status not in (403, 404, 405):
                    raise
                inventory.skipped[label] = f"{exc.status} {exc.reason}"
        return inventory
