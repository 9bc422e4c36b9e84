"""``socle scan``: security posture of manifests against NSA/CISA, CIS, MITRE ATT&CK and PSS."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from socle.cli.common import (
    add_output_arguments,
    apply_config,
    as_list,
    emit,
    say_if_nothing_checked,
)
from socle.core.errors import UsageError
from socle.core.finding import Report, Severity
from socle.outputs import shows
from socle.policy.engine import DEFAULT_ENGINE, ENGINES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders (recursively: .yaml, .yml, .json); - for stdin")
    g = p.add_argument_group("controls")
    g.add_argument("--framework", dest="framework", action="append", default=None,
                   metavar="NAME", help="nsa, mitre, cis, pss-baseline, pss-restricted or all "
                   "(repeatable or comma-separated; default: every control)")
    g.add_argument("--framework-file", dest="framework_file", action="append", default=None,
                   metavar="FILE", help="a custom framework (YAML: name, title, controls)")
    g.add_argument("--controls", dest="controls", action="append", default=None,
                   metavar="IDS", help="only these controls (ids or names, comma-separated; "
                   "Kubescape's C-0057 or Checkov's CKV_K8S_16 too)")
    g.add_argument("--exclude-controls", dest="exclude_controls", action="append",
                   default=None, metavar="IDS", help="skip these controls (the same ids)")
    g.add_argument("--controls-dir", dest="controls_dir", action="append", default=None,
                   metavar="DIR", help="more controls, same layout as the bundled ones")
    g.add_argument("--no-bundled-controls", dest="no_bundled_controls", action="store_true",
                   default=None, help="only the controls of --controls-dir")
    g.add_argument("--input", dest="input_flags", action="append", default=None,
                   metavar="NAME=VALUE", help="a control input, e.g. "
                   "'allowedRegistries=[registry.example.com]' (YAML value; overrides "
                   "socle.yaml scan.inputs)")
    g.add_argument("--exceptions", dest="exceptions", default=None, metavar="FILE",
                   help="exceptions file (YAML list of {controls, kinds, namespaces, names, "
                        "labels, reason, until}), or Kubescape's exceptions.json as it is")
    g.add_argument("--engine", dest="engine", choices=ENGINES, default=None,
                   help=f"Rego engine (default {DEFAULT_ENGINE}; opa for reference)")
    g.add_argument("-n", "--workers", dest="workers", type=int, default=None, metavar="N",
                   help="processes (default: one per core this run may use, counting a "
                        "container's CPU limit)")
    g.add_argument("--ignore-filename-pattern", dest="ignore_filename_pattern",
                   action="append", default=None, metavar="REGEX",
                   help="regular expression of paths to ignore (repeatable)")
    g = p.add_argument_group("gates")
    g.add_argument("--severity-threshold", dest="severity_threshold", default=None,
                   help="lowest severity that fails the run: low, medium, high, critical "
                        "(default low)")
    g.add_argument("--compliance-threshold", dest="compliance_threshold", type=float,
                   default=None, metavar="0-100",
                   help="fail when a compliance score (each framework asked for, else the "
                        "overall one) is below this")
    g = p.add_argument_group("fixing")
    g.add_argument("--fix", dest="fix", action="store_true", default=None,
                   help="apply the controls' fixes to the files (comments kept), then "
                        "report what is left")
    g.add_argument("--dry-run", dest="dry_run", action="store_true", default=None,
                   help="with --fix: print a unified diff, write nothing")
    g = p.add_argument_group("live cluster")
    g.add_argument("--cluster", dest="cluster", action="store_true", default=None,
                   help="scan the resources of a live cluster (read through the Kubernetes "
                        "API) instead of files")
    g.add_argument("--kubeconfig", dest="kubeconfig", default=None, metavar="PATH",
                   help="with --cluster: kubeconfig file (default $KUBECONFIG, then "
                        "~/.kube/config)")
    g.add_argument("--context", dest="context", default=None, metavar="NAME",
                   help="with --cluster: kubeconfig context (default: the current one)")
    g.add_argument("--namespace", dest="namespace", default=None, metavar="NS",
                   help="with --cluster: only this namespace (default: every namespace and "
                        "the cluster-scoped resources)")
    p.set_defaults(inputs=None)
    add_output_arguments(p)


def _inputs(args: argparse.Namespace, config_path: str | None) -> dict[str, Any]:
    from socle.formats.yaml import load_all

    out: dict[str, Any] = {}
    if args.inputs is not None:
        if not isinstance(args.inputs, dict):
            raise UsageError("scan.inputs must be a mapping of input names to values",
                             config_path)
        out.update(args.inputs)
    for item in as_list(args.input_flags):
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"--input {item!r}: expected NAME=VALUE")
        try:
            values = load_all(raw) if raw.strip() else [""]
        except Exception as err:
            raise UsageError(f"--input {name}: {err}") from None
        out[name.strip()] = values[0] if values else ""
    return out


def _gate(report: Report, threshold: Severity, compliance: float | None) -> tuple[int, str]:
    if report.errors:
        return 2, ""
    code = 0
    if any(f.severity >= threshold for f in report.findings if f.source == "security"):
        code = 1
    why = ""
    scores = report.extra.get("scores")
    if compliance is not None and scores is not None:
        data = scores.to_dict()
        frameworks = data["frameworks"]
        asked = report.extra.get("asked_frameworks") or []
        checked = ({n: frameworks[n]["complianceScore"] for n in asked if n in frameworks}
                   or {"overall": data["overall"]["complianceScore"]})
        low = {n: s for n, s in checked.items() if s < compliance}
        if low:
            code = 1
            why = "compliance below {:g}%: {}".format(
                compliance, ", ".join(f"{n} {s:g}%" for n, s in sorted(low.items())))
    return code, why


def text_summary(report: Report, stream: TextIO) -> None:
    scores = report.extra.get("scores")
    if scores is None:
        return
    data = scores.to_dict()
    excepted = len(report.extra.get("excepted") or [])
    counts: dict[str, int] = {}
    for f in report.findings:
        if f.source == "security":
            counts[str(f.severity)] = counts.get(str(f.severity), 0) + 1
    by_sev = ", ".join(f"{counts.get(s, 0)} {s}" for s in ("critical", "high", "medium", "low"))
    o = data["overall"]
    stream.write(f"Controls: {o['controls']['failed']} failed, {o['controls']['passed']} "
                 f"passed, {o['controls']['irrelevant']} not applicable; findings: {by_sev}"
                 f"; excepted: {excepted}\n")
    stream.write(f"Overall: risk {o['riskScore']:g}%, compliance {o['complianceScore']:g}%\n")
    for name, fw in data["frameworks"].items():
        stream.write(f"  {name:<15} risk {fw['riskScore']:>6g}%  compliance "
                     f"{fw['complianceScore']:>6g}%  ({len(fw['members'])} control"
                     f"{'s' if len(fw['members']) != 1 else ''})\n")


def _scan_cluster(args: argparse.Namespace, options: Any) -> Report:
    """``--cluster``: list every readable resource, then scan the objects as documents of
    ``cluster:<context>``. Kinds that cannot be listed are named on stderr, not an error."""
    from socle.cluster import KubeClient, load_kubeconfig
    from socle.security.runner import scan_objects

    config = load_kubeconfig(args.kubeconfig, args.context)
    with KubeClient(config) as client:
        inventory = client.list_all(namespace=args.namespace)
    report = scan_objects(inventory.objects, options, f"cluster:{config.context}")
    report.files = 0
    report.extra["cluster"] = {"context": config.context, "namespace": args.namespace,
                               "objects": len(inventory.objects),
                               "skipped": dict(inventory.skipped)}
    if inventory.skipped:
        n = len(inventory.skipped)
        listed = ", ".join(f"{k} ({v})" for k, v in sorted(inventory.skipped.items()))
        sys.stderr.write(f"socle scan: skipped {n} kind{'s' if n != 1 else ''} that cannot "
                         f"be listed: {listed}\n")
    return report


def run(args: argparse.Namespace) -> int:
    given_paths = list(args.paths)  # before socle.yaml's scan.paths fill them in
    cfg = apply_config(args, "scan")
    from socle.security.runner import ScanOptions, scan_paths

    cluster = bool(getattr(args, "cluster", None))
    if cluster and given_paths:
        raise UsageError("--cluster scans a live cluster: give no paths with it")
    if cluster and args.fix:
        raise UsageError("--fix rewrites files: it does not go with --cluster")
    paths = [] if cluster else (list(args.paths) or as_list(cfg.data.get("paths")) or [])
    if not paths and not cluster:
        raise UsageError("no input: give files, folders, or - for stdin")
    if args.workers is not None and int(args.workers) < 1:
        raise UsageError("-n must be at least 1")
    try:
        threshold = Severity.parse(str(args.severity_threshold or "low"))
    except ValueError as err:
        raise UsageError(str(err)) from None
    compliance = args.compliance_threshold
    if compliance is not None:
        compliance = float(compliance)
        if not 0 <= compliance <= 100:
            raise UsageError("--compliance-threshold must be between 0 and 100")
    if args.dry_run and not args.fix:
        raise UsageError("--dry-run only goes with --fix")
    if args.fix and "-" in paths:
        raise UsageError("--fix cannot rewrite standard input")
    text = args.output in ("text", "pretty", "stdout")  # (its summary shows the scores)
    options = ScanOptions(
        controls_dirs=as_list(args.controls_dir),
        bundled=not args.no_bundled_controls,
        include=as_list(args.controls),
        exclude=as_list(args.exclude_controls),
        frameworks=as_list(args.framework),
        framework_files=as_list(args.framework_file),
        inputs=_inputs(args, cfg.path),
        exceptions_file=args.exceptions,
        engine=str(args.engine or DEFAULT_ENGINE),
        workers=int(args.workers or 0),
        ignore_filename_patterns=tuple(as_list(args.ignore_filename_pattern)),
        # (made only where used: applied, shown, or read by the text summary or the gate)
        fixes=bool(args.fix) or shows(args.output, "fixes"),
        scores=text or shows(args.output, "scores") or compliance is not None,
    )
    report = _scan_cluster(args, options) if cluster else scan_paths(paths, options)
    if not cluster:
        say_if_nothing_checked(report, "scan", "scanned")
    if args.fix:
        from socle.security.fix import apply_fixes

        result = apply_fixes(report.findings, dry_run=bool(args.dry_run))
        verb = "would fix" if args.dry_run else "fixed"
        files = len(result.diffs)
        sys.stderr.write(f"socle scan: {verb} {len(result.fixed)} finding"
                         f"{'s' if len(result.fixed) != 1 else ''} in {files} file"
                         f"{'s' if files != 1 else ''}\n")
        for f, why in result.failed:
            sys.stderr.write(f"  not fixed: {f.location()} {f.rule_id}: {why}\n")
        manual = [f for f in result.unfixable if f.source == "security"]
        if manual:
            sys.stderr.write(f"  {len(manual)} finding{'s' if len(manual) != 1 else ''} "
                             "have no automatic fix (see the report)\n")
        if args.dry_run:
            for path in sorted(result.diffs):
                sys.stdout.write(result.diffs[path])
            sys.stdout.flush()
            return _gate(report, threshold, compliance)[0]
        report = scan_paths(paths, options)
    report.extra["asked_frameworks"] = [fw.name for fw in report.extra.get("frameworks", [])
                                        ] if options.frameworks or options.framework_files \
        else []
    emit(report, args)
    if text:
        if args.output_file:
            with open(args.output_file, "a", encoding="utf-8", errors="backslashreplace") as fh:
                text_summary(report, fh)
        else:
            text_summary(report, sys.stdout)
    code, why = _gate(report, threshold, compliance)
    if why:
        sys.stderr.write(f"socle scan: {why}\n")
    return code
