"""Helpers for the tests: run the real `socle` command in a child process."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

# a conftest policy whose deny rule would run for minutes (for the time-limit tests)
SLOW_POLICY = ("package main\n\ndeny contains \"slow\" if {\n"
               "  count([1 | some i in numbers.range(1, 50000); some j in numbers.range(1, 50000); "
               "i == j + 100000]) > 0\n}\n")


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
    # without input: /dev/null, never the test process's own stdin (under xdist, the pipe its
    # worker talks on), which `socle validate` with no path would read as kubeconform does
    feed: dict[str, Any] = {"input": data} if data is not None else {"stdin": subprocess.DEVNULL}
    proc = subprocess.run(
        [sys.executable, "-m", "socle.cli.main", *args], capture_output=True,
        cwd=cwd, env=full_env, timeout=timeout, check=False, **feed)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


def load_module(name: str, path: Path) -> ModuleType:
    """Import a script (a bench runner, say) by path, once per test process."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def conftest_peer() -> tuple[ModuleType, Path, list[str]]:
    """For a module of differential tests against conftest: the policy benchmark's helpers,
    the conftest binary ($CONFTEST, PATH, Go's bin folders) and the socle command; the module
    is skipped when conftest is not built."""
    import pytest

    bench = load_module("socle_bench_policy_run", ROOT / "bench" / "policy" / "run.py")
    conftest = bench.find_conftest()
    if conftest is None:
        pytest.skip("conftest not built (go install "
                    "github.com/open-policy-agent/conftest@v0.71.1, or set $CONFTEST)",
                    allow_module_level=True)
    return bench, Path(conftest), bench.socle_command()


def value_paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value in a decoded document, itself (``()``) included, parents
    first."""
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += value_paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += value_paths(v, (*prefix, i))
    return out


def value_at(value: Any, path: tuple[Any, ...]) -> Any:
    """The value at ``path`` (one of :func:`value_paths`) in ``value``."""
    for key in path:
        value = value[key]
    return value
