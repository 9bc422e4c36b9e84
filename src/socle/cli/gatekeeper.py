"""``socle gatekeeper test`` and ``socle gatekeeper verify``: gator's ``test`` and ``verify``.

Exit codes: 0 clean, 1 deny violations (test) or a failing case (verify), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from socle.cli.common import add_output_arguments, apply_config, emit
from socle.core.errors import UsageError
from socle.policy.engine import DEFAULT_ENGINE, ENGINES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="gk_command", metavar="SUBCOMMAND")
    t = sub.add_parser("test", help="review objects with templates and constraints (gator test)",
                       description="Review every object in the files with every matching "
                                   "constraint; templates, constraints and objects may be mixed "
                                   "in any files. Exit 1 when a deny constraint is violated.")
    t.add_argument("-f", "--filename", dest="filename", action="append", default=[],
                   metavar="PATH", help="a file or folder of templates, constraints and objects "
                                        "(repeatable; '-' reads standard input)")
    t.add_argument("paths", nargs="*", metavar="PATH", help="more files or folders")
    t.add_argument("-i", "--image", dest="image", action="append", default=[],
                   help="OCI images of policies: refused (exit 2); pull them with socle pull "
                        "and pass the folder with -f")
    t.add_argument("--deny-only", dest="deny_only", action="store_true", default=None,
                   help="report only violations of deny constraints")
    _common(t)
    add_output_arguments(t)

    v = sub.add_parser("verify", help="run gator Suite files (gator verify)",
                       description="Run the tests of gator Suite files (test.gatekeeper.sh/"
                                   "v1alpha1). A folder is read without its sub-folders unless "
                                   "written folder/... . Exit 1 when a case fails.")
    v.add_argument("suites", nargs="*", metavar="PATH", help="suite files or folders")
    v.add_argument("-r", "--run", dest="run", default="",
                   help="only tests/cases whose names match this regex (TEST//CASE for both)")
    v.add_argument("-v", "--verbose", dest="verbose", action="store_true",
                   help="also list skipped tests")
    v.add_argument("-o", "--output", dest="output", default="text", choices=("text", "json"),
                   help="report format (default text)")
    _common(v)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--engine", default=None, choices=ENGINES,
                   help=f"Rego engine (default {DEFAULT_ENGINE}; opa needs "
                        "opa-golib-python-bindings)")
    p.add_argument("--timeout", type=float, default=None,
                   help="seconds allowed for one Rego evaluation")
    p.add_argument("-t", "--trace", "--include-trace", dest="include_trace",
                   action="store_true",
                   help="accepted for gator compatibility; traces are not produced")
    p.add_argument("--stats", dest="stats", action="store_true",
                   help="accepted for gator compatibility; no Constraint Framework stats")
    p.add_argument("--default-k8s-native-validation-failure-policy", dest="cel_failure_policy",
                   default="Fail", choices=("Fail", "Ignore"),
                   help="what a CEL expression that fails to evaluate gives when its source "
                        "names no failurePolicy: a violation (Fail, default) or nothing")
    p.add_argument("--enable-k8s-native-validation", dest="k8s_native", default="true",
                   choices=("true", "false"), nargs="?", const="true",
                   help="run K8sNativeValidation (CEL) code; when a template has both, CEL runs "
                        "(default true, as gator); false runs the Rego")


def run(args: argparse.Namespace) -> int:
    cmd = getattr(args, "gk_command", None)
    if cmd == "test":
        return _run_test(args)
    if cmd == "verify":
        return _run_verify(args)
    raise UsageError("which one? socle gatekeeper test -f PATH... | socle gatekeeper verify "
                     "SUITE...")


def _engine(args: argparse.Namespace) -> str:
    return str(args.engine or DEFAULT_ENGINE)


def _run_test(args: argparse.Namespace) -> int:
    from socle.core.finding import Severity
    from socle.policy.gatekeeper import run_test

    apply_config(args, "gatekeeper")
    if args.image:
        # (ignoring it would pass what its policies deny: a gate must not)
        raise UsageError(f"--image {args.image[0]}: policy images are not pulled by gatekeeper "
                         "test; pull the image's files (socle pull oci://REF --policy DIR, or "
                         "your registry tool) and give the folder with -f DIR")
    for given, flag, what in ((args.include_trace, "--trace", "no trace"),
                              (args.stats, "--stats", "no Constraint Framework stats")):
        if given:
            print(f"socle gatekeeper test: {flag} is accepted but produces {what}",
                  file=sys.stderr)
    paths = list(args.filename) + list(args.paths)
    if not paths:
        if sys.stdin.isatty():
            raise UsageError("no input: give -f PATH (a file or folder), or pipe YAML in")
        paths = ["-"]
    result = run_test(paths, _engine(args), args.timeout, bool(args.deny_only),
                      args.k8s_native != "false", args.cel_failure_policy)
    emit(result.report, args)
    return result.report.exit_code(Severity.HIGH)


def _run_verify(args: argparse.Namespace) -> int:
    from socle.policy.gator_suite import run_suites

    if not args.suites:
        raise UsageError("no suites: give suite files or folders (folder/... to recurse)")
    results = run_suites(args.suites, _engine(args), args.timeout, args.run,
                         args.k8s_native != "false", args.cel_failure_policy)
    if not results:
        raise UsageError(f"no Suite (test.gatekeeper.sh/v1alpha1) found in "
                         f"{', '.join(args.suites)}")
    failed = any(r.failed for r in results)
    if args.output == "json":
        json.dump([_suite_json(r) for r in results], sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_text(results, args.verbose)
    sys.stdout.flush()
    return 1 if failed else 0


def _suite_json(r: Any) -> dict[str, Any]:
    return {
        "path": r.path, "skipped": r.skipped, "error": r.error, "runtime": round(r.runtime, 6),
        "passed": not r.failed,
        "tests": [{"name": t.name, "skipped": t.skipped, "error": t.error,
                   "runtime": round(t.runtime, 6), "passed": not t.failed,
                   "cases": [{"name": c.name, "skipped": c.skipped, "error": c.error,
                              "runtime": round(c.runtime, 6), "violations": c.violations,
                              "passed": c.passed} for c in t.cases]}
                  for t in r.tests],
    }


def _print_text(results: list[Any], verbose: bool) -> None:
    out = sys.stdout
    passed = failed = skipped = 0
    for r in results:
        if r.skipped:
            out.write(f"skip\t{r.path}\n")
            continue
        for t in r.tests:
            if t.skipped:
                if verbose:
                    out.write(f"--- SKIP: {t.name}\n")
                continue
            status = "FAIL" if t.failed else "PASS"
            out.write(f"--- {status}: {t.name} ({t.runtime:.3f}s)\n")
            if t.error:
                out.write(f"    {t.error}\n")
            for c in t.cases:
                if c.skipped:
                    skipped += 1
                    if verbose:
                        out.write(f"    --- SKIP: {c.name}\n")
                    continue
                if c.error:
                    failed += 1
                    out.write(f"    --- FAIL: {c.name} ({c.runtime:.3f}s)\n        {c.error}\n")
                else:
                    passed += 1
                    out.write(f"    --- PASS: {c.name} ({c.runtime:.3f}s)\n")
            if t.error:
                failed += 1
            elif not t.cases and not t.failed:
                passed += 1  # an invalid: true test that passed
        if r.error:
            out.write(f"    {r.error}\n")
        out.write(f"{'FAIL' if r.failed else 'ok'}\t{r.path}\t{r.runtime:.3f}s\n")
    out.write(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else "")
              + "\n")
