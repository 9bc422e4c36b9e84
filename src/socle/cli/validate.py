"""``socle validate``: kubeconform's job, with kubeconform's flags (single or double dash)."""

from __future__ import annotations

import argparse
import sys

from socle.cli.common import (
    add_output_arguments,
    apply_config,
    as_list,
    emit,
    piped_stdin,
    say_if_nothing_checked,
)
from socle.core.errors import UsageError
from socle.core.finding import Severity


def _split(values: list[str]) -> frozenset[str]:
    return frozenset(x.strip() for v in values for x in v.split(",") if x.strip())


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders (recursively: .yaml, .yml, .json); - for stdin")
    g = p.add_argument_group("schemas (kubeconform flags)")
    g.add_argument("-schema-location", "--schema-location", dest="schema_location",
                   action="append", default=None, metavar="LOCATION",
                   help="schema location, repeatable, tried in order: 'default' (bundled), a "
                        "folder, a CRD catalog folder, a file or http(s) URL template with "
                        "{{ .ResourceKind }}-style variables")
    g.add_argument("-kubernetes-version", "--kubernetes-version", dest="kubernetes_version",
                   default=None, metavar="VERSION",
                   help="Kubernetes version to validate against (default: newest bundled)")
    g.add_argument("-strict", "--strict", dest="strict", action="store_true", default=None,
                   help="reject unknown fields and duplicate keys")
    g.add_argument("-ignore-missing-schemas", "--ignore-missing-schemas",
                   dest="ignore_missing_schemas", action="store_true", default=None,
                   help="skip resources whose schema cannot be found")
    g.add_argument("-skip", "--skip", dest="skip", action="append", default=None,
                   metavar="KINDS", help="comma-separated kinds or GVKs to skip")
    g.add_argument("-reject", "--reject", dest="reject", action="append", default=None,
                   metavar="KINDS", help="comma-separated kinds or GVKs to reject")
    g.add_argument("-ignore-filename-pattern", "--ignore-filename-pattern",
                   dest="ignore_filename_pattern", action="append", default=None,
                   metavar="REGEX", help="regular expression of paths to ignore (repeatable)")
    g.add_argument("-cache", "--cache", dest="cache", default=None, metavar="DIR",
                   help="cache folder for schemas downloaded over http(s)")
    g.add_argument("-insecure-skip-tls-verify", "--insecure-skip-tls-verify",
                   dest="insecure_skip_tls_verify", action="store_true", default=None,
                   help="do not verify TLS certificates of schema servers")
    g.add_argument("-n", "--workers", dest="workers", type=int, default=None, metavar="N",
                   help="processes (default: one per core this run may use, counting a "
                        "container's CPU limit)")
    g.add_argument("--no-extra-checks", dest="no_extra_checks", action="store_true",
                   default=None,
                   help="only JSON-schema validation, as kubeconform does (skip socle's checks "
                        "for duplicates, selectors, names and labels)")
    g.add_argument("--severity-threshold", dest="severity_threshold", default=None,
                   help="lowest severity that fails the run (default low)")
    g.add_argument("-exit-on-error", "--exit-on-error", dest="exit_on_error",
                   action="store_true", default=None, help=argparse.SUPPRESS)
    g.add_argument("-debug", "--debug", dest="debug", action="store_true", default=None,
                   help=argparse.SUPPRESS)  # (kubeconform's; accepted, no effect)
    add_output_arguments(p)


def run(args: argparse.Namespace) -> int:
    cfg = apply_config(args, "validate")
    from socle.schema.registry import RegistryOptions
    from socle.schema.validator import ValidateOptions, validate_paths

    paths = list(args.paths) or as_list(cfg.data.get("paths")) or []
    if not paths:
        if not piped_stdin():
            raise UsageError("no input: give files, folders, or - for stdin")
        paths = ["-"]  # as kubeconform reads `helm template . | kubeconform -summary`
    elif "-" in paths and not piped_stdin():
        # (kubeconform refuses it too: `- < /dev/null` is no pass, a terminal no input)
        raise UsageError("-: standard input is a terminal or a device such as /dev/null, not "
                         "manifests; pipe them in (helm template . | socle validate -)")
    if args.workers is not None and args.workers < 1:
        raise UsageError("-n must be at least 1")
    try:
        threshold = Severity.parse(args.severity_threshold or "low")
    except ValueError as err:
        raise UsageError(str(err)) from None
    locations = as_list(args.schema_location) or ["default"]
    options = ValidateOptions(
        registry=RegistryOptions(
            kubernetes_version=str(args.kubernetes_version or "master"),
            locations=locations,
            strict=bool(args.strict),
            cache_dir=args.cache,
            insecure_skip_tls_verify=bool(args.insecure_skip_tls_verify),
        ),
        ignore_missing_schemas=bool(args.ignore_missing_schemas),
        skip=_split(as_list(args.skip)),
        reject=_split(as_list(args.reject)),
        ignore_filename_patterns=tuple(as_list(args.ignore_filename_pattern)),
        extra_checks=not args.no_extra_checks,
        workers=int(args.workers or 0),
    )
    report = validate_paths(paths, options)
    for path in report.extra.get("passed_over", ()):
        print(f"socle validate: {path}: not a .yaml, .yml or .json file, not read (as "
              "kubeconform); pipe it in (socle validate - < FILE) to validate it",
              file=sys.stderr)
    say_if_nothing_checked(report, "validate", "validated")  # (kubeconform: "0 resource")
    emit(report, args)
    return report.exit_code(threshold)
