"""``socle webhook``: the real server over HTTPS on 127.0.0.1 with a generated certificate."""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from socle.policy import webhook as wh

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl")

TEMPLATE = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sdisallowedtags
  annotations:
    description: Pin images to a release tag.
spec:
  crd:
    spec:
      names:
        kind: K8sDisallowedTags
      validation:
        openAPIV3Schema:
          type: object
          properties:
            tags: {type: array, items: {type: string}}
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
"""


def constraint(name: str, action: str, tags: list[str]) -> str:
    return f"""\
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sDisallowedTags
metadata:
  name: {name}
spec:
  enforcementAction: {action}
  match:
    kinds: [{{apiGroups: [""], kinds: ["Pod"]}}]
  parameters:
    tags: {json.dumps(tags)}
"""


BLOCKED = """\
apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: k8sblockednames
spec:
  crd:
    spec:
      names:
        kind: K8sBlockedNames
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
        package k8sblockednames
        violation[{"msg": msg}] {
          input.review.object.metadata.name == input.parameters.names[_]
          msg := sprintf("the name %v is reserved", [input.review.object.metadata.name])
        }
---
apiVersion: constraints.gatekeeper.sh/v1beta1
kind: K8sBlockedNames
metadata:
  name: reserved
spec:
  parameters:
    names: ["admin"]
"""

CONFTEST = """\
package main

deny contains msg if {
  input.metadata.labels.forbidden == "yes"
  msg := "the label forbidden=yes is not allowed"
}

deny contains msg if {
  f := input.metadata.annotations["socle.test/read"]
  cfg := parse_config_file(f)
  msg := sprintf("read %v", [cfg])
}
"""


@pytest.fixture(autouse=True)
def _collect_on_this_thread() -> None:
    # Rego engines that earlier tests of this worker left in reference cycles are freed here,
    # on the thread that made them: a collection that ran on one of the webhook's threads
    # would find them there, and the regorus binding refuses to drop an engine on another
    # thread than its own (it leaks it, and pytest reports an unraisable exception)
    import gc

    gc.collect()


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


def write_policies(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "tags.yaml").write_text(
        TEMPLATE + "---\n" + constraint("no-latest", "warn", ["latest"]) + "---\n"
        + constraint("no-dev", "deny", ["dev"]) + "---\n"
        + constraint("watch-beta", "dryrun", ["beta"]))
    (folder / "blocked.yaml").write_text(BLOCKED)
    (folder / "main.rego").write_text(CONFTEST)
    (folder / "allowed.yaml").write_text("inside: true\n")


def start(folder: Path, certs: tuple[str, str], **kw: Any) -> wh.WebhookServer:
    settings = wh.Settings(policy=str(folder), workers=1, reload_interval=0, **kw)
    server = wh.WebhookServer(settings, "127.0.0.1", 0, certs[0], certs[1])
    server.start()
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory,
           certs: tuple[str, str]) -> Iterator[wh.WebhookServer]:
    folder = tmp_path_factory.mktemp("policies")
    write_policies(folder)
    srv = start(folder, certs, framework=["pss-baseline"], exclude_users=["system:admin"],
                exclude_groups=["system:serviceaccounts:infra-*"],
                exclude_namespaces=["kube-system", "team-*-sandbox"], max_body=64 * 1024,
                read_timeout=2.0)
    yield srv
    srv.close()


def connect(srv: wh.WebhookServer, certs: tuple[str, str]) -> http.client.HTTPSConnection:
    ctx = ssl.create_default_context(cafile=certs[0])
    return http.client.HTTPSConnection("127.0.0.1", srv.port, context=ctx, timeout=20)


def pod(name: str = "web", ns: str = "default", privileged: bool = False,
        image: str = "nginx:1.25", labels: dict[str, str] | None = None,
        annotations: dict[str, str] | None = None, user: str = "alice") -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "labels": labels or {}}
    if annotations:
        meta["annotations"] = annotations
    return {
        "uid": f"uid-{name}", "operation": "CREATE", "name": name, "namespace": ns,
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "userInfo": {"username": user, "groups": ["system:authenticated"]},
        "object": {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": {
            "containers": [{"name": "app", "image": image,
                            "securityContext": {"privileged": privileged}}]}},
    }


def review(srv: wh.WebhookServer, certs: tuple[str, str],
           request: dict[str, Any]) -> dict[str, Any]:
    conn = connect(srv, certs)
    body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": request}).encode()
    conn.request("POST", "/validate", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = json.loads(resp.read())
    conn.close()
    assert resp.status == 200, data
    assert data["kind"] == "AdmissionReview" and data["apiVersion"] == "admission.k8s.io/v1"
    assert data["response"]["uid"] == request["uid"]
    out: dict[str, Any] = data["response"]
    return out


def raw(srv: wh.WebhookServer, certs: tuple[str, str], method: str, path: str,
        body: bytes | None = None, headers: dict[str, str] | None = None
        ) -> tuple[int, str]:
    conn = connect(srv, certs)
    conn.request(method, path, body, headers or {})
    resp = conn.getresponse()
    text = resp.read().decode()
    conn.close()
    return resp.status, text


def metric(text: str, name: str, /, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if want else "") + r" (\S+)"
    m = re.search("^" + pattern + "$", text, re.MULTILINE)
    return float(m.group(1)) if m else 0.0


# --- decisions ----------------------------------------------------------------------------------


def test_privileged_pod_is_denied_with_the_controls_message_and_fix(server, certs):
    resp = review(server, certs, pod("priv", privileged=True))
    assert resp["allowed"] is False
    msg = resp["status"]["message"]
    assert resp["status"]["code"] == 403
    assert "SCL-001" in msg and "Privileged container" in msg and "runs privileged" in msg
    assert "fix: Set securityContext.privileged to false" in msg


def test_compliant_pod_is_allowed_without_warnings(server, certs):
    resp = review(server, certs, pod("ok"))
    assert resp == {"uid": "uid-ok", "allowed": True}


def test_warn_constraint_gives_a_warning_and_allows(server, certs):
    resp = review(server, certs, pod("latest", image="nginx:latest"))
    assert resp["allowed"] is True
    assert resp["warnings"] == [
        "[K8sDisallowedTags/no-latest] container <app> uses a disallowed tag <nginx:latest>"]


def test_deny_constraint_names_the_constraint_and_the_fix(server, certs):
    resp = review(server, certs, pod("dev", image="nginx:dev"))
    assert resp["allowed"] is False
    assert resp["status"]["message"] == (
        "denied by socle: [K8sDisallowedTags/no-dev] container <app> uses a disallowed tag "
        "<nginx:dev> (fix: Pin images to a release tag.)")


def test_violations_of_two_templates_in_one_review(server, certs):
    resp = review(server, certs, pod("admin", image="nginx:dev"))
    assert resp["status"]["message"] == (
        "denied by socle: [K8sBlockedNames/reserved] the name admin is reserved; "
        "[K8sDisallowedTags/no-dev] container <app> uses a disallowed tag <nginx:dev> "
        "(fix: Pin images to a release tag.)")


def test_templates_sharing_an_engine_decide_as_separate_engines(tmp_path):
    folder = tmp_path / "pol"
    write_policies(folder)
    shared = wh.PolicySet(str(folder), wh.Settings(policy=str(folder), engine="regorus"))
    assert [sorted(kinds) for _, kinds in shared.merged] == [
        ["K8sBlockedNames", "K8sDisallowedTags"]]
    apart = wh.PolicySet(str(folder), wh.Settings(policy=str(folder), engine="regorus"))
    apart.merged = []
    for t in apart.gatekeeper.templates.values():
        engine = apart.gatekeeper._compiled(t)
        engine.add_policy("<batch>", wh._BATCH.format(pkg=t.package))
        apart.batched[t.kind] = engine
    # the compiled engine (the default) calls each template's violation once per constraint
    direct = wh.PolicySet(str(folder), wh.Settings(policy=str(folder)))
    assert sorted(direct.direct) == ["K8sBlockedNames", "K8sDisallowedTags"]
    assert direct.merged == [] and direct.batched == {}
    for name in ("admin", "web"):
        for image in ("nginx:dev", "nginx:latest", "nginx:beta", "nginx:1"):
            req = pod(name, image=image)
            assert shared.evaluate(req) == apart.evaluate(req) == direct.evaluate(req)
    assert direct.evaluate(pod("web", image="nginx:latest")).warn == [
        "[K8sDisallowedTags/no-latest] container <app> uses a disallowed tag <nginx:latest>"]
    assert shared.evaluate(pod("admin", image="nginx:dev")).deny == [
        "[K8sBlockedNames/reserved] the name admin is reserved",
        "[K8sDisallowedTags/no-dev] container <app> uses a disallowed tag <nginx:dev> "
        "(fix: Pin images to a release tag.)"]


def test_namespace_selector_uses_namespaces_of_the_folder(tmp_path):
    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "t.yaml").write_text(TEMPLATE + "---\n" + constraint("prod-no-dev", "deny", ["dev"])
                                   .replace("  match:\n", "  match:\n    namespaceSelector: "
                                            "{matchLabels: {env: prod}}\n"))
    (folder / "ns.yaml").write_text("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n"
                                    "  labels: {env: prod}\n---\napiVersion: v1\nkind: "
                                    "Namespace\nmetadata:\n  name: lab\n")
    policies = wh.PolicySet(str(folder), wh.Settings(policy=str(folder)))
    assert policies.evaluate(pod("a", ns="shop", image="x:dev")).deny
    assert policies.evaluate(pod("b", ns="lab", image="x:dev")) == wh.Decision()
    unknown = policies.evaluate(pod("c", ns="elsewhere", image="x:dev"))
    assert unknown.error == ("K8sDisallowedTags/prod-no-dev has a namespaceSelector and the "
                             "Namespace 'elsewhere' is not in the policy folder (add its YAML "
                             "there)")


def test_dryrun_constraint_allows_and_is_counted(server, certs):
    before = raw(server, certs, "GET", "/metrics")[1]
    resp = review(server, certs, pod("beta", image="nginx:beta"))
    assert resp == {"uid": "uid-beta", "allowed": True}
    after = raw(server, certs, "GET", "/metrics")[1]
    assert metric(after, "socle_webhook_decisions_total", action="dryrun") == \
        metric(before, "socle_webhook_decisions_total", action="dryrun") + 1


def test_conftest_deny_rule_denies(server, certs):
    resp = review(server, certs, pod("lab", labels={"forbidden": "yes"}))
    assert resp["allowed"] is False
    assert "[main.deny] the label forbidden=yes is not allowed" in resp["status"]["message"]


def test_excluded_namespace_user_and_glob_pass(server, certs):
    assert review(server, certs, pod("p1", ns="kube-system", privileged=True))["allowed"]
    assert review(server, certs, pod("p2", ns="team-a-sandbox", privileged=True))["allowed"]
    assert review(server, certs, pod("p3", privileged=True, user="system:admin"))["allowed"]
    req = pod("p5", privileged=True)
    req["userInfo"]["groups"].append("system:serviceaccounts:infra-ci")
    assert review(server, certs, req)["allowed"]
    assert not review(server, certs, pod("p4", ns="team-a", privileged=True))["allowed"]


def test_delete_is_not_denied_by_controls(server, certs):
    req = pod("gone", privileged=True)
    req["operation"] = "DELETE"
    req["oldObject"], req["object"] = req["object"], None
    assert review(server, certs, req)["allowed"] is True


# --- bad requests -------------------------------------------------------------------------------


@pytest.mark.parametrize(("body", "ctype", "status", "says"), [
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionRe', "application/json", 400,
     "not valid JSON"),
    (b"[1, 2]", "application/json", 400, "must be a JSON object"),
    (b'{"apiVersion": "admission.k8s.io/v1beta1", "kind": "AdmissionReview", '
     b'"request": {"uid": "x"}}', "application/json", 400, "admissionReviewVersions"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"}', "application/json",
     400, "no request"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {}}',
     "application/json", 400, "no uid"),
    (b'{"a": 1}', "text/plain", 400, "Content-Type must be application/json"),
    (b"\xff\xfe{", "application/json", 400, "not"),
    (b"[" * 30_000, "application/json", 400, "nested too deeply"),
    (b'{"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": '
     b'{"uid": "x", "object": {"n": ' + b"1" * 5000 + b"}}}", "application/json", 400,
     "cannot be read"),
])
def test_malformed_reviews_get_a_clear_400(server, certs, body, ctype, status, says):
    got, text = raw(server, certs, "POST", "/validate", body, {"Content-Type": ctype})
    assert got == status
    assert says in json.loads(text)["error"]
    assert review(server, certs, pod("after"))["allowed"] is True  # still serving


def test_deeply_nested_object_is_answered_and_the_server_keeps_serving(server, certs):
    deep: dict[str, Any] = {}
    cur = deep
    for _ in range(900):
        cur["a"] = {}
        cur = cur["a"]
    req = pod("deep")
    req["object"]["spec"]["nested"] = deep
    assert review(server, certs, req)["allowed"] is True
    assert review(server, certs, pod("then", privileged=True))["allowed"] is False


def test_oversized_body_is_413_without_reading_it(server, certs):
    big = b"{" + b" " * (server.settings.max_body + 10) + b"}"
    got, text = raw(server, certs, "POST", "/validate", big,
                    {"Content-Type": "application/json"})
    assert got == 413
    assert "limit is 65536" in json.loads(text)["error"]


def test_truncated_body_is_400(server, certs):
    ctx = ssl.create_default_context(cafile=certs[0])
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s, \
            ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
        tls.sendall(b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 500\r\n\r\n{\"apiVersion\": ")
        data = b""
        while b"\r\n\r\n" not in data or not data.rstrip().endswith(b"}"):
            chunk = tls.recv(4096)  # the server gives up after --read-timeout (2 s)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 400")
    assert b"not received within 2s" in data


def test_pipelined_requests_are_answered_in_order(server, certs):
    ctx = ssl.create_default_context(cafile=certs[0])
    body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": pod("piped", privileged=True)}).encode()
    post = (b"POST /validate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body)) + body
    get = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    last = b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as s, \
            ctx.wrap_socket(s, server_hostname="127.0.0.1") as tls:
        tls.sendall(post + get * 3000 + post + last)  # many in one go: no recursion, no stall
        data = b""
        while True:
            chunk = tls.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.count(b"HTTP/1.1 200 OK") == 3003
    assert data.count(b'"allowed": false') == 2 and data.endswith(b"ready\n")
    assert data.index(b'"allowed": false') < data.index(b"ok\n")


def test_slow_client_does_not_block_others(server, certs):
    # a client that connects and says nothing (not even a TLS hello) holds only its own thread
    with socket.create_connection(("127.0.0.1", server.port), timeout=10):
        t0 = time.monotonic()
        assert review(server, certs, pod("fast"))["allowed"] is True
        assert time.monotonic() - t0 < 1.5


def test_unknown_paths_and_traversal_attempts_read_nothing(server, certs):
    for path in ("/../../../../etc/passwd", "/validate/../../etc/passwd", "/%2e%2e/etc/passwd",
                 "/tags.yaml", "/main.rego"):
        got, text = raw(server, certs, "GET", path)
        assert got == 404
        assert "root:" not in text and "ConstraintTemplate" not in text and "package" not in text
        got, text = raw(server, certs, "POST", path, b"{}", {"Content-Type": "application/json"})
        assert got == 404


def test_policy_cannot_be_made_to_read_files_outside_its_folder(server, certs, tmp_path):
    secret = tmp_path / "secret.yaml"
    secret.write_text("password: hunter2\n")
    for target in (str(secret), "../" * 12 + "etc/passwd", "/etc/passwd"):
        resp = review(server, certs, pod("sneaky", annotations={"socle.test/read": target}))
        text = json.dumps(resp)
        assert "hunter2" not in text and "root:" not in text
        assert resp["allowed"] is False  # the evaluation error falls to failurePolicy Fail
        assert "outside the policy folder" in resp["status"]["message"]
    # inside the folder is fine
    resp = review(server, certs, pod("inside", annotations={"socle.test/read": "allowed.yaml"}))
    assert "read {\"inside\": true}" in resp["status"]["message"]


# --- health and metrics -------------------------------------------------------------------------


def test_health_ready_and_metrics_count_outcomes(server, certs):
    assert raw(server, certs, "GET", "/healthz") == (200, "ok\n")
    assert raw(server, certs, "GET", "/readyz") == (200, "ready\n")
    before = raw(server, certs, "GET", "/metrics")[1]
    review(server, certs, pod("m1", privileged=True))
    review(server, certs, pod("m2"))
    review(server, certs, pod("m3", ns="kube-system"))
    raw(server, certs, "POST", "/validate", b"nope", {"Content-Type": "application/json"})
    status, after = raw(server, certs, "GET", "/metrics")
    assert status == 200
    for outcome in ("denied", "allowed", "excluded", "bad_request"):
        assert metric(after, "socle_webhook_requests_total", outcome=outcome) == \
            metric(before, "socle_webhook_requests_total", outcome=outcome) + 1, outcome
    assert metric(after, "socle_webhook_request_duration_seconds_count") >= 3
    assert metric(after, "socle_webhook_request_duration_seconds_bucket", le="+Inf") == \
        metric(after, "socle_webhook_request_duration_seconds_count")
    assert metric(after, "socle_webhook_policies", kind="constraints") == 4
    assert metric(after, "socle_webhook_policies", kind="controls") == 15
    assert "# TYPE socle_webhook_request_duration_seconds histogram" in after


# --- reload, timeouts ----------------------------------------------------------------------------


def test_reload_picks_up_a_changed_policy_and_keeps_the_old_one_when_broken(tmp_path, certs):
    folder = tmp_path / "pol"
    write_policies(folder)
    srv = start(folder, certs)
    try:
        assert review(srv, certs, pod("a", image="nginx:rc"))["allowed"] is True
        (folder / "more.yaml").write_text(constraint("no-rc", "deny", ["rc"]))
        assert srv.reload_if_changed() is True
        resp = review(srv, certs, pod("b", image="nginx:rc"))
        assert resp["allowed"] is False and "K8sDisallowedTags/no-rc" in resp["status"]["message"]
        # a broken policy: the previous set stays in force
        (folder / "broken.rego").write_text("package main\n\ndeny contains msg if {\n")
        assert srv.reload_if_changed() is False
        assert srv.reload_if_changed() is None  # not retried until the folder changes again
        assert review(srv, certs, pod("c", image="nginx:rc"))["allowed"] is False
        assert review(srv, certs, pod("d"))["allowed"] is True
        metrics = raw(srv, certs, "GET", "/metrics")[1]
        assert metric(metrics, "socle_webhook_policy_reloads_total", result="success") == 1
        assert metric(metrics, "socle_webhook_policy_reloads_total", result="failure") == 1
    finally:
        srv.close()


def test_reload_under_load_drops_no_request(tmp_path, certs):
    import threading

    folder = tmp_path / "pol"
    write_policies(folder)
    srv = start(folder, certs)
    answers: list[dict[str, Any]] = []
    failures: list[str] = []
    stop = threading.Event()

    def hammer() -> None:
        conn = connect(srv, certs)
        i = 0
        while not stop.is_set():
            i += 1
            body = json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                               "request": pod(f"load-{i}")}).encode()
            try:
                conn.request("POST", "/validate", body, {"Content-Type": "application/json"})
                answers.append(json.loads(conn.getresponse().read())["response"])
            except (OSError, http.client.HTTPException) as err:
                failures.append(repr(err))
                conn = connect(srv, certs)
        conn.close()

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for n in range(2):
            time.sleep(0.3)
            (folder / f"extra{n}.yaml").write_text(constraint(f"extra{n}", "deny", [f"x{n}"]))
            assert srv.reload_if_changed() is True
        time.sleep(0.3)
    finally:
        stop.set()
        for t in threads:
            t.join(30)
        srv.close()
    assert failures == []
    assert len(answers) > 20
    assert all(a["allowed"] is True and "warnings" not in a for a in answers), [
        a for a in answers if not a["allowed"] or "warnings" in a][:3]


def test_reloader_polls_the_folder(tmp_path, certs):
    folder = tmp_path / "pol"
    write_policies(folder)
    settings = wh.Settings(policy=str(folder), workers=1, reload_interval=0.2)
    srv = wh.WebhookServer(settings, "127.0.0.1", 0, certs[0], certs[1])
    srv.start()
    try:
        (folder / "tags.yaml").write_text(TEMPLATE + "---\n" + constraint("x", "deny", ["1.25"]))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if not review(srv, certs, pod("e"))["allowed"]:
                break
            time.sleep(0.2)
        assert review(srv, certs, pod("f"))["allowed"] is False
    finally:
        srv.close()


SLOW = """\
package main

deny contains "slow" if {
  input.metadata.labels.slow == "yes"
  count([x | some x in numbers.range(1, 30000000); x == -1]) > 0
}
"""

# compiled to Python (numbers.range is not: that rule runs in regorus, which no signal stops)
SLOW_PYTHON = """\
package main

deny contains "slow" if {
  input.metadata.labels.slow == "yes"
  count([1 | some a in input.spec.n; some b in input.spec.n; a + b == -1]) > 0
}
"""


def slow_pod(name: str) -> dict[str, Any]:
    req = pod(name, labels={"slow": "yes"})
    req["object"]["spec"]["n"] = list(range(3000))
    return req


@pytest.mark.parametrize("policy", ["Fail", "Ignore"])
def test_overrun_answers_per_failure_policy_and_is_counted(tmp_path, certs, policy, capfd):
    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "slow.rego").write_text(SLOW_PYTHON)
    srv = start(folder, certs, timeout=0.5, failure_policy=policy)
    try:
        t0 = time.monotonic()
        resp = review(srv, certs, slow_pod("slow"))
        assert time.monotonic() - t0 < 3
        if policy == "Fail":
            assert resp["allowed"] is False
            assert "took longer than 0.5s" in resp["status"]["message"]
        else:
            assert resp["allowed"] is True
            assert "took longer than 0.5s" in resp["warnings"][0]
        # the interrupted process is replaced; later reviews are answered again
        deadline = time.monotonic() + 30
        while review(srv, certs, pod("next"))["allowed"] is not True or \
                "warnings" in review(srv, certs, pod("next2")):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        metrics = raw(srv, certs, "GET", "/metrics")[1]
        assert metric(metrics, "socle_webhook_timeouts_total") >= 1
    finally:
        srv.close()
    # the server process's log reaches standard error
    assert f"took longer than 0.5s for Pod default/slow (failure policy {policy})" in \
        capfd.readouterr().err


def test_overrun_in_a_native_call_kills_the_process_and_drops_the_connection(tmp_path, certs):
    # regorus holds the interpreter until it returns: the supervisor kills the process just
    # after the budget, the connection drops and the API server applies its failurePolicy
    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "slow.rego").write_text(SLOW)
    srv = start(folder, certs, timeout=0.5, engine="regorus")
    try:
        [first] = srv.pids()
        t0 = time.monotonic()
        with pytest.raises((OSError, http.client.HTTPException)):
            review(srv, certs, pod("slow", labels={"slow": "yes"}))
        assert time.monotonic() - t0 < 3
        assert review(srv, certs, pod("next"))["allowed"] is True  # a new process answers
        assert first not in srv.pids()
        metrics = raw(srv, certs, "GET", "/metrics")[1]
        assert metric(metrics, "socle_webhook_timeouts_total") == 1
    finally:
        srv.close()


def test_close_lets_a_review_in_flight_finish(tmp_path, certs):
    import threading

    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "slow.rego").write_text(SLOW.replace("30000000", "1000000").replace(
        "x == -1]) > 0", "x == -1]) == 0"))
    srv = start(folder, certs, timeout=20)
    kept = connect(srv, certs)  # a kept-alive connection, as the API server keeps them
    kept.request("GET", "/healthz")
    assert kept.getresponse().read() == b"ok\n"
    got: list[dict[str, Any]] = []
    t = threading.Thread(target=lambda: got.append(
        review(srv, certs, pod("inflight", labels={"slow": "yes"}))))
    t.start()
    deadline = time.monotonic() + 10
    while srv.inflight == 0 and time.monotonic() < deadline:  # the review is evaluated
        time.sleep(0.01)
    srv.close()
    t.join(30)
    assert got and got[0]["allowed"] is False
    assert got[0]["status"]["message"] == "denied by socle: [main.deny] slow"
    # after close, kept-alive connections are ended too (not answered by a stopped server)
    with pytest.raises((OSError, http.client.HTTPException)):
        kept.request("GET", "/healthz")
        kept.getresponse().read()
    kept.close()


def test_a_dead_server_process_is_replaced(tmp_path, certs):
    import signal

    folder = tmp_path / "pol"
    write_policies(folder)
    srv = start(folder, certs)
    try:
        [first] = srv.pids()
        os.kill(first, signal.SIGKILL)
        # the listening socket stays open in the supervisor: the connection waits in its
        # backlog until the replacement accepts it
        assert review(srv, certs, pod("orphan"))["allowed"] is True
        resp = review(srv, certs, pod("dev", image="nginx:dev"))
        assert "K8sDisallowedTags/no-dev" in resp["status"]["message"]
        assert srv.pids() and first not in srv.pids()
    finally:
        srv.close()


def test_bad_policy_at_start_is_a_one_line_error(tmp_path, certs):
    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "c.yaml").write_text(constraint("orphan", "deny", ["x"]))
    with pytest.raises(wh.SocleError) as err:
        start(folder, certs)
    assert "no ConstraintTemplate defines the kind 'K8sDisallowedTags'" in str(err.value)
    assert str(folder) in str(err.value)


def test_symlink_out_of_the_folder_is_ignored(tmp_path):
    outside = tmp_path / "outside.rego"
    outside.write_text("package main\n")
    folder = tmp_path / "pol"
    folder.mkdir()
    (folder / "ok.rego").write_text("package main\n")
    os.symlink(outside, folder / "evil.rego")
    assert [rel for rel, _ in wh.policy_files(str(folder))] == ["ok.rego"]


# --- manifests ----------------------------------------------------------------------------------


def test_manifests_agree_with_the_server_on_failure_policy_timeout_and_exclusions():
    opts = wh.ManifestOptions(namespace="socle", service="socle-webhook",
                              failure_policy="Ignore", timeout_seconds=5,
                              exclude_namespaces=["kube-system", "monitoring"])
    objs = {o["kind"]: o for o in wh.manifests(opts)}
    assert set(objs) == {"Issuer", "Certificate", "Service", "Deployment", "NetworkPolicy",
                         "ValidatingWebhookConfiguration"}
    hook = objs["ValidatingWebhookConfiguration"]["webhooks"][0]
    assert hook["failurePolicy"] == "Ignore" and hook["timeoutSeconds"] == 5
    assert hook["sideEffects"] == "None" and hook["admissionReviewVersions"] == ["v1"]
    assert hook["namespaceSelector"]["matchExpressions"][0]["values"] == [
        "kube-system", "monitoring", "socle"]
    args = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[args.index("--failure-policy") + 1] == "Ignore"
    assert float(args[args.index("--timeout") + 1]) == wh.server_budget(5) < 5
    excluded = [args[i + 1] for i, a in enumerate(args) if a == "--exclude-namespace"]
    assert excluded == ["kube-system", "monitoring"]


def test_manifests_deployment_passes_socles_own_controls(tmp_path):
    from socle.security.runner import ScanOptions, scan_paths

    opts = wh.ManifestOptions(namespace="socle", service="socle-webhook")
    path = tmp_path / "webhook.yaml"
    path.write_text(wh.dump_yaml(wh.manifests(opts)))
    report = scan_paths([str(path)], ScanOptions(workers=1))
    # only the image digest is left to the user (the default image names a version tag)
    assert [f"{f.rule_id} {f.message}" for f in report.findings if f.rule_id != "SCL-031"] == []
    assert report.errors == 0


def test_manifests_reject_values_kubernetes_would_reject():
    with pytest.raises(wh.UsageError):
        wh.manifests(wh.ManifestOptions(namespace="n", service="s", timeout_seconds=31))
    with pytest.raises(wh.UsageError):
        wh.manifests(wh.ManifestOptions(namespace="n", service="s", failure_policy="Deny"))


# --- the engine and the audit (no cluster: objects given; tests/cluster reads a real one) -----


def test_unknown_engine_is_a_usage_error_and_the_engine_reaches_create_engine(tmp_path,
                                                                              monkeypatch):
    from socle.policy import engine as engine_mod

    folder = tmp_path / "p"
    write_policies(folder)
    with pytest.raises(wh.UsageError, match="--engine must be one of"):
        wh.WebhookServer(wh.Settings(policy=str(folder), engine="nope"), "127.0.0.1", 0)
    asked: list[str] = []
    real = engine_mod.create_engine

    def spy(name: str = "regorus", *a: Any, **kw: Any) -> Any:
        asked.append(name)
        return real("regorus", *a, **kw)

    monkeypatch.setattr(engine_mod, "ENGINES", (*engine_mod.ENGINES, "fake"))
    monkeypatch.setattr(engine_mod, "create_engine", spy)
    policies = wh.PolicySet(str(folder), wh.Settings(policy=str(folder), engine="fake"))
    assert asked and set(asked) == {"fake"}
    assert policies.evaluate(pod(image="nginx:dev")).deny


def test_audit_reviews_objects_as_gatekeepers_audit_does(tmp_path):
    folder = tmp_path / "p"
    write_policies(folder)
    (folder / "ns.yaml").write_text(
        TEMPLATE.replace("K8sDisallowedTags", "K8sNsTags").replace(
            "k8sdisallowedtags", "k8snstags")
        + "---\n" + constraint("sel", "deny", ["dev"]).replace(
            "K8sDisallowedTags", "K8sNsTags").replace(
            "  match:\n", "  match:\n    namespaceSelector: {matchLabels: {tier: prod}}\n"))
    objects = [pod("a", image="nginx:dev")["object"], pod("b", image="nginx:latest")["object"],
               pod("c", ns="prod", image="nginx:dev")["object"],
               pod("d", ns="kube-system", image="nginx:dev")["object"],
               {"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": "prod", "labels": {"tier": "prod"}}},
               {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}]
    settings = wh.Settings(policy=str(folder), audit_violations_limit=1)
    out = wh.audit(str(folder), settings, objects=objects, context="test")
    constraints = {(c["kind"], c["name"]): c for c in out["audit"]["constraints"]}
    # every constraint is listed, with violations of every action; kube-system is excluded
    assert constraints[("K8sDisallowedTags", "no-dev")]["totalViolations"] == 2
    assert len(constraints[("K8sDisallowedTags", "no-dev")]["violations"]) == 1  # the limit
    assert constraints[("K8sDisallowedTags", "no-latest")]["totalViolations"] == 1
    assert constraints[("K8sDisallowedTags", "no-latest")]["enforcementAction"] == "warn"
    assert constraints[("K8sDisallowedTags", "watch-beta")]["totalViolations"] == 0
    # the namespaceSelector sees the live Namespace (no error, only pod c matches)
    assert constraints[("K8sNsTags", "sel")]["totalViolations"] == 1
    assert constraints[("K8sNsTags", "sel")]["violations"][0]["name"] == "c"
    assert out["audit"]["errors"] == [] and out["audit"]["audited"] == 5
    assert out["schemaVersion"] == 1 and out["command"] == "webhook audit"
    found = {(f["ruleId"], f["resource"]["name"]) for f in out["findings"]}
    assert ("K8sDisallowedTags/no-dev", "a") in found and ("K8sDisallowedTags/no-dev", "d") \
        not in found
    assert all(f["file"] == "cluster:test" for f in out["findings"])

    metrics = wh.Metrics()
    summary = dict(out["audit"], findings=len(out["findings"]))
    metrics.audited(summary, 1000.0, 2.5)
    text = metrics.render()
    assert metric(text, "socle_webhook_audit_constraint_violations", kind="K8sDisallowedTags",
                  name="no-dev", enforcement_action="deny") == 2
    assert metric(text, "socle_webhook_audit_violations", enforcement_action="deny") == 3
    assert metric(text, "socle_webhook_audit_runs_total", result="success") == 1
    assert "socle_webhook_audit_last_success_timestamp_seconds 1002.500" in text
    metrics.audited({"error": "cluster unreachable"}, 2000.0, 0.1)
    text = metrics.render()
    assert metric(text, "socle_webhook_audit_runs_total", result="failure") == 1
    # a failed audit keeps the last good results
    assert "socle_webhook_audit_last_success_timestamp_seconds 1002.500" in text


def test_audit_output_is_replaced_atomically(tmp_path):
    target = tmp_path / "audit.json"
    target.write_text("old")
    wh.write_atomically(str(target), '{"new": true}\n')
    assert json.loads(target.read_text()) == {"new": True}
    assert [p.name for p in tmp_path.iterdir()] == ["audit.json"]


def test_audit_flags_are_checked(tmp_path):
    folder = tmp_path / "p"
    folder.mkdir()
    with pytest.raises(wh.UsageError, match="needs --audit-interval"):
        wh.Settings(policy=str(folder), audit_output=str(tmp_path / "a.json")).check()
    with pytest.raises(wh.UsageError, match="not found"):
        wh.Settings(policy=str(folder), audit_interval=60,
                    audit_output=str(tmp_path / "missing" / "a.json")).check()


def test_audit_process_reports_an_unreachable_cluster_as_an_error(tmp_path):
    folder = tmp_path / "p"
    write_policies(folder)
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n")  # no context at all
    settings = wh.Settings(policy=str(folder), audit_interval=60,
                           kubeconfig=str(kubeconfig))
    got = wh.run_audit_process(str(folder), settings, str(folder), timeout=60)
    assert "error" in got and "Traceback" not in got["error"]


def test_manifests_with_audit_carry_read_only_rbac():
    opts = wh.ManifestOptions(namespace="socle", service="socle-webhook", audit_interval=300)
    objs = {o["kind"]: o for o in wh.manifests(opts)}
    role = objs["ClusterRole"]
    assert role["rules"] == [{"apiGroups": ["*"], "resources": ["*"],
                              "verbs": ["get", "list"]}]
    binding = objs["ClusterRoleBinding"]
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "socle-webhook",
                                    "namespace": "socle"}]
    spec = objs["Deployment"]["spec"]["template"]["spec"]
    assert spec["serviceAccountName"] == "socle-webhook"
    assert spec["automountServiceAccountToken"] is True
    args = spec["containers"][0]["args"]
    assert args[args.index("--audit-interval") + 1] == "300s"
    # without the audit: no token, no RBAC
    plain = {o["kind"] for o in wh.manifests(wh.ManifestOptions(namespace="s", service="w"))}
    assert not plain & {"ClusterRole", "ClusterRoleBinding", "ServiceAccount"}


def test_durations_of_the_audit_interval():
    import argparse

    from socle.cli.webhook import _duration

    assert _duration("90") == 90 and _duration("90s") == 90 and _duration("5m") == 300
    assert _duration("1h30m") == 5400
    with pytest.raises(argparse.ArgumentTypeError):
        _duration("soon")


@pytest.mark.parametrize("engine", ["regorus", "compiled"])
def test_a_confined_engine_is_freed_without_the_collector(tmp_path: Path, engine: str) -> None:
    # its file builtins once held the engine itself: a cycle only the cycle collector freed,
    # on whatever thread it ran, where the regorus binding refuses to drop an engine (it
    # leaks it, and warns "regoruspy::Engine is unsendable")
    import gc
    import weakref

    from socle.policy.conftest import register_builtins
    from socle.policy.engine import create_engine

    gc.collect()
    gc.disable()
    try:
        confined = wh._ConfinedEngine(create_engine(engine, "v1"), str(tmp_path))
        register_builtins(confined)
        gone = weakref.ref(confined)
        del confined
        assert gone() is None
    finally:
        gc.enable()
