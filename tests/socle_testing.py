"""Helpers for the tests: run the real `socle` command in a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_socle(*args: str, stdin: str | bytes | None = None, cwd: str | Path | None = None,
              env: dict[str, str] | None = None, timeout: float = 120) -> Result:
    """Run `socle ARGS` as a user would; CI is unset so progress rules are the terminal's."""
    full_env = dict(os.environ)
    full_env.pop("CI", None)
    if env:
        full_env.update(env)
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "socle.cli.main", *args], input=data, capture_output=True,
        cwd=cwd, env=full_env, timeout=timeout, check=False)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))
