#!/usr/bin/env python3
"""Admission webhook load: ``socle webhook serve`` on loopback under a bounded load.

    .venv/bin/python bench/webhook/run.py                       # vegeta when installed
    .venv/bin/python bench/webhook/run.py --policies 0 --repeat 3   # the server's own cost
    .venv/bin/python bench/webhook/run.py --client python --reviews 500 --concurrency 8

With vegeta (Go: ``go install github.com/tsenart/vegeta/v12@v12.13.0``; found on $VEGETA,
$PATH or ~/.cache/socle-ci/bin) two attacks are made: a closed loop at concurrency 32 (the
throughput) and an open loop at --rate (1,000/s) with at most 32 in flight (p50/p99); the
server's CPU per review is read from /proc. Without it the Python client below is used.

The server runs in its own process (HTTPS, generated certificate, default process count) with 50
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
import logging, signal, sys
logging.basicConfig(level=logging.WARNING)
from socle.policy import webhook as wh
s = wh.Settings(policy=sys.argv[1], framework=["pss-baseline"] if sys.argv[7] == "1" else [],
                reload_interval=0, workers=int(sys.argv[5]), engine=sys.argv[6])
srv = wh.WebhookServer(s, "127.0.0.1", int(sys.argv[4]), sys.argv[2], sys.argv[3])
srv.start()
signal.signal(signal.SIGTERM, lambda *a: srv.shutdown())
print(srv.port, srv.summary, flush=True)
srv.serve_forever()
"""


def vegeta_path() -> str | None:
    """The vegeta load generator (Go), from $VEGETA, $PATH or the CI tool cache."""
    for cand in (os.environ.get("VEGETA"), shutil.which("vegeta"),
                 os.path.expanduser("~/.cache/socle-ci/bin/vegeta")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def vegeta_run(vegeta: str, work: str, port: int, cert: str, bodies: list[bytes],
               rate: int, concurrency: int, seconds: float) -> dict[str, Any]:
    """One vegeta attack over HTTPS with kept-alive HTTP/1.1 connections: ``rate`` 0 is a
    closed loop (``concurrency`` workers, each sends when its answer came), else an open loop
    at ``rate``/s with at most ``concurrency`` requests in flight."""
    import base64

    targets = os.path.join(work, "targets.jsonl")
    with open(targets, "w") as fh:
        for b in bodies:
            fh.write(json.dumps({"method": "POST", "url": f"https://127.0.0.1:{port}/validate",
                                 "header": {"Content-Type": ["application/json"]},
                                 "body": base64.b64encode(b).decode()}) + "\n")
    results = os.path.join(work, "results.bin")
    cmd = [vegeta, "attack", "-format=json", f"-targets={targets}", f"-root-certs={cert}",
           "-http2=false", "-keepalive=true", f"-duration={seconds:g}s",
           f"-workers={concurrency}", f"-max-workers={concurrency}",
           f"-max-connections={concurrency}", f"-rate={rate}/s" if rate else "-rate=0",
           f"-output={results}"]
    subprocess.run(cmd, check=True, capture_output=True)
    rep = subprocess.run([vegeta, "report", "-type=json", results], check=True,
                         capture_output=True, text=True).stdout
    data = json.loads(rep)
    lat = data["latencies"]
    return {"mode": "closed" if not rate else "open", "rate": rate,
            "concurrency": concurrency, "requests": data["requests"],
            "reviews_per_s": round(data["throughput"], 1),
            "offered_per_s": round(data["rate"], 1),
            "p50_ms": round(lat["50th"] / 1e6, 2), "p90_ms": round(lat["90th"] / 1e6, 2),
            "p99_ms": round(lat["99th"] / 1e6, 2), "max_ms": round(lat["max"] / 1e6, 2),
            "success": data["success"], "status_codes": data["status_codes"],
            "errors": data.get("errors") or []}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reviews", type=int, default=5000,
                    help="Python client: reviews to send (default 5000)")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--workers", type=int, default=0, help="server processes (default: cores)")
    ap.add_argument("--engine", default=None,
                    help="Rego engine of the server (default: socle's default engine)")
    ap.add_argument("--policies", type=int, choices=(0, 50), default=50,
                    help="50 (default) or 0 (the server's own overhead)")
    ap.add_argument("--client", choices=("auto", "vegeta", "python"), default="auto",
                    help="load generator: vegeta (Go; default when found) or the Python "
                         "client")
    ap.add_argument("--seconds", type=float, default=10.0,
                    help="vegeta: length of each attack (default 10)")
    ap.add_argument("--rate", type=int, default=1000,
                    help="vegeta: the open loop's rate per second (default 1000)")
    ap.add_argument("--repeat", type=int, default=1,
                    help="vegeta: attacks of each kind; medians are reported (default 1)")
    ap.add_argument("--json", dest="json_out", default=None, help="also write results here")
    args = ap.parse_args()
    if args.engine is None:
        sys.path.insert(0, os.path.join(ROOT, "src"))
        from socle.policy.engine import DEFAULT_ENGINE

        args.engine = DEFAULT_ENGINE
    vegeta = vegeta_path() if args.client in ("auto", "vegeta") else None
    if args.client == "vegeta" and vegeta is None:
        print("vegeta not found: go install github.com/tsenart/vegeta/v12@v12.13.0",
              file=sys.stderr)
        return 2
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
    own = write_policies(folder) if args.policies else 0
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"))
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, folder, cert, key, "0",
                             str(args.workers), args.engine, "1" if args.policies else "0"],
                            stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split(" ", 1)
        port = int(line[0])
        startup = time.monotonic() - t0
        print(f"server ready in {startup:.2f}s on port {port}: {line[1].strip()} "
              f"({own} Gatekeeper constraints + conftest rules, plus pss-baseline controls)")
        ctx = ssl.create_default_context(cafile=cert)
        if vegeta is not None:
            return run_vegeta(args, vegeta, work, port, cert, ctx, startup, proc.pid)
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


def server_cpu(port: int, ctx: ssl.SSLContext) -> tuple[int, float]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    conn.request("GET", "/metrics")
    metrics = conn.getresponse().read().decode()
    conn.close()
    m = re.search(r"^socle_webhook_request_duration_seconds_count (\S+)$", metrics, re.M)
    t = re.search(r"^socle_webhook_request_duration_seconds_sum (\S+)$", metrics, re.M)
    return (int(float(m.group(1))) if m else 0, float(t.group(1)) if t else 0.0)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def runqueue_wait(pid: int) -> float:
    """Seconds ``pid`` spent runnable but waiting for a CPU (Linux /proc schedstat): what
    the other jobs of a shared machine cost it."""
    try:
        with open(f"/proc/{pid}/schedstat") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                out += [int(x) for x in fh.read().split()]
    except OSError:
        pass
    return out


def run_vegeta(args: argparse.Namespace, vegeta: str, work: str, port: int, cert: str,
               ctx: ssl.SSLContext, startup: float, server_pid: int) -> int:
    import statistics

    bodies = [review(i) for i in range(1000)]
    # warm up every worker (first evaluations resolve rules lazily)
    vegeta_run(vegeta, work, port, cert, bodies, 200, args.concurrency, 2)
    closed, opened = [], []
    workers = children(server_pid)
    for _ in range(args.repeat):
        front0 = cpu_seconds(server_pid)
        work0 = sum(cpu_seconds(w) for w in workers)
        closed.append(vegeta_run(vegeta, work, port, cert, bodies, 0, args.concurrency,
                                 args.seconds))
        n = closed[-1]["requests"]
        closed[-1]["cpu_ms_per_review"] = {
            "supervisor": round((cpu_seconds(server_pid) - front0) * 1000 / n, 3),
            "servers": round((sum(cpu_seconds(w) for w in workers) - work0) * 1000 / n, 3)}
        wait0 = sum(runqueue_wait(w) for w in workers)
        opened.append(vegeta_run(vegeta, work, port, cert, bodies, args.rate,
                                 args.concurrency, args.seconds))
        opened[-1]["runqueue_wait_ms_per_review"] = round(
            (sum(runqueue_wait(w) for w in workers) - wait0) * 1000 / opened[-1]["requests"], 3)
    count, total = server_cpu(port, ctx)

    def med(runs: list[dict[str, Any]], key: str) -> float:
        return round(statistics.median(r[key] for r in runs), 2)

    result = {"client": "vegeta", "engine": args.engine, "policies": args.policies,
              "cores": os.cpu_count(), "python": platform.python_version(),
              "startup_s": round(startup, 2), "closed_loop": closed, "open_loop": opened,
              "server_mean_ms": round(total / count * 1000, 3) if count else None}
    print(json.dumps(result, indent=2))
    tput = med(closed, "reviews_per_s")
    p50, p99 = med(opened, "p50_ms"), med(opened, "p99_ms")
    achieved = med(opened, "reviews_per_s")
    ok = all(r["success"] == 1 for r in closed + opened)
    print(f"medians of {args.repeat}: closed loop c={args.concurrency}: {tput:g} reviews/s; "
          f"open loop {args.rate}/s (achieved {achieved:g}/s): p50 {p50:g} ms, p99 {p99:g} ms"
          f"; all answered 200: {ok}")
    print("server CPU per review (closed loop): supervisor {} ms, server processes {} ms"
          .format(statistics.median(r["cpu_ms_per_review"]["supervisor"] for r in closed),
                  statistics.median(r["cpu_ms_per_review"]["servers"] for r in closed)))
    print("open loop: server processes waited {} ms per review for a CPU (run queue; other "
          "jobs on the machine)".format(statistics.median(
              r["runqueue_wait_ms_per_review"] for r in opened)))
    latency_ok = p99 < 10 and achieved >= 0.98 * args.rate
    print(f"vs target: throughput {tput / 1000:.2f}x of 1,000/s "
          f"({'met' if tput >= 1000 else 'NOT met'}); p99 at {args.rate}/s {p99:g} ms = "
          f"{p99 / 10:.2f}x of the 10 ms limit ({'met' if latency_ok else 'NOT met'})")
    if args.json_out:
        with open(args.json_out, "w") as fh:
            json.dump(result, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
