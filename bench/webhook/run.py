#!/usr/bin/env python3
"""Admission webhook load: ``socle webhook serve`` on loopback under a bounded load.

    .venv/bin/python bench/webhook/run.py                       # 5,000 reviews, concurrency 32
    .venv/bin/python bench/webhook/run.py --reviews 500 --concurrency 8

The server runs in its own process (HTTPS, generated certificate, default worker count) with 50
policies: 20 Gatekeeper constraints over 4 templates (Rego), the 15 bundled controls of
pss-baseline, and 15 conftest rules. The client keeps one TLS connection per thread (as the API
server keeps its connections alive) and sends a mix of AdmissionReviews: compliant pods (most),
privileged pods (denied), ``:latest`` pods (warned) and Deployments. Latency is measured by the
client, from sending to the full answer; the server's own histogram is printed too. Targets:
1,000 reviews/s and p99 < 10 ms on 2 cores. The client shares the cores with the server.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

TEMPLATES = {
    "K8sDisallowedTags": ("tags", """\
        package k8sdisallowedtags
        violation[{"msg": msg}] {
          c := input.review.object.spec.containers[_]
          t := input.parameters.values[_]
          endswith(c.image, concat("", [":", t]))
          msg := sprintf("container <%v> uses a disallowed tag <%v>", [c.name, c.image])
        }"""),
    "K8sRequiredLabels": ("labels", """\
        package k8srequiredlabels
        violation[{"msg": msg}] {
          l := input.parameters.values[_]
          not input.review.object.metadata.labels[l]
          msg := sprintf("missing label %v", [l])
        }"""),
    "K8sAllowedRepos": ("repos", """\
        package k8sallowedrepos
        violation[{"msg": msg}] {
          c := input.review.object.spec.containers[_]
          not any_prefix(c.image)
          msg := sprintf("container <%v> image <%v> is not from an allowed repo", [c.name, c.image])
        }
        any_prefix(img) { startswith(img, input.parameters.values[_]) }"""),
    "K8sBlockedNames": ("names", """\
        package k8sblockednames
        violation[{"msg": msg}] {
          input.review.object.metadata.name == input.parameters.values[_]
          msg := sprintf("name %v is blocked", [input.review.object.metadata.name])
        }"""),
}


def write_policies(folder: str) -> int:
    docs = []
    for kind, (_, rego) in TEMPLATES.items():
        body = "\n".join("        " + line.strip() if line.strip() else ""
                         for line in rego.splitlines())
        docs.append(f"""apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: {kind.lower()}
spec:
  crd:
    spec:
      names:
        kind: {kind}
  targets:
    - target: admission.k8s.gatekeeper.sh
      rego: |
{body}
""")
    n = 0
    for i in range(5):
        for kind, (param, _) in TEMPLATES.items():
            values = {"tags": ["latest"] if i == 0 else [f"dev{i}"],
                      "labels": ["app"] if i == 0 else [],
                      "repos": ["", "docker.io/"],
                      "names": [f"blocked-{i}"]}[param]
            action = "warn" if (kind == "K8sDisallowedTags" and i == 0) else "deny"
            docs.append(f"""apiVersion: constraints.gatekeeper.sh/v1beta1
kind: {kind}
metadata:
  name: c{i}-{param}
spec:
  enforcementAction: {action}
  match:
    kinds: [{{apiGroups: ["", "apps"], kinds: ["Pod", "Deployment"]}}]
  parameters:
    values: {json.dumps(values)}
""")
            n += 1
    with open(os.path.join(folder, "gatekeeper.yaml"), "w") as fh:
        fh.write("---\n".join(docs))
    rules = ["package main\n"]
    for i in range(15):
        rules.append(f"""deny contains msg if {{
  input.metadata.annotations["bench/forbidden-{i}"]
  msg := "annotation bench/forbidden-{i} is not allowed"
}}
""")
    with open(os.path.join(folder, "main.rego"), "w") as fh:
        fh.write("\n".join(rules))
    return n + 15


def pod(i: int, privileged: bool = False, image: str = "nginx:1.25") -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"web-{i}", "namespace": "bench", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "app", "image": image, "resources": {
                "limits": {"cpu": "1", "memory": "128Mi"}},
                "securityContext": {"privileged": privileged}}]}}


def review(i: int) -> bytes:
    mod = i % 10
    if mod == 7:
        obj = pod(i, privileged=True)
    elif mod == 8:
        obj = pod(i, image="nginx:latest")
    elif mod == 9:
        obj = {"apiVersion": "apps/v1", "kind": "Deployment",
               "metadata": {"name": f"web-{i}", "namespace": "bench", "labels": {"app": "w"}},
               "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "w"}},
                        "template": {"metadata": {"labels": {"app": "w"}},
                                     "spec": pod(i)["spec"]}}}
    else:
        obj = pod(i)
    group, _, version = obj["apiVersion"].rpartition("/")
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {
                           "uid": f"uid-{i}", "operation": "CREATE", "namespace": "bench",
                           "name": obj["metadata"]["name"],
                           "kind": {"group": group, "version": version, "kind": obj["kind"]},
                           "resource": {"group": group, "version": version,
                                        "resource": obj["kind"].lower() + "s"},
                           "userInfo": {"username": "bench", "groups": ["system:authenticated"]},
                           "object": obj}}).encode()


SERVER = """
import logging, signal, sys, threading
logging.basicConfig(level=logging.WARNING)
from socle.policy import webhook as wh
s = wh.Settings(policy=sys.argv[1], framework=["pss-baseline"], reload_interval=0,
                workers=int(sys.argv[5]))
srv = wh.WebhookServer(s, "127.0.0.1", int(sys.argv[4]), sys.argv[2], sys.argv[3])
srv.load()
signal.signal(signal.SIGTERM,
              lambda *a: threading.Thread(target=srv.httpd.shutdown, daemon=True).start())
print(srv.port, srv.pool.summary, flush=True)
try:
    srv.httpd.serve_forever(poll_interval=0.2)
finally:
    srv.close()
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reviews", type=int, default=5000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=0, help="server workers (default: cores)")
    ap.add_argument("--json", dest="json_out", default=None, help="also write results here")
    args = ap.parse_args()
    if shutil.which("openssl") is None:
        print("needs the openssl CLI", file=sys.stderr)
        return 2
    work = tempfile.mkdtemp(prefix="socle-bench-webhook-")
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key,
                    "-out", cert], check=True, capture_output=True)
    folder = os.path.join(work, "policies")
    os.mkdir(folder)
    own = write_policies(folder)
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, folder, cert, key, "0",
                             str(args.workers)], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split(" ", 1)
        port = int(line[0])
        startup = time.monotonic() - t0
        print(f"server ready in {startup:.2f}s on port {port}: {line[1].strip()} "
              f"({own} Gatekeeper constraints + conftest rules, plus pss-baseline controls)")
        ctx = ssl.create_default_context(cafile=cert)
        bodies = [review(i) for i in range(args.reviews)]
        latencies: list[float] = []
        outcomes: dict[str, int] = {}
        errors: list[str] = []
        lock = threading.Lock()
        next_i = [0]

        def client() -> None:
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
            mine: list[float] = []
            seen: dict[str, int] = {}
            while True:
                with lock:
                    i = next_i[0]
                    next_i[0] += 1
                if i >= len(bodies):
                    break
                t = time.perf_counter()
                try:
                    conn.request("POST", "/validate", bodies[i],
                                 {"Content-Type": "application/json"})
                    resp = conn.getresponse()
                    data = resp.read()
                except (OSError, http.client.HTTPException) as err:
                    with lock:
                        errors.append(str(err))
                    conn.close()
                    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx,
                                                       timeout=30)
                    continue
                mine.append(time.perf_counter() - t)
                r = json.loads(data)["response"]
                k = "allowed" if r["allowed"] else "denied"
                if r.get("warnings"):
                    k += "+warnings"
                seen[k] = seen.get(k, 0) + 1
            conn.close()
            with lock:
                latencies.extend(mine)
                for k, v in seen.items():
                    outcomes[k] = outcomes.get(k, 0) + v

        # warm up every worker (first evaluations resolve rules lazily)
        warm = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        for i in range(40):
            warm.request("POST", "/validate", review(i), {"Content-Type": "application/json"})
            warm.getresponse().read()
        warm.close()
        threads = [threading.Thread(target=client) for _ in range(args.concurrency)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        wall = time.perf_counter() - t
        latencies.sort()

        def q(p: float) -> float:
            return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

        conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
        conn.request("GET", "/metrics")
        metrics = conn.getresponse().read().decode()
        conn.close()
        count = float(re.search(r"^socle_webhook_request_duration_seconds_count (\S+)$",
                                metrics, re.M).group(1))  # type: ignore[union-attr]
        total = float(re.search(r"^socle_webhook_request_duration_seconds_sum (\S+)$",
                                metrics, re.M).group(1))  # type: ignore[union-attr]
        result = {
            "reviews": len(latencies), "concurrency": args.concurrency, "errors": len(errors),
            "wall_s": round(wall, 3), "reviews_per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(q(0.50), 2), "p90_ms": round(q(0.90), 2),
            "p99_ms": round(q(0.99), 2), "max_ms": round(latencies[-1] * 1000, 2),
            "server_mean_ms": round(total / count * 1000, 2) if count else None,
            "outcomes": outcomes, "cores": os.cpu_count(), "python": platform.python_version(),
            "startup_s": round(startup, 2),
        }
        print(json.dumps(result, indent=2))
        rate_ok = result["reviews_per_s"] >= 1000
        print(f"targets: >= 1000 reviews/s: {'met' if rate_ok else 'NOT met'}"
              f"; p99 < 10 ms: {'met' if result['p99_ms'] < 10 else 'NOT met'}")
        if args.json_out:
            with open(args.json_out, "w") as fh:
                json.dump(result, fh, indent=2)
        return 0
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
