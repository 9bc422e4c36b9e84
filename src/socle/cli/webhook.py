"""``socle webhook serve`` and ``socle webhook manifests``: the same policies at admission.

Exit codes: ``serve`` runs until interrupted (0), 2 when the policies or flags are unusable;
``manifests`` prints YAML (0) or 2 on bad flags.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from socle.core.errors import UsageError


def _duration(text: str) -> float:
    """Seconds of ``30``, ``30s``, ``5m``, ``1h``, ``1h30m`` (argparse type)."""
    import re

    t = text.strip().lower()
    if re.fullmatch(r"\d+(\.\d+)?", t):
        return float(t)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", t)
    if not parts or "".join(n + u for n, u in parts) != t:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration (e.g. 90s, 5m, 1h)")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from socle.policy import webhook as wh
    from socle.policy.engine import DEFAULT_ENGINE, ENGINES

    sub = parser.add_subparsers(dest="wh_command", metavar="SUBCOMMAND")
    s = sub.add_parser("serve", help="serve the validating admission webhook over HTTPS",
                       description="Serve AdmissionReviews (admission.k8s.io/v1) on POST "
                                   "/validate with the policies of one folder: Gatekeeper "
                                   "templates and constraints, socle controls, conftest Rego.")
    s.add_argument("--policy", "-p", default="policy", metavar="DIR",
                   help="the policy folder (default ./policy); reloaded when it changes")
    s.add_argument("--tls-cert", dest="tls_cert", default=None, metavar="FILE",
                   help="serving certificate (PEM; chain allowed)")
    s.add_argument("--tls-key", dest="tls_key", default=None, metavar="FILE",
                   help="its private key (PEM)")
    s.add_argument("--insecure-http", dest="insecure_http", action="store_true",
                   help="serve plain HTTP (tests and local trials only; the API server needs "
                        "HTTPS)")
    s.add_argument("--address", default="0.0.0.0", help="listen address (default 0.0.0.0)")
    s.add_argument("--port", type=int, default=wh.DEFAULT_PORT,
                   help=f"listen port (default {wh.DEFAULT_PORT}; 0 picks a free one)")
    g = s.add_argument_group("decisions")
    g.add_argument("--framework", action="append", default=[],
                   help="also run the bundled controls of this framework (nsa, cis, mitre, "
                        "pss-baseline, pss-restricted; repeatable)")
    g.add_argument("--severity-threshold", dest="severity_threshold", default="high",
                   help="control findings at or above this severity deny (default high)")
    g.add_argument("--warn-threshold", dest="warn_threshold", default=None,
                   help="control findings below the deny threshold and at or above this one "
                        "become warnings (default: none)")
    g.add_argument("--honour-inline-exceptions", dest="honour_inline", action="store_true",
                   help="let the object's own socle exception annotations excuse findings "
                        "(off: whoever creates the object could excuse it)")
    g.add_argument("--failure-policy", dest="failure_policy", default=wh.DEFAULT_FAILURE_POLICY,
                   choices=wh.FAILURE_POLICIES,
                   help="on timeout or evaluation error: Fail denies, Ignore allows with a "
                        "warning (match the webhook configuration's failurePolicy)")
    g.add_argument("--timeout", type=float, default=None,
                   help="hard budget per review in seconds (default "
                        f"{wh.server_budget(wh.DEFAULT_TIMEOUT_SECONDS):g}: below the "
                        f"configuration's timeoutSeconds {wh.DEFAULT_TIMEOUT_SECONDS})")
    g.add_argument("--exclude-namespace", dest="exclude_namespace", action="append",
                   default=None, metavar="NS",
                   help="namespaces (globs) never reviewed (repeatable; default kube-system)")
    g.add_argument("--exclude-user", dest="exclude_user", action="append", default=[],
                   metavar="USER", help="users (globs) never reviewed (repeatable)")
    g.add_argument("--exclude-group", dest="exclude_group", action="append", default=[],
                   metavar="GROUP", help="groups (globs) never reviewed (repeatable)")
    g.add_argument("--engine", default=DEFAULT_ENGINE, choices=ENGINES,
                   help=f"Rego engine (default {DEFAULT_ENGINE})")
    a = s.add_argument_group("audit of the live cluster")
    a.add_argument("--audit-interval", dest="audit_interval", type=_duration, default=0.0,
                   metavar="DURATION",
                   help="also audit every readable resource of the cluster this often (e.g. "
                        "60s, 5m, 1h; default 0: no audit); results on /metrics")
    a.add_argument("--audit-output", dest="audit_output", default=None, metavar="PATH",
                   help="write the last audit's report here (JSON of `socle scan -o json` plus "
                        "an `audit` section; replaced atomically)")
    a.add_argument("--audit-violations-limit", dest="audit_violations_limit", type=int,
                   default=20, metavar="N",
                   help="violations listed per constraint in the report (all are counted; "
                        "default 20, as Gatekeeper's --constraint-violations-limit)")
    a.add_argument("--kubeconfig", default=None, metavar="PATH",
                   help="kubeconfig for the audit (default: the pod's service account in a "
                        "cluster, else $KUBECONFIG or ~/.kube/config)")
    a.add_argument("--context", dest="kube_context", default=None, metavar="NAME",
                   help="kubeconfig context for the audit (default: the current one)")
    r = s.add_argument_group("limits")
    r.add_argument("--workers", type=int, default=0,
                   help="server processes, each doing TLS, HTTP and evaluation (default one "
                        "per core)")
    r.add_argument("--max-body-bytes", dest="max_body", type=int, default=wh.DEFAULT_MAX_BODY,
                   help=f"largest request body (default {wh.DEFAULT_MAX_BODY}); more is 413")
    r.add_argument("--read-timeout", dest="read_timeout", type=float, default=10.0,
                   help="socket timeout for handshakes, headers and bodies (default 10)")
    r.add_argument("--max-connections", dest="max_connections", type=int, default=256,
                   help="open connections at most, shared out among the server processes "
                        "(default 256)")
    r.add_argument("--reload-interval", dest="reload_interval", type=float, default=5.0,
                   help="seconds between checks of the policy folder (default 5; 0: never)")
    s.add_argument("-v", "--verbose", action="store_true", help="log every request")

    m = sub.add_parser("manifests", help="print the Kubernetes objects that run the webhook",
                       description="Print a ValidatingWebhookConfiguration, Service, Deployment "
                                   "and certificate objects; the Deployment's arguments carry "
                                   "the same failure policy, timeout and exclusions.")
    m.add_argument("--namespace", "-n", required=True, help="namespace of the webhook")
    m.add_argument("--service", required=True, help="name of the Service (and the objects)")
    m.add_argument("--failure-policy", dest="failure_policy", default=wh.DEFAULT_FAILURE_POLICY,
                   choices=wh.FAILURE_POLICIES, help="Fail (default) or Ignore")
    m.add_argument("--timeout-seconds", dest="timeout_seconds", type=int,
                   default=wh.DEFAULT_TIMEOUT_SECONDS,
                   help=f"the API server's timeout (1-30, default {wh.DEFAULT_TIMEOUT_SECONDS});"
                        " the server's --timeout is set just below it")
    m.add_argument("--exclude-namespace", dest="exclude_namespace", action="append",
                   default=None, metavar="NS",
                   help="namespaces never sent to the webhook (default kube-system; the "
                        "webhook's own namespace is always excluded)")
    m.add_argument("--framework", action="append", default=[],
                   help="bundled controls to run (passed to serve)")
    m.add_argument("--severity-threshold", dest="severity_threshold", default="high")
    m.add_argument("--image", default="",
                   help="the socle container image (default: this version's; pin it by "
                        "digest)")
    m.add_argument("--replicas", type=int, default=2)
    m.add_argument("--cert", choices=("cert-manager", "secret"), default="cert-manager",
                   help="cert-manager Issuer+Certificate (default), or a Secret to fill in")
    m.add_argument("--engine", default=DEFAULT_ENGINE, choices=ENGINES,
                   help=f"Rego engine (passed to serve; default {DEFAULT_ENGINE})")
    m.add_argument("--audit-interval", dest="audit_interval", type=_duration, default=0.0,
                   metavar="DURATION",
                   help="also audit the cluster this often (passed to serve; adds a "
                        "ServiceAccount and a read-only ClusterRole: get/list on every kind)")


def run(args: argparse.Namespace) -> int:
    if args.wh_command == "serve":
        return _serve(args)
    if args.wh_command == "manifests":
        return _manifests(args)
    raise UsageError("a subcommand is required: serve or manifests")


def _serve(args: argparse.Namespace) -> int:
    from socle.policy import webhook as wh

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)
    if not args.insecure_http and not (args.tls_cert and args.tls_key):
        raise UsageError("--tls-cert and --tls-key are required (the API server only calls "
                         "HTTPS webhooks); --insecure-http for local trials")
    settings = wh.Settings(
        policy=args.policy, framework=list(args.framework),
        severity_threshold=args.severity_threshold, warn_threshold=args.warn_threshold,
        failure_policy=args.failure_policy,
        timeout=args.timeout if args.timeout is not None
        else wh.server_budget(wh.DEFAULT_TIMEOUT_SECONDS),
        exclude_namespaces=list(args.exclude_namespace) if args.exclude_namespace is not None
        else list(wh.DEFAULT_EXCLUDED_NAMESPACES),
        exclude_users=list(args.exclude_user), exclude_groups=list(args.exclude_group),
        honour_inline_exceptions=args.honour_inline, workers=args.workers,
        max_body=args.max_body, read_timeout=args.read_timeout,
        max_connections=args.max_connections, reload_interval=args.reload_interval,
        engine=args.engine, audit_interval=args.audit_interval, audit_output=args.audit_output,
        audit_violations_limit=args.audit_violations_limit, kubeconfig=args.kubeconfig,
        kube_context=args.kube_context)
    try:
        server = wh.WebhookServer(settings, args.address, args.port,
                                  None if args.insecure_http else args.tls_cert,
                                  None if args.insecure_http else args.tls_key)
    except OSError as err:
        raise UsageError(f"cannot listen on {args.address}:{args.port}: {err.strerror}") \
            from None

    def stop(signum: int, frame: Any) -> None:
        server.shutdown()

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.close()
    return 0


def _manifests(args: argparse.Namespace) -> int:
    from socle.policy import webhook as wh

    opts = wh.ManifestOptions(
        namespace=args.namespace, service=args.service, failure_policy=args.failure_policy,
        timeout_seconds=args.timeout_seconds,
        exclude_namespaces=list(args.exclude_namespace) if args.exclude_namespace is not None
        else list(wh.DEFAULT_EXCLUDED_NAMESPACES),
        image=args.image, framework=list(args.framework),
        severity_threshold=args.severity_threshold, cert=args.cert, replicas=args.replicas,
        engine=args.engine, audit_interval=args.audit_interval)
    objs = wh.manifests(opts)
    if args.cert == "secret":
        sys.stdout.write(wh.secret_instructions(opts))
    sys.stdout.write(wh.dump_yaml(objs))
    return 0
