"""``socle webhook`` behind a real kube-apiserver (tests/cluster/kube.py; skipped when the
binaries are not built, see docs/cluster-tests.md)."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cluster.kube import KubeCluster
from socle.cluster import ApiError
from socle.policy import webhook as wh

pytestmark = pytest.mark.xdist_group("kube")

POLICY = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sdisallowedtags
spec:
  crd:
    spec:
      names:
        kind: K8sDisallowedTags
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sdisallowedtags
        violation[{"msg": msg}] {
          c := input.review.object.spec.containers[_]
          t := input.parameters.tags[_]
          endswith(c.image, concat("", [":", t]))
          msg := sprintf("container <%v> uses a disallowed tag <%v>", [c.name, c.image])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDisallowedTags
metadata:
  name: no-latest
spec:
  enforcementAction: warn
  match:
    kinds: [{apiGroups: [""], kinds: ["Pod"]}]
  parameters:
    tags: ["latest"]
"""

VWC = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"


def pod(name: str, privileged: bool = False, image: str = "nginx:1.25") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"containers": [{"name": "app", "image": image,
                                     "securityContext": {"privileged": privileged}}]}}


def create_pod(kube: KubeCluster, ns: str, obj: dict[str, Any]) -> tuple[int, str, list[str]]:
    """POST a pod as the admin: (status, body, Warning headers)."""
    ctx = ssl.create_default_context(cafile=str(kube.ca_file))
    host, port = kube.server.removeprefix("https://").rsplit(":", 1)
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
    try:
        conn.request("POST", f"/api/v1/namespaces/{ns}/pods", json.dumps(obj).encode(),
                     {"Content-Type": "application/json",
                      "Authorization": f"Bearer {kube.token}"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(), resp.headers.get_all("Warning") or []
    finally:
        conn.close()


@pytest.fixture
def other_namespace(kube: KubeCluster) -> Iterator[str]:
    name = kube.create_namespace()
    yield name
    kube.delete_namespace(name)


def test_socle_webhook_at_a_real_apiserver(kube: KubeCluster, kube_namespace: str,
                                           other_namespace: str, tmp_path: Path) -> None:
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "tags.yaml").write_text(POLICY)
    pair = kube.issue_cert("socle-webhook")
    settings = wh.Settings(policy=str(folder), framework=["pss-baseline"], workers=1,
                           reload_interval=0, failure_policy="Fail",
                           exclude_namespaces=["kube-system", other_namespace])
    server = wh.WebhookServer(settings, "127.0.0.1", 0, str(pair.cert), str(pair.key))
    server.start()
    name = f"socle-webhook-{kube_namespace}"
    config: dict[str, Any] = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [{
            "name": "validate.socle.test", "admissionReviewVersions": ["v1"],
            "sideEffects": "None", "failurePolicy": settings.failure_policy,
            "timeoutSeconds": 5,
            "clientConfig": {"url": f"https://127.0.0.1:{server.port}/validate",
                             "caBundle": base64.b64encode(kube.ca_pem).decode()},
            # both test namespaces reach the server: the exclusion is the server's own
            "namespaceSelector": {"matchExpressions": [{
                "key": "kubernetes.io/metadata.name", "operator": "In",
                "values": [kube_namespace, other_namespace]}]},
            "rules": [{"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                       "resources": ["pods"]}],
        }],
    }
    stopped = False
    with kube.client() as client:
        client.create(VWC, config)
        try:
            # a new configuration takes about a second to be picked up
            deadline = time.monotonic() + 20
            attempt = 0
            while True:
                attempt += 1
                status, body, _ = create_pod(kube, kube_namespace,
                                             pod(f"priv-{attempt}", privileged=True))
                if status == 403:
                    break
                assert time.monotonic() < deadline, "the webhook was never called"
                time.sleep(0.3)
            message = json.loads(body)["message"]
            assert "denied the request: denied by socle: [SCL-001 Privileged container]" in \
                message
            assert "fix: Set securityContext.privileged to false" in message

            status, body, warnings = create_pod(kube, kube_namespace, pod("compliant"))
            assert status == 201, body
            assert warnings == []

            status, body, warnings = create_pod(kube, kube_namespace,
                                                pod("floating", image="nginx:latest"))
            assert status == 201, body
            assert any("[K8sDisallowedTags/no-latest] container <app> uses a disallowed tag "
                       "<nginx:latest>" in w for w in warnings), warnings

            status, body, _ = create_pod(kube, other_namespace, pod("excluded", privileged=True))
            assert status == 201, body

            # the webhook is gone: failurePolicy Fail rejects, Ignore admits
            server.close()
            stopped = True
            status, body, _ = create_pod(kube, kube_namespace, pod("while-down"))
            assert status >= 500 or status == 403, body
            assert "failed calling webhook" in body

            current = client.get(f"{VWC}/{name}")
            current["webhooks"][0]["failurePolicy"] = "Ignore"
            client.replace(f"{VWC}/{name}", current)
            deadline = time.monotonic() + 20
            attempt = 0
            while True:
                attempt += 1
                status, body, _ = create_pod(kube, kube_namespace, pod(f"ignored-{attempt}"))
                if status == 201:
                    break
                assert time.monotonic() < deadline, body
                time.sleep(0.3)
        finally:
            with contextlib.suppress(ApiError):
                client.delete(f"{VWC}/{name}")
            if not stopped:
                server.close()
