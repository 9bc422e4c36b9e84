"""``socle test``: conftest's ``test`` — Rego policies over config files, conftest's flags."""

from __future__ import annotations

import argparse
import sys

from socle.cli.common import add_output_arguments, apply_config, as_list, emit, string_slice
from socle.core.errors import UsageError
from socle.policy.engine import DEFAULT_ENGINE, ENGINES


def add_policy_arguments(p: argparse.ArgumentParser) -> None:
    """Flags shared by ``socle test`` and ``socle verify``."""
    g = p.add_argument_group("policies (conftest flags)")
    g.add_argument("-p", "--policy", dest="policy", action="append", default=None,
                   metavar="PATH", help="policy file or folder, repeatable (default: policy)")
    g.add_argument("-d", "--data", dest="data", action="append", default=None, metavar="PATH",
                   help="data files or folders (JSON/YAML) available as data.*, repeatable")
    g.add_argument("--rego-version", dest="rego_version", choices=("v0", "v1"), default=None,
                   help="Rego syntax of the policies (default v1)")
    g.add_argument("--engine", dest="engine", choices=ENGINES, default=None,
                   help=f"Rego engine (default {DEFAULT_ENGINE}: Rego compiled to Python, "
                        "regorus for what it does not compile); regorus; or opa (reference; "
                        "needs opa-golib-python-bindings)")
    g.add_argument("--timeout", dest="timeout", type=float, default=None, metavar="SECONDS",
                   help="time limit per input file (test) or per unit test (verify); "
                        "0 turns it off (default 60)")
    g.add_argument("--trace", dest="trace", action="store_true", default=None,
                   help="print OPA's evaluation trace to standard error (uses the opa engine)")
    g.add_argument("--strict", dest="strict", action="store_true", default=None,
                   help="OPA's strict-mode compile checks (unused variables and imports, "
                        "deprecated builtins, ...)")
    g.add_argument("--show-builtin-errors", dest="show_builtin_errors", action="store_true",
                   default=None,
                   help="a builtin that fails (to_number(\"abc\"), upper(5), ...) stops the "
                        "run with its error (exit 2) instead of leaving its expression "
                        "undefined, as conftest's flag does")
    g.add_argument("-c", "--config-file", dest="config_file", default=None, metavar="FILE",
                   help="conftest's configuration file (default: conftest.toml, .yaml or .json "
                        "in the current folder, if any; below flags, socle.yaml and "
                        "CONFTEST_* variables)")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders to test; - for standard input")
    add_policy_arguments(p)
    g = p.add_argument_group("test")
    g.add_argument("-n", "--namespace", dest="namespace", action="append", default=None,
                   help="policy namespace (package) to use, repeatable (default main)")
    g.add_argument("--all-namespaces", dest="all_namespaces", action="store_true", default=None,
                   help="use every package of the policies")
    g.add_argument("--combine", dest="combine", action="store_true", default=None,
                   help="check all files together as one input: [{path, contents}]")
    g.add_argument("--parser", dest="parser", default=None,
                   help="parse every input with this format (yaml, json, toml, hcl2, ...)")
    g.add_argument("--fail-on-warn", dest="fail_on_warn", action="store_true", default=None,
                   help="warnings fail the run too (exit 1)")
    g.add_argument("--no-fail", dest="no_fail", action="store_true", default=None,
                   help="exit 0 even when policies fail")
    g.add_argument("--suppress-exceptions", dest="suppress_exceptions", action="store_true",
                   default=None, help="do not report rules excepted by exception rules")
    g.add_argument("--quiet", dest="quiet", action="store_true", default=None,
                   help="accepted for conftest's command lines: socle lists only what failed "
                        "unless --verbose")
    g.add_argument("--junit-hide-message", dest="junit_hide_message", action="store_true",
                   default=None, help="accepted for conftest's command lines (socle's JUnit "
                                      "test names never hold the message)")
    g.add_argument("--ignore", dest="ignore", default=None, metavar="REGEX",
                   help="regular expression of input paths to skip")
    g.add_argument("--stdin-filename", dest="stdin_filename", default=None, metavar="NAME",
                   help="the name standard input (-) goes by in the report")
    g.add_argument("-u", "--update", dest="update", action="append", default=None,
                   metavar="URL", help="pull these policy bundles into the policy folder first")
    add_output_arguments(p)


def options_from(args: argparse.Namespace) -> dict[str, object]:
    timeout = 60.0 if args.timeout is None else float(args.timeout)
    return {
        "policies": string_slice(args.policy) or ["policy"],
        "data": string_slice(args.data),
        "rego_version": args.rego_version or "v1",
        "engine": args.engine or DEFAULT_ENGINE,
        "timeout": timeout,
        "trace": bool(args.trace),
        "strict": bool(args.strict),
        "show_builtin_errors": bool(args.show_builtin_errors),
    }


def pull_updates(urls: list[str], policies: list[str]) -> None:
    try:
        from socle.policy import bundles
    except ImportError:
        raise UsageError("--update is not available: bundle support is missing") from None
    pull = getattr(bundles, "pull", None)
    if pull is None:
        raise UsageError("--update is not available: bundle support is missing")
    for url in urls:
        pull(url, policies[0])


def run(args: argparse.Namespace) -> int:
    apply_config(args, "test")
    from socle.policy.engine import supervise

    common = options_from(args)
    if args.update:
        pull_updates(string_slice(args.update), as_list(common["policies"]))

    def work() -> int:
        from socle.policy.conftest import TestOptions, exit_code
        from socle.policy.conftest import run as run_tests

        options = TestOptions(
            namespaces=string_slice(args.namespace) or ["main"],
            all_namespaces=bool(args.all_namespaces),
            combine=bool(args.combine),
            parser=args.parser,
            fail_on_warn=bool(args.fail_on_warn),
            no_fail=bool(args.no_fail),
            suppress_exceptions=bool(args.suppress_exceptions),
            ignore=args.ignore,
            stdin_filename=args.stdin_filename,
            **common,  # type: ignore[arg-type]
        )
        paths = list(args.paths)
        if not paths:
            raise UsageError("no input: give files, folders, or - for standard input")
        report = run_tests(paths, options)
        if "no_rules" in report.extra:
            names = ", ".join(report.extra["no_rules"])
            print(f"socle test: no deny, warn or violation rule in namespace {names} of the "
                  "policies: nothing was tested (conftest passes such a run too)",
                  file=sys.stderr)
        emit(report, args)
        return exit_code(report, options)

    timeout = common["timeout"]
    assert isinstance(timeout, float)
    return supervise(work, timeout, "test")
