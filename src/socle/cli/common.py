"""Flags and plumbing shared by every verb: output selection, config defaults, exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from socle.core.config import Config
from socle.core.config import load as load_config
from socle.core.errors import UsageError
from socle.core.finding import Report


def add_output_arguments(parser: argparse.ArgumentParser, default: str = "text") -> None:
    g = parser.add_argument_group("output")
    g.add_argument("-o", "--output", "-output", dest="output", default=None,
                   help=f"report format: text, json, junit, tap, sarif, github (default {default})")
    g.add_argument("--output-file", dest="output_file", default=None,
                   help="write the report to this file instead of standard output")
    g.add_argument("--summary", "-summary", dest="summary", action="store_true", default=None,
                   help="print a summary line (text output)")
    g.add_argument("--verbose", "-verbose", "-v", dest="verbose", action="store_true",
                   default=None, help="also list what passed and what was skipped")
    g.add_argument("--color", choices=("auto", "always", "never"), default=None,
                   help="colour in text output (default auto: only on a terminal)")
    g.add_argument("--config", default=None,
                   help="config file (default: socle.yaml or [tool.socle] in pyproject.toml "
                        "at the repository root)")
    parser.set_defaults(_default_output=default)


# options whose values are files or folders: from the config file, relative to its folder
_PATH_OPTIONS = {"test": {"policy", "data"}, "verify": {"policy", "data"},
                 "scan": {"exceptions", "controls-dir", "framework-file"}}


def apply_config(args: argparse.Namespace, command: str, start: str | None = None) -> Config:
    """Fill every option the user did not give from the config file, then the built-in default.

    Options left as ``None`` by argparse are unset; keys in the file use long flag names.
    """
    if start is None:
        # the repository of the first input path, else the current folder
        paths = [p for p in getattr(args, "paths", None) or [] if p != "-" and os.path.exists(p)]
        start = paths[0] if paths else "."
    cfg = load_config(getattr(args, "config", None), start)
    values = cfg.for_command(command)
    for key, value in values.items():
        attr = key.replace("-", "_")
        if not hasattr(args, attr):
            raise UsageError(f"unknown option {key!r} for {command}", cfg.path)
        if getattr(args, attr) in (None, [], ()):
            if key in _PATH_OPTIONS.get(command, ()) and cfg.path is not None:
                value = _rooted(cfg.root, value)
            setattr(args, attr, value)
    if getattr(args, "output", None) is None:
        args.output = getattr(args, "_default_output", "text")
    for flag in ("summary", "verbose"):
        if getattr(args, flag, None) is None:
            setattr(args, flag, False)
    return cfg


def use_color(choice: str | None, stream: TextIO) -> bool:
    if choice == "always":
        return True
    if choice == "never" or os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def emit(report: Report, args: argparse.Namespace) -> None:
    from socle.outputs import WriterOptions, get

    try:
        writer = get(args.output)
    except KeyError as err:
        raise UsageError(str(err.args[0])) from None
    if args.output_file:
        with open(args.output_file, "w", encoding="utf-8") as fh:
            writer.write(report, fh, WriterOptions(False, args.verbose, args.summary))
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


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]
