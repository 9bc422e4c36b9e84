"""The ``socle`` command: a thin dispatcher to one module per verb.

Imports stay lazy so that ``socle --version`` answers in well under 150 ms, and so that a run
that starts itself again (see :mod:`socle.cli._hugepages`) has imported next to nothing first.
"""

from __future__ import annotations

import os
import sys

from socle import GO_BOOL, __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from typing import NoReturn

# verb -> (module, one-line help). Each module has ``add_arguments(parser)`` and ``run(args)``.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("socle.cli.validate", "check manifests against Kubernetes and CRD schemas"),
    "schemas": ("socle.cli.schemas", "list and export the bundled Kubernetes schemas"),
    "test": ("socle.cli.test", "run Rego policies over config files (conftest test)"),
    "verify": ("socle.cli.verify", "run Rego unit tests (conftest verify, opa test)"),
    "parse": ("socle.cli.parse", "print config files as the policies see them (conftest parse)"),
    "pull": ("socle.cli.pull", "download policy bundles (conftest pull)"),
    "push": ("socle.cli.push", "upload a policy bundle to an OCI registry (conftest push)"),
    "scan": ("socle.cli.scan", "security posture against NSA/CISA, CIS, MITRE ATT&CK, PSS"),
    "check": ("socle.cli.check", "validate + test + scan in one pass: the merge-request gate"),
    "webhook": ("socle.cli.webhook", "admission webhook: the same policies at admission"),
    "gatekeeper": ("socle.cli.gatekeeper",
                   "Gatekeeper templates and constraints offline (gator test, gator verify)"),
}


def register(verb: str, module: str, help_text: str) -> None:
    COMMANDS[verb] = (module, help_text)


def _parser(verb: str | None) -> argparse.ArgumentParser:
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="socle",
        description="socle: schemas, policy and posture for Kubernetes, in one command.",
    )
    parser.add_argument("--version", action="version", version=f"socle {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name == verb:  # import only the verb being run
            importlib.import_module(module).add_arguments(p)
    return parser


def _isolate_native_stderr() -> None:
    """Native libraries (rapidyaml) print their own error text on fd 2. socle reports every
    error itself, once, with file and line: point fd 2 at /dev/null and keep Python's
    ``sys.stderr`` on a duplicate of the real one."""
    try:
        if sys.stderr.fileno() != 2:
            return
        real = os.dup(2)
    except (AttributeError, OSError, ValueError):  # not a real stream (tests capture it)
        return
    sys.stderr.flush()
    stream = os.fdopen(real, "w", buffering=1, encoding=sys.stderr.encoding or "utf-8",
                       errors="backslashreplace")
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = stream


def _go_bool_forms(parser: argparse.ArgumentParser, verb: str | None,
                   args: list[str]) -> tuple[list[str], list[str]]:
    """Go's forms of a boolean flag, as kubeconform's and conftest's users write them
    (argparse refuses a value after a flag): ``-strict=true`` becomes ``-strict``;
    ``--fail-on-warn=false`` is left out, and its destination is returned to be set false
    after parsing (so that it wins over a config file's true). Other arguments, and options
    written out in full as such (``--tls=false`` of pull), are left as they are."""
    import argparse

    if verb is None:
        return args, []
    command = parser
    name: str | None = verb
    while name is not None:  # (down to `socle gatekeeper test`'s own parser)
        sub = next((a for a in command._actions
                    if isinstance(a, argparse._SubParsersAction)), None)
        if sub is None or name not in sub.choices:
            break
        command = sub.choices[name]
        rest = args[args.index(name) + 1:] if name in args else []
        name = next((a for a in rest if not a.startswith("-")), None)
    flags = {o: a for a in command._actions if a.nargs == 0 for o in a.option_strings}
    exact = {o for a in command._actions for o in a.option_strings}
    out: list[str] = []
    falses: list[str] = []
    for i, arg in enumerate(args):
        if arg == "--":
            return out + args[i:], falses
        flag, eq, value = arg.partition("=")
        if eq and flag in flags and arg not in exact and value in GO_BOOL:
            if GO_BOOL[value]:
                out.append(flag)
            elif isinstance(flags[flag], argparse._StoreTrueAction):
                falses.append(flags[flag].dest)
            continue
        out.append(arg)
    return out, falses


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    verb = next((a for a in args_list if not a.startswith("-")), None)
    if verb not in COMMANDS:
        verb = None
    parser = _parser(verb)
    args_list, falses = _go_bool_forms(parser, verb, args_list)
    args = parser.parse_args(args_list)
    for dest in falses:
        setattr(args, dest, False)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    from socle.core.errors import SocleError

    _isolate_native_stderr()
    try:
        os.getcwd()
    except FileNotFoundError:  # (every relative path and the config search would fail)
        print(f"socle {args.command}: the current folder no longer exists (was it deleted?);"
              " change to an existing folder", file=sys.stderr)
        return 2
    import importlib

    module = importlib.import_module(COMMANDS[args.command][0])
    try:
        code: int = module.run(args)
    except SocleError as err:
        print(f"socle {args.command}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("socle: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (| head); exit quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return code


# commands that build a large heap (every document and finding of a run) and end when done
_BATCH = frozenset({"validate", "scan", "check", "test", "gatekeeper"})


def console() -> NoReturn:
    """The ``socle`` command: :func:`main`, then, for a batch command, an exit that skips
    freeing the heap object by object (a check of 10,000 documents holds millions of objects:
    ~0.1-0.2 s). Exit handlers still run and output is flushed first; a process with other
    threads still running exits the usual way."""
    argv = sys.argv[1:]
    # a character UTF-8 has no form for (a lone surrogate some input smuggled through) is
    # written as its escape, "\ud800", rather than stopping the run with a traceback
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    verb = next((a for a in argv if not a.startswith("-")), None)
    fast = verb in _BATCH
    if fast:
        from socle.cli import _hugepages

        if _hugepages.wanted(verb, argv):
            _hugepages.restart_with_huge_pages()  # (returns only if it cannot)
        from socle.core import collector

        collector.exit_soon()
    code = main(argv)
    if fast:
        import atexit
        import threading

        if threading.active_count() == 1:
            atexit._run_exitfuncs()
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except BrokenPipeError:  # the reader went away (| head)
                code = code or 1
            except OSError:
                pass
            os._exit(code)
    sys.exit(code)


if __name__ == "__main__":  # pragma: no cover
    console()
