"""``--strict`` against a real conftest binary (v0.71.1, OPA's own strict mode): for every case
under tests/compat/conftest_strict/, socle (each engine) and ``conftest test --strict`` report
the same ``file:line: message`` lines, and clean policies pass both."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from socle_testing import conftest_peer

ROOT = Path(__file__).resolve().parents[2]
STRICT = ROOT / "tests" / "compat" / "conftest_strict"
pytestmark = pytest.mark.conftest

_, CONFTEST, SOCLE = conftest_peer()
PROBLEM = re.compile(r"^(?:.*?: )?(?P<line>[^\s:]+\.rego:\d+: rego_[a-z_]+: .*)$")
CASES = sorted(p.name for p in STRICT.iterdir() if p.is_dir())


def _problems(cmd: list[str], cwd: Path) -> tuple[list[str], int]:
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=120, env=env)
    out = []
    for line in (done.stdout + done.stderr).splitlines():
        m = PROBLEM.match(line.strip())
        if m:
            out.append(m.group("line"))
    return sorted(out), done.returncode


@pytest.mark.parametrize("engine", ["regorus", "opa"])
@pytest.mark.parametrize("case", CASES)
def test_strict_matches_conftest(case: str, engine: str) -> None:
    from socle.policy.engine import available

    if not available(engine):
        pytest.skip(f"the {engine} engine is not installed")
    cwd = STRICT / case
    theirs, their_code = _problems([str(CONFTEST), "test", "--strict", "in.yaml"], cwd)
    ours, our_code = _problems([*SOCLE, "test", "--strict", "--engine", engine, "in.yaml"],
                               cwd)
    assert ours == theirs
    if theirs:
        assert (our_code, their_code) == (2, 1)  # conftest uses 1 for unusable policies
    else:
        assert our_code == 0
