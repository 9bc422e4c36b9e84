"""``socle parse``: print config files as the policies see them (``conftest parse``).

Output matches conftest: one file prints its value as JSON (2-space indent, sorted keys);
several files print one object keyed by path; ``--combine`` prints the combined input
(``[{"path", "contents"}]``, tab indent). A multi-document file is a list of its documents.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from socle.core.errors import SocleError, UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="*", metavar="FILE", help="files to parse; - for stdin")
    p.add_argument("--parser", dest="parser", default=None,
                   help="parse every file with this format (yaml, json, toml, hcl2, ...)")
    p.add_argument("--combine", dest="combine", action="store_true",
                   help="print the combined input socle test --combine evaluates")


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def go_json(value: Any, indent: str, sort: bool = True) -> str:
    """JSON as Go's MarshalIndent writes it (map keys sorted, <, > and & escaped); with
    ``sort=False`` the caller has ordered the keys (Go structs keep their field order)."""
    text = json.dumps(value, indent=indent, sort_keys=sort, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def parse_value(path: str, parser: str | None) -> Any:
    from socle.policy.conftest import parse_file

    docs = parse_file(path, parser)
    for d in docs:
        if d.error is not None:
            raise d.error
    objs = [d.obj for d in docs]
    return objs[0] if len(objs) == 1 else objs


def run(args: argparse.Namespace) -> int:
    if not args.paths:
        raise UsageError("must supply path to at least one file")
    values: dict[str, Any] = {}
    for p in args.paths:
        try:
            values[p] = parse_value(p, args.parser)
        except SocleError as err:
            if not err.file:
                err.file = p
            raise
    if args.combine:
        from socle.policy.conftest import combined_entries

        entries = [{"path": e["path"], "contents": _sorted(e["contents"])}
                   for k, v in values.items() for e in combined_entries(k, v)]
        text = go_json(entries, "\t", sort=False) + "\n"
    elif len(values) == 1:
        text = go_json(next(iter(values.values())), "  ")
    else:
        text = go_json(values, "  ")
    sys.stdout.write(text + "\n")
    return 0
