"""``socle check``: the merge-request gate — validate, test and scan in one pass, one report.

Defaults come from the config file: the ``check:`` section for this command's own flags, and
the ``validate:``, ``test:`` and ``scan:`` sections for each checker, exactly as those commands
read them. Flags given here win over both.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from socle.cli.common import (
    add_output_arguments,
    apply_config,
    as_list,
    emit,
    say_if_nothing_checked,
    string_slice,
)
from socle.core.config import Config
from socle.core.errors import UsageError
from socle.core.finding import Report, Severity
from socle.outputs import shows
from socle.policy.engine import DEFAULT_ENGINE, ENGINES


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files or folders (recursively: .yaml, .yml, .json); - for stdin")
    g = p.add_argument_group("checks")
    g.add_argument("--no-validate", dest="no_validate", action="store_true", default=None,
                   help="skip schema validation (socle validate)")
    g.add_argument("--no-test", dest="no_test", action="store_true", default=None,
                   help="skip the Rego policies (socle test)")
    g.add_argument("--no-scan", dest="no_scan", action="store_true", default=None,
                   help="skip the security controls (socle scan)")
    g.add_argument("-p", "--policy", dest="policy", action="append", default=None,
                   metavar="PATH", help="policy file or folder, repeatable (default: test.policy "
                   "from the config, else a 'policy' folder at the repository root if present)")
    g.add_argument("--framework", dest="framework", action="append", default=None,
                   metavar="NAME", help="security frameworks: nsa, mitre, cis, pss-baseline, "
                   "pss-restricted or all (default: scan.framework from the config, else every "
                   "control)")
    g.add_argument("--severity-threshold", dest="severity_threshold", default=None,
                   help="lowest severity that fails the run, for every checker (default: each "
                        "section's own, else low)")
    g.add_argument("--engine", dest="engine", choices=ENGINES, default=None,
                   help=f"Rego engine for policies and controls (default: test.engine and "
                        f"scan.engine from the config, else {DEFAULT_ENGINE})")
    g.add_argument("-n", "--workers", dest="workers", type=int, default=None, metavar="N",
                   help="processes (default: one per core this run may use, counting a "
                        "container's CPU limit)")
    g.add_argument("--ignore-filename-pattern", dest="ignore_filename_pattern",
                   action="append", default=None, metavar="REGEX",
                   help="regular expression of paths to ignore (repeatable)")
    add_output_arguments(p)


# --- each checker's section of the config file ------------------------------------------------


def _section(verb: str, args: argparse.Namespace, start: str) -> argparse.Namespace:
    """The options ``socle <verb>`` would run with, from its config section alone."""
    import importlib

    module = importlib.import_module(f"socle.cli.{verb}")
    parser = argparse.ArgumentParser(prog=f"socle {verb}", add_help=False)
    module.add_arguments(parser)
    ns = parser.parse_args([])
    ns.paths = list(args.paths)
    ns.config = args.config
    apply_config(ns, verb, start, parser, conftest=False)
    return ns


def _threshold(value: Any, where: str) -> Severity | None:
    if value in (None, ""):
        return None
    try:
        return Severity.parse(str(value))
    except ValueError as err:
        raise UsageError(f"{where}: {err}") from None


def _validate_options(ns: argparse.Namespace, workers: int) -> Any:
    from socle.cli.validate import _split
    from socle.schema.registry import RegistryOptions
    from socle.schema.validator import ValidateOptions

    return ValidateOptions(
        registry=RegistryOptions(
            kubernetes_version=str(ns.kubernetes_version or "master"),
            locations=as_list(ns.schema_location) or ["default"],
            strict=bool(ns.strict),
            cache_dir=ns.cache,
            insecure_skip_tls_verify=bool(ns.insecure_skip_tls_verify),
        ),
        ignore_missing_schemas=bool(ns.ignore_missing_schemas),
        skip=_split(as_list(ns.skip)),
        reject=_split(as_list(ns.reject)),
        extra_checks=not ns.no_extra_checks,
        workers=workers,
    )


def _test_options(ns: argparse.Namespace, policies: list[str], cfg: Config) -> Any:
    from socle.policy.conftest import TestOptions

    if ns.combine:
        raise UsageError("test.combine is not supported by socle check (it needs every file "
                         "as one input); run socle test --combine", cfg.path)
    if ns.parser not in (None, "yaml", "json"):
        raise UsageError(f"test.parser {ns.parser!r}: socle check reads Kubernetes manifests "
                         "(YAML and JSON) only; run socle test for other formats", cfg.path)
    if ns.update:
        raise UsageError("test.update is not supported by socle check; run socle pull first",
                         cfg.path)
    timeout = 60.0 if ns.timeout is None else float(ns.timeout)
    return TestOptions(
        policies=policies,
        namespaces=string_slice(ns.namespace) or ["main"],
        all_namespaces=bool(ns.all_namespaces),
        data=string_slice(ns.data),
        fail_on_warn=bool(ns.fail_on_warn),
        no_fail=bool(ns.no_fail),
        suppress_exceptions=bool(ns.suppress_exceptions),
        rego_version=ns.rego_version or "v1",
        engine=ns.engine or DEFAULT_ENGINE,
        strict=bool(ns.strict),
        show_builtin_errors=bool(getattr(ns, "show_builtin_errors", False)),
        timeout=timeout,
    )


def _scan_options(ns: argparse.Namespace, frameworks: list[str], workers: int,
                  cfg: Config) -> Any:
    from socle.formats.yaml import load_all
    from socle.security.runner import ScanOptions

    if ns.fix:
        raise UsageError("scan.fix is not supported by socle check; run socle scan --fix",
                         cfg.path)
    inputs: dict[str, Any] = {}
    if ns.inputs is not None:
        if not isinstance(ns.inputs, dict):
            raise UsageError("scan.inputs must be a mapping of input names to values", cfg.path)
        inputs.update(ns.inputs)
    for item in as_list(ns.input_flags):
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            raise UsageError(f"scan.input {item!r}: expected NAME=VALUE", cfg.path)
        try:
            values = load_all(raw) if raw.strip() else [""]
        except Exception as err:
            raise UsageError(f"scan.input {name}: {err}", cfg.path) from None
        inputs[name.strip()] = values[0] if values else ""
    exceptions = as_list(ns.exceptions)
    return ScanOptions(
        controls_dirs=as_list(ns.controls_dir),
        include=as_list(ns.controls),
        exclude=as_list(ns.exclude_controls),
        frameworks=frameworks,
        framework_files=as_list(ns.framework_file),
        inputs=inputs,
        exceptions_file=exceptions[0] if exceptions else None,
        engine=str(ns.engine or DEFAULT_ENGINE),
        workers=workers,
    )


def _default_policies(cfg: Config) -> list[str]:
    for folder in (os.path.join(cfg.root, "policy"), "policy"):
        if os.path.isdir(folder):
            return [folder]
    return []


# --- the command -------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    cfg = apply_config(args, "check")
    paths = list(args.paths) or as_list(cfg.data.get("paths"))
    if not paths:
        raise UsageError("no input: give files, folders, or - for stdin")
    args.paths = paths
    if args.workers is not None and int(args.workers) < 1:
        raise UsageError("-n must be at least 1")
    workers = int(args.workers or 0)
    existing = [p for p in paths if p != "-" and os.path.exists(p)]
    start = existing[0] if existing else "."
    threshold = _threshold(args.severity_threshold, "--severity-threshold")
    from socle.check import CheckOptions, Gate, check_paths, compliance_problem, exit_code

    options = CheckOptions(workers=workers,
                           ignore_filename_patterns=tuple(as_list(args.ignore_filename_pattern)))
    gate = Gate()
    notes: list[str] = []
    if not args.no_validate:
        ns = _section("validate", args, start)
        options.validate = _validate_options(ns, workers)
        options.validate_ignore = tuple(as_list(ns.ignore_filename_pattern))
        gate.schema = threshold or _threshold(ns.severity_threshold,
                                              "validate.severity-threshold") or Severity.LOW
    if not args.no_test:
        ns = _section("test", args, start)
        ns.engine = args.engine or ns.engine
        policies = string_slice(args.policy) or string_slice(ns.policy) or _default_policies(cfg)
        if policies:
            options.test = _test_options(ns, policies, cfg)
            options.test_ignore = ns.ignore
            gate.fail_on_warn = options.test.fail_on_warn
            gate.no_fail = options.test.no_fail
            gate.policy = threshold or Severity.INFO
        else:
            notes.append("test: no policy folder (configure test.policy or add policy/)")
    if not args.no_scan:
        ns = _section("scan", args, start)
        ns.engine = args.engine or ns.engine
        frameworks = as_list(args.framework) or as_list(ns.framework)
        options.scan = _scan_options(ns, frameworks, workers, cfg)
        # findings' fix operations, and the scores (below), are made only where used: where
        # the report shows them, and the scores where the compliance gate reads them
        options.scan.fixes = shows(args.output, "fixes")
        options.scan_ignore = tuple(as_list(ns.ignore_filename_pattern))
        gate.security = threshold or _threshold(ns.severity_threshold,
                                                "scan.severity-threshold") or Severity.LOW
        if ns.compliance_threshold is not None:
            gate.compliance = float(ns.compliance_threshold)
            if not 0 <= gate.compliance <= 100:
                raise UsageError("scan.compliance-threshold must be between 0 and 100",
                                 cfg.path)
        options.scan.scores = shows(args.output, "scores") or gate.compliance is not None

    def work() -> int:
        report = check_paths(paths, options)
        report.extra["notes"] = notes
        say_if_nothing_checked(report, "check", "checked")
        emit(report, args)
        if args.output in ("text", "pretty", "stdout") and args.summary:
            _text_summary(report, args)
        why = compliance_problem(report, gate)
        if why:
            sys.stderr.write(f"socle check: {why}\n")
        return exit_code(report, gate)

    if options.test is not None and options.test.timeout:
        from socle.policy.engine import supervise

        return supervise(work, options.test.timeout, "check")
    return work()


def _text_summary(report: Report, args: argparse.Namespace) -> None:
    counts: dict[str, dict[str, int]] = {}
    for f in report.findings:
        by = counts.setdefault(f.source, {})
        by[str(f.severity)] = by.get(str(f.severity), 0) + 1
    ran = [k for k, on in report.extra.get("checks", {}).items() if on]
    lines = ["Checks: " + (", ".join(ran) or "none")]
    for source in ("input", "schema", "policy", "security"):
        got = counts.get(source)
        if got:
            lines.append(f"  {source}: " + ", ".join(
                f"{got[s]} {s}" for s in ("critical", "high", "medium", "low", "info")
                if s in got))
    excepted = len(report.extra.get("excepted") or [])
    if excepted:
        lines.append(f"  security exceptions: {excepted}")
    for note in report.extra.get("notes") or []:
        lines.append(f"  note: {note}")
    text = "\n".join(lines) + "\n"
    if args.output_file:
        with open(args.output_file, "a", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()
