"""socle.cluster.client: kubeconfig loading, and reads and writes against a real apiserver."""

from __future__ import annotations

import base64
import os
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from cluster.kube import KubeCluster, free_port
from socle.cluster import (
    ApiError,
    ClusterError,
    KubeClient,
    KubeConfig,
    ResourceKind,
    load_kubeconfig,
)

pytestmark = pytest.mark.xdist_group("kube")

# -- kubeconfig (no server needed) -------------------------------------------------------------

KUBECONFIG = """\
apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev-cluster
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: {ca}
- name: prod-cluster
  cluster:
    server: https://127.0.0.1:7443
    certificate-authority: certs/ca.pem
    tls-server-name: api.prod.internal
users:
- name: dev
  user:
    token: dev-token
- name: prod
  user:
    tokenFile: secrets/token
    client-certificate: certs/client.pem
    client-key: certs/client-key.pem
contexts:
- name: dev
  context: {{cluster: dev-cluster, user: dev, namespace: team-a}}
- name: prod
  context: {{cluster: prod-cluster, user: prod}}
"""


@pytest.fixture
def kubeconfig(tmp_path: Path) -> Path:
    (tmp_path / "certs").mkdir()
    (tmp_path / "secrets").mkdir()
    (tmp_path / "certs" / "ca.pem").write_bytes(b"PROD CA")
    (tmp_path / "certs" / "client.pem").write_bytes(b"CERT")
    (tmp_path / "certs" / "client-key.pem").write_bytes(b"KEY")
    (tmp_path / "secrets" / "token").write_text("prod-token\n")
    path = tmp_path / "config"
    path.write_text(KUBECONFIG.format(ca=base64.b64encode(b"DEV CA").decode()))
    return path


def test_current_context_is_used_by_default(kubeconfig: Path) -> None:
    config = load_kubeconfig(kubeconfig)
    assert (config.context, config.server, config.ca_data, config.token, config.namespace) == (
        "dev", "https://127.0.0.1:6443", b"DEV CA", "dev-token", "team-a")


def test_files_are_read_relative_to_the_kubeconfig(kubeconfig: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path.parent)
    config = load_kubeconfig(kubeconfig, context="prod")
    assert config.ca_data == b"PROD CA"
    assert config.token == "prod-token"
    assert (config.client_cert_data, config.client_key_data) == (b"CERT", b"KEY")
    assert config.tls_server_name == "api.prod.internal"
    assert config.namespace == "default"


def test_kubeconfig_env_merges_files_first_one_wins(kubeconfig: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    override = tmp_path / "override"
    override.write_text(yaml.safe_dump({
        "current-context": "prod",
        "users": [{"name": "prod", "user": {"token": "from-override"}}]}))
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(override), str(kubeconfig),
                                                      str(tmp_path / "absent")]))
    config = load_kubeconfig()
    assert (config.context, config.token, config.server) == (
        "prod", "from-override", "https://127.0.0.1:7443")


@pytest.mark.parametrize(("text", "context", "message"), [
    ("current-context: nope\ncontexts: []\n", None, "context 'nope' not found (known: none)"),
    ("contexts:\n- name: a\n  context: {cluster: x}\n", "a", "names unknown cluster 'x'"),
    ("clusters: [{name: c, cluster: {}}]\ncontexts: [{name: a, context: {cluster: c}}]\n", "a",
     "cluster 'c' has no server"),
    ("clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
     "users: [{name: u, user: {auth-provider: {name: gcp}}}]\n"
     "contexts: [{name: a, context: {cluster: c, user: u}}]\n", "a",
     "auth-provider plugins are not supported"),
    ("kind: Config\n", None, "no context given and no current-context set"),
    ("clusters: [\n", None, "kubeconfig is not valid YAML"),
])
def test_unusable_kubeconfigs_give_one_line_errors(tmp_path: Path, text: str,
                                                   context: str | None, message: str) -> None:
    path = tmp_path / "kc"
    path.write_text(text)
    with pytest.raises(ClusterError) as caught:
        load_kubeconfig(path, context)
    assert message in str(caught.value)
    assert str(caught.value).startswith(str(path))
    assert "\n" not in str(caught.value)


def test_a_missing_kubeconfig_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ClusterError, match="kubeconfig file not found"):
        load_kubeconfig(tmp_path / "nope")


def test_an_unreachable_server_is_a_cluster_error() -> None:
    port = free_port()   # nothing listens there
    with KubeClient(KubeConfig(server=f"https://127.0.0.1:{port}", token="x"),
                    timeout=5) as client, pytest.raises(ClusterError) as caught:
        client.version()
    assert f"cannot reach https://127.0.0.1:{port}" in str(caught.value)


def test_resource_paths() -> None:
    deploy = ResourceKind("apps", "v1", "Deployment", "deployments", True, frozenset({"list"}))
    node = ResourceKind("", "v1", "Node", "nodes", False)
    assert deploy.path() == "/apis/apps/v1/deployments"
    assert deploy.path("a b", "web") == "/apis/apps/v1/namespaces/a%20b/deployments/web"
    assert node.path("ignored", "n1") == "/api/v1/nodes/n1"
    assert (deploy.api_version, node.api_version) == ("apps/v1", "v1")
    assert deploy.listable and not node.listable


# -- against the real apiserver ----------------------------------------------------------------


def configmap(name: str, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, "data": data}


def test_create_list_get_and_delete_in_a_namespace(kube_client: KubeClient,
                                                   kube_namespace: str) -> None:
    cms = kube_client.kind("v1", "ConfigMap")
    kube_client.create(cms.path(kube_namespace), configmap("one", a="1"))
    kube_client.create(cms.path(kube_namespace), configmap("two", b="2"))
    listed = list(kube_client.list_objects(cms, kube_namespace))
    names = sorted(o["metadata"]["name"] for o in listed)
    assert names == ["kube-root-ca.crt", "one", "two"] or names == ["one", "two"]
    assert all(o["apiVersion"] == "v1" and o["kind"] == "ConfigMap" for o in listed)
    assert kube_client.get(cms.path(kube_namespace, "one"))["data"] == {"a": "1"}

    kube_client.delete(cms.path(kube_namespace, "one"))
    with pytest.raises(ApiError) as caught:
        kube_client.get(cms.path(kube_namespace, "one"))
    assert caught.value.status == 404
    assert 'configmaps "one" not found' in str(caught.value)


def test_a_duplicate_create_is_a_conflict(kube_client: KubeClient, kube_namespace: str) -> None:
    path = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    kube_client.create(path, configmap("dup"))
    with pytest.raises(ApiError) as caught:
        kube_client.create(path, configmap("dup"))
    assert (caught.value.status, caught.value.reason) == (409, "AlreadyExists")


class CountingClient(KubeClient):
    def __init__(self, config: KubeConfig) -> None:
        super().__init__(config)
        self.pages: list[dict[str, str | int]] = []

    def request(self, method: str, path: str, query: Any = None, body: Any = None,
                content_type: str = "application/json") -> dict[str, Any]:
        if method == "GET" and query and "limit" in query:
            self.pages.append(dict(query))
        return super().request(method, path, query, body, content_type)


def test_pagination_follows_continue_tokens(kube: KubeCluster, kube_namespace: str) -> None:
    client = CountingClient(load_kubeconfig(kube.kubeconfig))
    with client:
        cms = client.kind("v1", "ConfigMap")
        for i in range(120):
            client.create(cms.path(kube_namespace),
                          {"metadata": {"name": f"cm-{i:03d}", "labels": {"bulk": "yes"}}})
        listed = list(client.list_objects(cms, kube_namespace, limit=50,
                                          label_selector="bulk=yes"))
    assert sorted(o["metadata"]["name"] for o in listed) == [f"cm-{i:03d}" for i in range(120)]
    assert [p["limit"] for p in client.pages] == [50, 50, 50]
    assert "continue" not in client.pages[0]
    assert all(p.get("continue") for p in client.pages[1:])


def test_discovery_finds_core_apps_and_cluster_scoped_kinds(kube_client: KubeClient) -> None:
    kinds = {(k.api_version, k.kind): k for k in kube_client.discover()}
    assert kinds[("v1", "Pod")].namespaced
    assert kinds[("v1", "ConfigMap")].listable
    assert not kinds[("v1", "Namespace")].namespaced
    assert kinds[("apps/v1", "Deployment")].name == "deployments"
    assert ("rbac.authorization.k8s.io/v1", "ClusterRole") in kinds
    assert ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration") in kinds
    assert all("/" not in k.name for k in kinds.values())   # no subresources


def test_list_all_reads_every_kind_in_a_namespace(kube_client: KubeClient,
                                                  kube_namespace: str) -> None:
    kube_client.create(f"/api/v1/namespaces/{kube_namespace}/configmaps", configmap("settings"))
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"selector": {"matchLabels": {"app": "web"}}, "template": {
            "metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}}
    kube_client.create(f"/apis/apps/v1/namespaces/{kube_namespace}/deployments", deployment)
    inventory = kube_client.list_all(kube_namespace, limit=2)
    found = {(o["apiVersion"], o["kind"], o["metadata"]["name"]) for o in inventory.objects}
    assert {("v1", "ConfigMap", "settings"), ("apps/v1", "Deployment", "web")} <= found
    assert all(o["metadata"]["namespace"] == kube_namespace for o in inventory.objects)
    assert inventory.skipped == {}

    everywhere = kube_client.list_all()
    kinds = {(o["apiVersion"], o["kind"]) for o in everywhere.objects}
    assert {("v1", "Namespace"), ("apps/v1", "Deployment"),
            ("rbac.authorization.k8s.io/v1", "ClusterRole")} <= kinds


def test_list_all_records_kinds_it_may_not_list(kube: KubeCluster) -> None:
    admin = load_kubeconfig(kube.kubeconfig)
    viewer = KubeConfig(server=admin.server, ca_data=admin.ca_data, token=kube.viewer_token)
    with KubeClient(viewer) as client:
        inventory = client.list_all()
    assert inventory.objects == []
    assert inventory.skipped["v1 ConfigMap"] == "403 Forbidden"
    assert inventory.skipped["apps/v1 Deployment"] == "403 Forbidden"


def test_exec_credential_plugin_supplies_the_token(kube: KubeCluster, tmp_path: Path) -> None:
    plugin = tmp_path / "plugin.py"
    plugin.write_text(textwrap.dedent("""\
        import json, os, sys
        assert json.loads(os.environ["KUBERNETES_EXEC_INFO"])["kind"] == "ExecCredential"
        print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1",
                          "kind": "ExecCredential", "status": {"token": os.environ["TOKEN"]}}))
    """))
    doc = yaml.safe_load(kube.kubeconfig.read_text())
    doc["users"][0]["user"] = {"exec": {
        "apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
        "args": [str(plugin)], "env": [{"name": "TOKEN", "value": kube.token}]}}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    with KubeClient(load_kubeconfig(path)) as client:
        assert client.get("/api/v1/namespaces/default")["metadata"]["name"] == "default"


def test_a_wrong_certificate_authority_fails_tls_verification(kube: KubeCluster,
                                                              tmp_path: Path) -> None:
    from cluster.kube import CertAuthority

    other = CertAuthority(tmp_path / "other-ca", "not-the-cluster-ca")
    config = KubeConfig(server=kube.server, ca_data=other.pem, token=kube.token)
    with KubeClient(config) as client, pytest.raises(ClusterError) as caught:
        client.version()
    assert f"TLS verification of {kube.server} failed" in str(caught.value)
