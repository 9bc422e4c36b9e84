"""``socle verify``: Rego unit tests (``conftest verify``, ``opa test``)."""

from __future__ import annotations

import argparse
import sys

from socle.cli.common import add_output_arguments, apply_config, emit, string_slice
from socle.cli.test import add_policy_arguments, options_from


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="policy files or folders (same as -p; default: policy)")
    add_policy_arguments(p)
    g = p.add_argument_group("verify")
    g.add_argument("-r", "--run", dest="run", default=None, metavar="REGEX",
                   help="only run tests whose data.<package>.<test> path matches")
    g.add_argument("-n", "--namespace", dest="namespace", action="append", default=None,
                   help="only the tests of these packages (repeatable or comma-separated; "
                        "wildcards as conftest's: 'main.*'); default all")
    g.add_argument("--junit-hide-message", dest="junit_hide_message", action="store_true",
                   default=None, help="accepted for conftest's command lines")
    g.add_argument("--quiet", dest="quiet", action="store_true", default=None,
                   help="accepted for conftest's command lines: socle lists passing tests only "
                        "with --verbose")
    g.add_argument("--coverage", dest="coverage", action="store_true", default=None,
                   help="report the lines of each policy file the tests evaluated")
    add_output_arguments(p)


def run(args: argparse.Namespace) -> int:
    apply_config(args, "verify")
    from socle.policy.engine import supervise

    common = options_from(args)
    if args.paths:
        common["policies"] = list(args.paths) + string_slice(args.policy)

    def work() -> int:
        from socle.policy.verify import VerifyOptions, to_report, verify

        options = VerifyOptions(run=args.run, coverage=bool(args.coverage),
                                namespaces=string_slice(args.namespace),
                                **common)  # type: ignore[arg-type]
        result = verify(options)
        report = to_report(result)
        emit(report, args)
        if args.output in ("text", "stdout", "pretty") and not args.output_file:
            out = sys.stdout
            if args.verbose:
                for r in result.results:
                    state = "SKIP" if r.skipped else ("PASS" if r.passed else "FAIL")
                    out.write(f"{r.case.path}: {state} ({r.duration * 1000:.3f}ms)\n")
            total, passed, failed, skipped = result.counts()
            if options.coverage:
                for path, pct in result.coverage_percent().items():
                    out.write(f"coverage: {path}: {pct:.1f}%\n")
            word = "PASS" if failed == 0 else "FAIL"
            extra = f", {skipped} skipped" if skipped else ""
            out.write(f"{word}: {passed}/{total - skipped}{extra}\n")
        return 1 if result.counts()[2] else 0

    timeout = common["timeout"]
    assert isinstance(timeout, float)
    return supervise(work, timeout, "verify")
