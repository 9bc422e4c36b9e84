"""``socle pull``: download policy bundles into the policy folder (conftest pull)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from socle import GO_BOOL
from socle.core.errors import UsageError

_SIZE_UNITS = {"": 1, "k": 1024, "kb": 1024, "ki": 1024, "kib": 1024, "m": 1024**2,
               "mb": 1024**2, "mi": 1024**2, "mib": 1024**2, "g": 1024**3, "gb": 1024**3,
               "gi": 1024**3, "gib": 1024**3}


def parse_bool(value: str) -> bool:
    low = str(value).strip().lower()
    if low in ("1", "t", "true", "yes", "on"):
        return True
    if low in ("0", "f", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, got {value!r}")


def parse_size(value: str) -> int:
    import re

    m = re.fullmatch(r"\s*([0-9]+)\s*([A-Za-z]*)\s*", str(value))
    if not m or m.group(2).lower() not in _SIZE_UNITS:
        raise argparse.ArgumentTypeError(f"expected a size such as 200MiB, got {value!r}")
    return int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]


def add_registry_arguments(p: argparse.ArgumentParser) -> None:
    """--tls / --insecure, shared by pull and push (conftest's -s/--tls)."""
    p.add_argument("-s", "--tls", dest="tls", action="store_const", const=True, default=None,
                   help="use TLS to reach the registry (default: yes, except plain http for "
                        "localhost and 127.0.0.1 as conftest does); --tls=false for plain http")
    # conftest's boolean flag forms; an exact option string wins over argparse's '=' split,
    # so `--tls URL` never swallows the URL
    for word, value in GO_BOOL.items():
        p.add_argument(f"--tls={word}", f"-s={word}", dest="tls", action="store_const",
                       const=value, help=argparse.SUPPRESS)
    p.add_argument("--insecure", dest="tls", action="store_const", const=False,
                   help="plain http to the registry (same as --tls=false)")
    p.add_argument("--config", default=None,
                   help="config file (default: socle.yaml at the repository root)")


def apply_section(args: argparse.Namespace, command: str, keys: dict[str, str]) -> None:
    """Fill unset options from the ``command`` section of socle.yaml (long flag names)."""
    from socle.core.config import SHARED_KEYS
    from socle.core.config import load as load_config

    cfg = load_config(getattr(args, "config", None), ".")
    for key, value in cfg.for_command(command).items():
        if key in SHARED_KEYS:
            continue
        attr = keys.get(key)
        if attr is None:
            raise UsageError(f"unknown option {key!r} for {command}", cfg.path)
        if getattr(args, attr, None) is None:
            setattr(args, attr, _coerce(attr, value, cfg.path))


def _coerce(attr: str, value: Any, where: str | None) -> Any:
    try:
        if attr == "tls":
            return value if isinstance(value, bool) else parse_bool(str(value))
        if attr == "max_size":
            return value if isinstance(value, int) else parse_size(str(value))
    except argparse.ArgumentTypeError as err:
        raise UsageError(f"{attr.replace('_', '-')}: {err}", where) from None
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Download policies into the policy folder, merging with what is there. URL forms "
        "(conftest's): a local path; https://host/bundle.tar.gz?checksum=sha256:<hex>; "
        "git::https://host/org/repo.git//sub/folder?ref=v1; oci://host/repo:tag or "
        "host/repo:tag. Nothing is written unless every URL was fetched and checked.")
    p.add_argument("urls", nargs="+", metavar="URL", help="where to download policies from")
    p.add_argument("-p", "--policy", dest="policy", default=None, metavar="DIR",
                   help="folder to download the policies into (default policy)")
    p.add_argument("--max-size", dest="max_size", type=parse_size, default=None,
                   metavar="SIZE", help="largest download; an unpacked bundle may be 5 times "
                                        "that (default 100MiB)")
    p.add_argument("--timeout", dest="timeout", type=float, default=None, metavar="SECONDS",
                   help="network timeout per request (default 60)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    add_registry_arguments(p)


def run(args: argparse.Namespace) -> int:
    from socle.policy.bundles import Limits, pull_all

    apply_section(args, "pull", {"policy": "policy", "tls": "tls", "max-size": "max_size",
                                 "timeout": "timeout"})
    limits = Limits()
    if args.max_size is not None:
        if args.max_size <= 0:
            raise UsageError("--max-size must be positive")
        limits = Limits(max_download=args.max_size, max_extract=5 * args.max_size)
    results = pull_all(args.urls, args.policy or "policy", tls=args.tls, limits=limits,
                       timeout=args.timeout or 60.0)
    if not args.quiet:
        for r in results:
            n = len(r.files)
            print(f"pulled {n} file{'s' if n != 1 else ''} from {r.url} into {r.dest}",
                  file=sys.stdout)
    return 0
