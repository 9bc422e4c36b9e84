"""The test cluster itself: a real kube-apiserver on 127.0.0.1, its logins, and webhooks."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cluster.kube import VIEWER_USER, KubeCluster
from socle.cluster import ApiError, KubeClient, KubeConfig, load_kubeconfig

pytestmark = pytest.mark.xdist_group("kube")


def test_the_pinned_kubernetes_release_is_serving(kube: KubeCluster) -> None:
    with kube.client() as client:
        version = client.version()
    assert version["gitVersion"] == "v1.37.2"
    assert version["major"] == "1"
    assert kube.server.startswith("https://127.0.0.1:")
    print(f"\nkube-apiserver + etcd ready in {kube.startup_seconds:.1f} s")


def test_admin_token_and_client_certificate_both_log_in(kube: KubeCluster) -> None:
    for kubeconfig in (kube.kubeconfig, kube.cert_kubeconfig):
        with kube.client(kubeconfig) as client:
            names = {ns["metadata"]["name"]
                     for ns in client.list_objects(client.kind("v1", "Namespace"))}
        assert {"default", "kube-system"} <= names


def test_a_bad_token_is_rejected_with_a_clear_message(kube: KubeCluster) -> None:
    config = load_kubeconfig(kube.kubeconfig)
    bad = KubeConfig(server=config.server, ca_data=config.ca_data, token="not-a-token",
                     context="socle-test")
    with KubeClient(bad) as client, pytest.raises(ApiError) as caught:
        client.get("/api/v1/namespaces")
    assert caught.value.status == 401
    assert str(caught.value) == ("GET /api/v1/namespaces: 401 Unauthorized: "
                                 "the server rejected the token from context 'socle-test'")


def test_rbac_is_enforced_for_a_user_without_grants(kube: KubeCluster) -> None:
    config = load_kubeconfig(kube.kubeconfig)
    viewer = KubeConfig(server=config.server, ca_data=config.ca_data, token=kube.viewer_token)
    with KubeClient(viewer) as client:
        assert any(k.kind == "ConfigMap" for k in client.discover())  # discovery is public
        with pytest.raises(ApiError) as caught:
            client.get("/api/v1/namespaces/default/configmaps")
    assert caught.value.status == 403
    assert f'User "{VIEWER_USER}" cannot list resource "configmaps"' in str(caught.value)


def test_pods_are_admitted_without_a_controller_manager(kube: KubeCluster,
                                                        kube_namespace: str) -> None:
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
           "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                    "securityContext": {"privileged": True}}]}}
    with kube.client() as client:
        made = client.create(f"/api/v1/namespaces/{kube_namespace}/pods", pod)
    assert made["status"]["phase"] == "Pending"   # no scheduler, no kubelet: it stays there


# -- a validating webhook on 127.0.0.1, called by the real apiserver ---------------------------


class _Deny(BaseHTTPRequestHandler):
    seen: list[dict[str, Any]]

    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        request = review["request"]
        type(self).seen.append(request)
        data = (request.get("object") or {}).get("data") or {}
        allowed = data.get("verdict") != "deny"
        answer = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                  "response": {"uid": request["uid"], "allowed": allowed}}
        if not allowed:
            answer["response"]["status"] = {"code": 403, "message": "socle says no"}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def loopback_webhook(kube: KubeCluster) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    pair = kube.issue_cert("webhook")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pair.cert, pair.key)
    handler = type("Handler", (_Deny,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}/validate", handler.seen
    finally:
        server.shutdown()
        server.server_close()


def test_the_apiserver_calls_a_webhook_on_loopback(
        kube: KubeCluster, kube_namespace: str,
        loopback_webhook: tuple[str, list[dict[str, Any]]]) -> None:
    import base64
    import time

    url, seen = loopback_webhook
    name = f"socle-test-{kube_namespace}"
    config = {
        "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": "deny.socle.test", "admissionReviewVersions": ["v1"], "sideEffects": "None",
            "failurePolicy": "Fail", "timeoutSeconds": 5,
            "clientConfig": {"url": url, "caBundle": base64.b64encode(kube.ca_pem).decode()},
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": kube_namespace}},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                       "resources": ["configmaps"]}],
        }],
    }
    path = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"
    cms = f"/api/v1/namespaces/{kube_namespace}/configmaps"
    with kube.client() as client:
        client.create(path, config)
        try:
            # The apiserver picks up new webhook configurations within about a second.
            deadline = time.monotonic() + 15
            denied: ApiError | None = None
            attempt = 0
            while time.monotonic() < deadline and denied is None:
                attempt += 1
                try:
                    client.create(cms, {"metadata": {"name": f"probe-{attempt}"},
                                        "data": {"verdict": "deny"}})
                    time.sleep(0.2)
                except ApiError as exc:
                    denied = exc
            assert denied is not None, "the webhook was never called"
            assert denied.status == 403
            assert "socle says no" in str(denied)
            client.create(cms, {"metadata": {"name": "fine"}, "data": {"verdict": "allow"}})
        finally:
            client.delete(f"{path}/{name}")
    requests = [r for r in seen if r["name"] in ("fine", f"probe-{attempt}")]
    assert [r["operation"] for r in requests] == ["CREATE", "CREATE"]
    assert requests[0]["namespace"] == kube_namespace


def test_deleting_a_test_namespace_removes_it_and_its_objects(kube: KubeCluster) -> None:
    name = kube.create_namespace("gone")
    with kube.client() as client:
        client.create(f"/api/v1/namespaces/{name}/configmaps", {"metadata": {"name": "left"}})
        kube.delete_namespace(name)
        with pytest.raises(ApiError) as caught:
            client.get(f"/api/v1/namespaces/{name}")
        assert caught.value.status == 404
        leftovers = client.list_objects(client.kind("v1", "ConfigMap"),
                                        field_selector=f"metadata.namespace={name}")
        assert list(leftovers) == []
