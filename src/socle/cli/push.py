"""``socle push``: upload policies and data to an OCI registry (conftest push)."""

from __future__ import annotations

import argparse
import sys

from socle.cli.pull import add_registry_arguments, apply_section


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Upload the .rego files of the policy folder and the .json/.yaml data files as one OCI "
        "artifact in conftest's layout (one layer per file). The tag defaults to latest; "
        "localhost and 127.0.0.1 registries are reached over plain http.")
    p.add_argument("reference", metavar="REF",
                   help="[oci://]host[:port]/repository[:tag]")
    p.add_argument("path", nargs="?", default=None, metavar="DIR",
                   help="policy folder (same as --policy; conftest's older form)")
    p.add_argument("-p", "--policy", dest="policy", default=None, metavar="DIR",
                   help="folder of .rego files to push (default policy)")
    p.add_argument("-d", "--data", dest="data", default=None, metavar="DIR",
                   help="folder of data files to push (default: the policy folder)")
    p.add_argument("--timeout", dest="timeout", type=float, default=None, metavar="SECONDS",
                   help="network timeout per request (default 60)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    add_registry_arguments(p)


def run(args: argparse.Namespace) -> int:
    from socle.policy.bundles import push

    apply_section(args, "push", {"policy": "policy", "data": "data", "tls": "tls",
                                 "timeout": "timeout"})
    policy = args.policy or args.path or "policy"
    result = push(args.reference, policy, args.data, tls=args.tls,
                  timeout=args.timeout or 60.0)
    if not args.quiet:
        n = len(result.files)
        print(f"pushed {n} file{'s' if n != 1 else ''} to {result.reference} "
              f"with digest {result.digest}", file=sys.stdout)
    return 0
