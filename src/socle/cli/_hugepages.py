"""Transparent huge pages for the heap of a large ``socle check`` or ``socle scan``.

A large check builds a heap of a few hundred MB in its main process (every worker's findings,
documents and objects arrive there) and in its workers. Each 4 KiB page touched for the first
time is a page fault, ~4 µs on the benchmarks' 2-core virtual machine: ~140,000 of them, ~5% of
the CPU of a check of 10,000 documents. glibc (2.35 and later) asks the kernel for transparent
huge pages for its heap when the ``glibc.malloc.hugetlb=1`` tunable is set, which removes a
quarter of those faults and ~6% of the run's time (measured in 6 of 6 paired runs). A tunable is
read when a process starts, so the command starts itself again with it, once, and only where it
pays: on Linux with glibc, when the kernel offers huge pages on request (``madvise`` or
``always``), and when the files named on the command line hold at least
:data:`LARGE_INPUT` bytes (a small run would pay ~30 ms for a second start-up).

``SOCLE_HUGEPAGES=0`` turns it off, ``SOCLE_HUGEPAGES=1`` turns it on whatever the input's size;
a ``GLIBC_TUNABLES`` that already sets ``glibc.malloc.hugetlb`` is left as it is.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # (the first start imports next to nothing: see socle.cli.main)
    from collections.abc import Sequence

LARGE_INPUT = 4 * 1024 * 1024  # bytes of input files from which starting again pays
_TUNABLE = "glibc.malloc.hugetlb"
_THP = "/sys/kernel/mm/transparent_hugepage/enabled"
COMMANDS = frozenset({"check", "scan"})  # (validate's parent holds little: no gain measured)


def _glibc_supports() -> bool:
    try:
        name, version = (os.confstr("CS_GNU_LIBC_VERSION") or "").split()
        major, minor = (int(x) for x in version.split(".")[:2])
    except (ValueError, OSError):  # not glibc (musl), or an odd version string
        return False
    return name == "glibc" and (major, minor) >= (2, 35)


def _kernel_offers() -> bool:
    try:
        with open(_THP, encoding="ascii") as f:
            mode = f.read()
    except OSError:
        return False
    return "[always]" in mode or "[madvise]" in mode


def input_bytes(argv: Sequence[str], limit: int = LARGE_INPUT) -> int:
    """The size of the files and folders (recursively) among ``argv``, counted until it
    reaches ``limit``. Option values count too (a config file, a policy folder): an
    over-estimate by a few KB. Standard input counts as nothing."""
    total = 0
    stack = [a for a in argv if a != "-" and not a.startswith("-")]
    while stack and total < limit:
        path = stack.pop()
        try:
            if os.path.isdir(path):
                with os.scandir(path) as it:
                    for entry in it:
                        if entry.is_dir(follow_symlinks=False):
                            if not entry.name.startswith("."):
                                stack.append(entry.path)
                        elif entry.is_file():
                            total += entry.stat().st_size
            elif os.path.isfile(path):
                total += os.path.getsize(path)
        except OSError:
            continue
    return total


def wanted(verb: str | None, argv: Sequence[str]) -> bool:
    """Whether this run should start again with huge pages for its heap."""
    if verb not in COMMANDS or not sys.platform.startswith("linux"):
        return False
    choice = os.environ.get("SOCLE_HUGEPAGES", "").strip().lower()
    if choice in ("0", "off", "false", "no"):
        return False
    if _TUNABLE in os.environ.get("GLIBC_TUNABLES", ""):
        return False  # set by the user, or by the start before this one
    if not (_glibc_supports() and _kernel_offers()):
        return False
    return choice in ("1", "on", "true", "yes") or input_bytes(argv) >= LARGE_INPUT


def restart_with_huge_pages() -> None:
    """Replace this process by the same command with the tunable set (same pid, same open
    files: nothing has been read or written yet). Returns only if that fails."""
    env = dict(os.environ)
    tunables = env.get("GLIBC_TUNABLES", "")
    env["GLIBC_TUNABLES"] = f"{tunables}:{_TUNABLE}=1" if tunables else f"{_TUNABLE}=1"
    argv = list(getattr(sys, "orig_argv", []) or [sys.executable, *sys.argv])
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(sys.executable, argv, env)
    except OSError:
        return
