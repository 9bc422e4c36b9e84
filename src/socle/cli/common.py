"""Flags and plumbing shared by every verb: output selection, config defaults, exit codes."""

from __future__ import annotations

import argparse
import os
import stat
import sys
from typing import Any, TextIO

from socle import GO_BOOL
from socle.core.config import SHARED_KEYS, Config
from socle.core.config import load as load_config
from socle.core.errors import UsageError
from socle.core.finding import Report


def add_output_arguments(parser: argparse.ArgumentParser, default: str = "text") -> None:
    g = parser.add_argument_group("output")
    g.add_argument("-o", "--output", "-output", dest="output", default=None,
                   help=f"report format: text, json, junit, tap, sarif, github, table, "
                        f"markdown, html, or kubeconform (its -output json shape) "
                        f"(default {default})")
    g.add_argument("--output-file", dest="output_file", default=None,
                   help="write the report to this file instead of standard output")
    g.add_argument("--summary", "-summary", dest="summary", action="store_true", default=None,
                   help="print a summary line (text output)")
    g.add_argument("--verbose", "-verbose", "-v", dest="verbose", action="store_true",
                   default=None, help="also list what passed and what was skipped")
    g.add_argument("--color", choices=("auto", "always", "never"), default=None,
                   help="colour in text output (default auto: only on a terminal)")
    g.add_argument("--no-color", dest="color", action="store_const", const="never",
                   help="the same as --color never (conftest's flag)")
    g.add_argument("--config", default=None,
                   help="config file (default: socle.yaml or [tool.socle] in pyproject.toml "
                        "at the repository root)")
    parser.set_defaults(_default_output=default)


# options whose values are files or folders: from the config file, relative to its folder
_PATH_OPTIONS = {"test": {"policy", "data"}, "verify": {"policy", "data"},
                 "scan": {"exceptions", "controls-dir", "framework-file"}}


def apply_config(args: argparse.Namespace, command: str, start: str | None = None,
                 parser: argparse.ArgumentParser | None = None, conftest: bool = True
                 ) -> Config:
    """Fill every option the user did not give from the config file, then the built-in default.

    Options left as ``None`` by argparse are unset; keys in the file use long flag names.
    ``conftest``: ``test`` and ``verify`` also read conftest's settings (see
    :func:`_apply_conftest`); ``socle check`` does not, as its answer does not depend on the
    current folder.
    """
    if start is None:
        # the repository of the first input path, else the current folder
        paths = [p for p in getattr(args, "paths", None) or [] if p != "-" and os.path.exists(p)]
        start = paths[0] if paths else "."
    cfg = load_config(getattr(args, "config", None), start)
    _check_top_level(cfg, command)
    values = cfg.for_command(command)
    actions = _actions(command, parser) if values else {}
    for key, value in values.items():
        attr = key.replace("-", "_")
        if not hasattr(args, attr):
            raise UsageError(f"unknown option {key!r} for {command}", cfg.path,
                             cfg.line_of(command, key) or 0)
        if getattr(args, attr) in (None, [], ()):
            action = actions.get(attr)
            if action is not None:
                try:
                    value = config_value(action, value)
                except ValueError as err:
                    name = key if key in SHARED_KEYS else f"{command}.{key}"
                    raise UsageError(f"{name}: {err}", cfg.path,
                                     cfg.line_of(command, key) or 0) from None
            if key in _PATH_OPTIONS.get(command, ()) and cfg.path is not None:
                value = _rooted(cfg.root, value)
            setattr(args, attr, value)
    if conftest and command in CONFTEST_COMMANDS:
        _apply_conftest(args, command, parser)
    if getattr(args, "output", None) is None:
        args.output = getattr(args, "_default_output", "text")
    target = getattr(args, "output_file", None)
    if target:  # (found out before the run, not after it)
        folder = os.path.dirname(os.path.abspath(target))
        if os.path.isdir(target):
            raise UsageError(f"--output-file {target}: is a folder")
        if not os.path.isdir(folder):
            raise UsageError(f"--output-file {target}: folder {folder} does not exist")
    for flag in ("summary", "verbose"):
        if getattr(args, flag, None) is None:
            setattr(args, flag, False)
    return cfg


# commands that read conftest's own configuration too (conftest.toml, CONFTEST_* variables)
CONFTEST_COMMANDS = ("test", "verify")


def _apply_conftest(args: argparse.Namespace, command: str,
                    parser: argparse.ArgumentParser | None) -> None:
    """What a conftest user already has, below the command line and socle.yaml: the
    ``CONFTEST_<FLAG>`` environment variables, then conftest's config file (``--config-file``,
    else ``conftest.toml`` / ``.yaml`` / ``.json`` in the current folder), as conftest reads
    them (flags over variables over the file). Keys socle has no option for are left alone, as
    conftest leaves keys it does not know; paths are as typed, from the current folder."""
    from socle.core.config import load_conftest

    path, found = load_conftest(getattr(args, "config_file", None))
    values = {str(k).lower(): v for k, v in found.items()}  # (viper's keys know no case)
    for name, action in _long_options(command, parser).items():
        if getattr(args, action.dest) not in (None, [], ()):
            continue  # (given on the command line or in socle.yaml)
        env = "CONFTEST_" + name.upper().replace("-", "_")
        raw = os.environ.get(env)
        where, line = (f"${env}", None) if raw is not None else (path, 0)
        if raw is not None:
            value: Any = raw
            if action.nargs == 0:
                if raw not in GO_BOOL:
                    raise UsageError(f"${env}: expected true or false, got {raw!r}")
                value = GO_BOOL[raw]
            elif isinstance(action, argparse._AppendAction):
                value = [x.strip() for x in raw.split(",") if x.strip()]
        elif name in values:
            value = values[name]
        else:
            continue
        try:
            value = config_value(action, value)
        except ValueError as err:
            raise UsageError(f"{name}: {err}", where, line) from None
        if action.nargs == 0:
            if value:
                setattr(args, action.dest, action.const)
        else:
            setattr(args, action.dest, value)


def _long_options(command: str, parser: argparse.ArgumentParser | None
                  ) -> dict[str, argparse.Action]:
    """The command's options by long name without dashes (``fail-on-warn``, ``no-color``)."""
    return {o[2:]: a for a in _command_parser(command, parser)._actions for o in a.option_strings
            if o.startswith("--") and a.dest not in ("help", "config", "config_file")}


def _check_top_level(cfg: Config, command: str) -> None:
    """An unknown key at the top of the config file is an error, as one in a section is: a
    misspelt section (``vaildate:``) or flag (``stict: true``) would otherwise be dropped
    without a word, and the run go on without it."""
    from socle.cli.main import COMMANDS

    known = [*SHARED_KEYS, "paths", *COMMANDS]
    for key in cfg.data:
        if str(key).replace("_", "-") in known:
            continue
        import difflib  # (only for this error: not on every start)

        close = difflib.get_close_matches(str(key), known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if not close and str(key).replace("-", "_") in _actions(command):
            hint = f" (an option of {command}: write it in its section, {command}:)"
        raise UsageError(f"unknown key {key!r}{hint}: the top level holds "
                         f"{', '.join(SHARED_KEYS)}, paths and a section per command",
                         cfg.path, cfg.line_of("", str(key)) or 0)


def _actions(command: str, parser: argparse.ArgumentParser | None = None
             ) -> dict[str, argparse.Action]:
    """The options of ``command`` by destination, as its parser (``parser``, else one built
    for the purpose) defines them."""
    out: dict[str, argparse.Action] = {}
    # (--color and --no-color share a destination: the one taking a value wins)
    for a in _command_parser(command, parser)._actions:
        if a.dest not in out or out[a.dest].nargs == 0:
            out[a.dest] = a
    return out


def _command_parser(command: str, parser: argparse.ArgumentParser | None
                    ) -> argparse.ArgumentParser:
    """``parser``, else one built with ``command``'s options alone."""
    if parser is None:
        import importlib

        from socle.cli.main import COMMANDS

        parser = argparse.ArgumentParser(add_help=False)
        importlib.import_module(COMMANDS[command][0]).add_arguments(parser)
    return parser


def config_value(action: argparse.Action, value: Any) -> Any:
    """A config file's value for an option, checked and converted as the command line's would
    be (a flag takes true or false, a repeatable option a value or a list of them, a number a
    number); ValueError saying what is wrong."""
    def shown(v: Any) -> str:
        return "a list" if isinstance(v, list) else "a mapping" if isinstance(v, dict) else \
            "nothing" if v is None else repr(v)

    if action.nargs == 0:  # a flag
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {shown(value)}")
        return value
    many = isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+")
    items = value if many and isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ValueError(f"expected {'a value or a list of values' if many else 'a value'}"
                             f", got {shown(item)}")
        if isinstance(item, float) and action.type not in (float, int):
            # ("1.30" unquoted is the number 1.3: the text as written is gone)
            raise ValueError(f"{item!r} is a number here (YAML and TOML read 1.30 as 1.3): "
                             "write it in quotes")
        converted: Any = str(item) if not isinstance(item, float) else item
        if callable(action.type):
            try:
                converted = action.type(str(item))
            except (ValueError, TypeError, argparse.ArgumentTypeError) as err:
                raise ValueError(f"invalid value {item!r} ({err})") from None
        if action.choices is not None and converted not in action.choices:
            raise ValueError(f"{item!r} is not one of {', '.join(map(str, action.choices))}")
        out.append(converted)
    return out if many else out[0]


def say_if_nothing_checked(report: Report, command: str, what: str) -> None:
    """A run over input without a resource (an empty folder, a render that printed nothing)
    passes, as the peers' do, and says so on stderr: a gate given a wrong path does not pass
    without a word."""
    if not report.documents and not report.findings:
        print(f"socle {command}: no Kubernetes resource in the input: nothing was {what}",
              file=sys.stderr)


def piped_stdin(fd: int = 0) -> bool:
    """Whether standard input brings data: a pipe, a file or a socket, not a terminal or a
    device such as /dev/null (kubeconform's rule for reading stdin when given no path), and
    not closed."""
    try:
        return not stat.S_ISCHR(os.fstat(fd).st_mode)
    except OSError:
        return False


def use_color(choice: str | None, stream: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _chart_of(file: str, charts: dict[str, str | None]) -> str | None:
    """The Helm chart folder holding ``file`` (a folder with a Chart.yaml above it), if any."""
    folder = os.path.dirname(file) or "."
    seen: list[str] = []
    found: str | None = None
    for _ in range(32):  # (deep enough for any repository; bounded)
        if folder in charts:
            found = charts[folder]
            break
        seen.append(folder)
        if os.path.isfile(os.path.join(folder, "Chart.yaml")):
            found = folder
            break
        parent = os.path.dirname(folder)
        if parent in ("", folder):
            break
        folder = parent
    for f in seen:
        charts[f] = found
    return found


def hint_helm_charts(report: Report) -> None:
    """Say so when a file that cannot be read as a manifest lies in a Helm chart: its
    templates (``{{ ... }}``), Chart.yaml and values.yaml are not manifests until rendered."""
    charts: dict[str, str | None] = {}
    command = report.command or "check"
    flag = "--ignore" if command == "test" else "--ignore-filename-pattern"
    for f in report.findings:
        if f.source != "input" or not f.file or f.file in ("-", "stdin"):
            continue
        chart = _chart_of(f.file, charts)
        if chart is not None and "Helm chart" not in f.message:
            f.message += (f" (in the Helm chart {chart}: render it, `helm template {chart} | "
                          f"socle {command} -`, or leave it out with {flag})")


def emit(report: Report, args: argparse.Namespace) -> None:
    from socle.outputs import WriterOptions, get

    hint_helm_charts(report)

    try:
        writer = get(args.output)
    except KeyError as err:
        raise UsageError(str(err.args[0])) from None
    if args.output_file:
        try:
            with open(args.output_file, "w", encoding="utf-8", errors="backslashreplace") as fh:
                writer.write(report, fh, WriterOptions(False, args.verbose, args.summary))
        except OSError as err:
            raise UsageError(f"cannot write the report to {args.output_file}: "
                             f"{err.strerror or err}") from None
        return
    options = WriterOptions(use_color(args.color, sys.stdout), args.verbose, args.summary)
    writer.write(report, sys.stdout, options)
    sys.stdout.flush()


def _rooted(root: str, value: Any) -> Any:
    if isinstance(value, str):
        return value if os.path.isabs(value) else os.path.join(root, value)
    if isinstance(value, list):
        return [_rooted(root, v) for v in value]
    return value


def string_slice(value: Any) -> list[str]:
    """:func:`as_list`, each item cut at its commas as conftest's repeatable flags (pflag's
    string slices) cut theirs: ``-p rules,lib`` is two policy paths, ``-n a,b`` two
    namespaces; a comma inside one value is written in CSV quotes (``-p '"a,b"'``)."""
    out: list[str] = []
    for item in as_list(value):
        if "," not in item:
            out.append(item)
            continue
        import csv

        for row in csv.reader([item]):
            out.extend(x for x in row if x)
    return out


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
