"""``socle test``, ``socle verify`` and ``socle parse`` as a conftest user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socle.cli.main import main
from socle.policy.engine import available
from socle_testing import SLOW_POLICY, run_socle

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "conftest"
ENGINES = ["regorus", pytest.param("opa", marks=pytest.mark.skipif(
    not available("opa"), reason="opa-golib not installed"))]


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def k8s(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(FIXTURES / "kubernetes")
    return FIXTURES / "kubernetes"


@pytest.mark.parametrize("engine", ENGINES)
def test_failures_exit_1_with_file_line_and_rule(capsys: pytest.CaptureFixture[str], k8s: Path,
                                                 engine: str) -> None:
    code, out, _ = run(capsys, "test", "--engine", engine, "deployment.yaml", "service.yaml")
    assert code == 1
    assert ("deployment.yaml:1: high Deployment hello-kubernetes: Containers must not run as "
            "root in Deployment hello-kubernetes [main.deny]") in out
    assert "[main.warn_replicas]" in out and "medium" in out
    assert "deployment.yaml:21: info" in out  # the exception, shown by default


def test_clean_input_exits_0_and_no_fail(capsys: pytest.CaptureFixture[str], k8s: Path) -> None:
    assert run(capsys, "test", "good.json")[0] == 0
    assert run(capsys, "test", "--no-fail", "deployment.yaml")[0] == 0
    code, out, _ = run(capsys, "test", "--suppress-exceptions", "deployment.yaml")
    assert code == 1 and "excepted" not in out


def test_fail_on_warn(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "namespaces")
    assert run(capsys, "test", "-n", "team.labels", "nokind.yaml")[0] == 0
    assert run(capsys, "test", "-n", "team.labels", "--fail-on-warn", "nokind.yaml")[0] == 1


def test_table_and_json_outputs(capsys: pytest.CaptureFixture[str], k8s: Path) -> None:
    code, out, _ = run(capsys, "test", "-o", "table", "deployment.yaml")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("+--") and "RESULT" in lines[1] and "NAMESPACE" in lines[1]
    assert any(line.startswith("| failure   | deployment.yaml | main") for line in lines)
    assert any(line.startswith("| exception ") for line in lines)
    code, out, _ = run(capsys, "test", "-o", "json", "deployment.yaml")
    doc = json.loads(out)
    assert {f["ruleId"] for f in doc["findings"]} >= {"main.deny", "main.violation_latest_tag"}
    assert all(f["source"] == "policy" for f in doc["findings"])


def test_policy_flag_data_and_combine(capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES)
    code, out, _ = run(capsys, "test", "-p", "data/policy", "-d", "data/data", "data/pod.yaml")
    assert code == 1 and "busybox" in out
    code, out, _ = run(capsys, "test", "-p", "combine/policy", "--combine",
                       "combine/deployment.yaml", "combine/service.yaml")
    assert code == 1 and out.startswith("Combined: high")


def test_stdin_with_parser(capsys: pytest.CaptureFixture[str], k8s: Path,
                           monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    data = (FIXTURES / "kubernetes" / "good.json").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    assert run(capsys, "test", "--parser", "json", "-")[0] == 0


def test_compile_error_is_one_line_exit_2(capsys: pytest.CaptureFixture[str],
                                          tmp_path: Path) -> None:
    (tmp_path / "bad.rego").write_text("package main\n\ndeny contains msg if {\n  msg := \n}\n")
    (tmp_path / "in.json").write_text("{}")
    code, out, err = run(capsys, "test", "-p", str(tmp_path / "bad.rego"),
                         str(tmp_path / "in.json"))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"{tmp_path / 'bad.rego'}:4" in err


def test_v0_flag(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "v0")
    assert run(capsys, "test", "service.yaml")[0] == 2  # v0 syntax under the default v1
    code, out, _ = run(capsys, "test", "--rego-version", "v0", "service.yaml")
    assert code == 1 and "port 80 is privileged" in out


def test_missing_inputs_and_policies(capsys: pytest.CaptureFixture[str], k8s: Path) -> None:
    code, _, err = run(capsys, "test", "nope.yaml")
    assert code == 2 and "nope.yaml" in err
    code, _, err = run(capsys, "test", "-p", "nowhere", "good.json")
    assert code == 2 and "nowhere" in err


def test_verify(capsys: pytest.CaptureFixture[str], k8s: Path, tmp_path: Path) -> None:
    code, out, _ = run(capsys, "verify", "-v")
    assert code == 0 and "PASS: 4/4" in out
    assert "data.main.test_root_is_denied: PASS (" in out
    (tmp_path / "t_test.rego").write_text("package main\n\ntest_bad if 1 == 2\n")
    code, out, _ = run(capsys, "verify", "-p", str(tmp_path))
    assert code == 1 and "FAIL: 0/1" in out and "t_test.rego:3" in out
    code, out, _ = run(capsys, "verify", "--coverage", "--run", "replica")
    assert code == 0 and "coverage: policy/deny.rego:" in out and "PASS: 1/1" in out


def test_parse_prints_conftest_json(capsys: pytest.CaptureFixture[str], k8s: Path) -> None:
    code, out, _ = run(capsys, "parse", "service.yaml")
    assert code == 0
    assert json.loads(out)["metadata"]["name"] == "hello-kubernetes"
    assert out.startswith('{\n  "apiVersion"')
    code, out, _ = run(capsys, "parse", "deployment.yaml", "good.json")
    both = json.loads(out)
    assert len(both["deployment.yaml"]) == 2 and both["good.json"]["kind"] == "Deployment"
    code, out, _ = run(capsys, "parse", "--combine", "good.json")
    assert json.loads(out) == [{"path": "good.json", "contents": both["good.json"]}]
    assert "\n\t{" in out


def _timed_test(policy: Path, document: Path, timeout: str) -> subprocess.CompletedProcess[str]:
    """``socle test --timeout`` in a process of its own (the limit forks and kills)."""
    return subprocess.run(
        [sys.executable, "-m", "socle.cli.main", "test", "--timeout", timeout,
         "-p", str(policy), str(document)],
        capture_output=True, text=True, timeout=60, check=False,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")})


def test_a_policy_that_runs_forever_is_stopped(tmp_path: Path) -> None:
    (tmp_path / "slow.rego").write_text(SLOW_POLICY)
    (tmp_path / "in.json").write_text("{}")
    proc = _timed_test(tmp_path / "slow.rego", tmp_path / "in.json", "0.5")
    assert proc.returncode == 2
    assert "in.json: policy evaluation took longer than 0.5s" in proc.stderr
    assert "Traceback" not in proc.stderr


def _socle_with(patch: str, *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    """``socle ARGS`` in a process of its own, run after ``patch`` (Python code importing what
    it needs; ``sys`` is imported)."""
    script = f"import sys\n{patch}from socle.cli.main import main\nsys.exit(main(sys.argv[1:]))\n"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2] / "src")}
    kw.setdefault("capture_output", "stdout" not in kw)
    return subprocess.run([sys.executable, "-c", script, *args], text=True, timeout=60,
                          check=False, env=env, **kw)


def test_the_time_limit_holds_where_the_kernel_has_no_pidfd_open(tmp_path: Path) -> None:
    # (Linux before 5.3, some seccomp profiles and sandboxes answer ENOSYS): the supervisor
    # polls instead, and the run ends as it does with it, not with a traceback
    (tmp_path / "slow.rego").write_text(SLOW_POLICY)
    (tmp_path / "in.json").write_text("{}")
    (tmp_path / "deny.rego").write_text('package main\n\ndeny contains "no" if input.x\n')
    (tmp_path / "x.json").write_text('{"x": true}')
    refuse = ("import errno, os\n"
              "def refuse(pid, flags=0):\n"
              "    raise OSError(errno.ENOSYS, 'Function not implemented')\n"
              "os.pidfd_open = refuse\n")
    for policy, doc, code, said in (("slow.rego", "in.json", 2, "took longer than 0.5s"),
                                    ("deny.rego", "x.json", 1, "no")):
        proc = _socle_with(refuse, "test", "--timeout", "0.5", "-p", str(tmp_path / policy),
                           str(tmp_path / doc))
        assert proc.returncode == code, proc.stderr
        assert said in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_supervised_run_ends_when_its_child_has_said_how_it_ended(tmp_path: Path) -> None:
    """The supervisor ends with the child's exit code as soon as the child has written its
    output and sent the code, not when the kernel is done freeing the child's heap (here a
    child that lingers 20 s after sending it); a child killed without sending a code still
    gives the shell's 128 + N."""
    import time

    (tmp_path / "deny.rego").write_text('package main\n\ndeny contains "no" if input.x\n')
    (tmp_path / "x.json").write_text('{"x": true}')
    lingering = ("import os, time\n"
                 "real = os._exit\n"
                 "def slow(code):\n"
                 "    if os.environ.get('SOCLE_TEST_PARENT') != str(os.getpid()):\n"
                 "        time.sleep(20)\n"
                 "    real(code)\n"
                 "os._exit = slow\n"
                 "os.environ['SOCLE_TEST_PARENT'] = str(os.getpid())\n")
    killed = ("import os, signal\n"
              "import socle.policy.conftest as c\n"
              "def die(self, target, report):\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n"
              "c.Runner.check = die\n")
    args = ["test", "--timeout", "10", "-p", str(tmp_path / "deny.rego"), str(tmp_path / "x.json")]
    began = time.monotonic()
    proc = _socle_with(lingering, *args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    # (the lingering child holds stdout, a pipe, open: it closes when the supervisor ends,
    # the child being killed with its parent, as it always was)
    assert proc.returncode == 1 and "no" in proc.stdout
    assert time.monotonic() - began < 15
    proc = _socle_with(killed, *args)
    assert proc.returncode == 128 + 9, proc.stderr


def test_a_policy_the_parser_chokes_on_is_stopped_too(tmp_path: Path) -> None:
    # regorus' parser takes time exponential in the nesting of array literals: 30 levels
    # would run for hours; loading the policies is under the same time limit as evaluating
    depth = 30
    (tmp_path / "nested.rego").write_text(
        "package main\nimport rego.v1\nx := " + "[" * depth + "1" + "]" * depth + "\n")
    (tmp_path / "in.json").write_text("{}")
    proc = _timed_test(tmp_path / "nested.rego", tmp_path / "in.json", "1")
    assert proc.returncode == 2
    assert "nested.rego (parsing the policy): policy evaluation took longer than 1s" \
        in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(not available("opa"), reason="opa-golib not installed")
def test_trace_with_opa(capsys: pytest.CaptureFixture[str], k8s: Path) -> None:
    code, out, err = run(capsys, "test", "--engine", "opa", "--trace", "good.json")
    assert code == 0 and out == ""
    # conftest's layout: a header per file and query, then OPA's trace lines
    assert err.startswith("file: good.json | query: data.main.")
    assert "TRAC Enter data.main.deny" in err


def test_config_policy_and_data_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    # test.policy and test.data in socle.yaml name the same folders from a subfolder
    from socle_testing import run_socle

    (tmp_path / ".git").mkdir()
    (tmp_path / "socle.yaml").write_text(
        "test:\n  policy: [rules]\n  data: [rules/data.yaml]\n", encoding="utf-8")
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "p.rego").write_text(
        'package main\n\nimport rego.v1\n\ndeny contains "banned" if '
        "input.name in data.banned\n", encoding="utf-8")
    (tmp_path / "rules" / "data.yaml").write_text("banned: [x]\n", encoding="utf-8")
    (tmp_path / "apps").mkdir()
    (tmp_path / "apps" / "a.yaml").write_text("name: x\n", encoding="utf-8")
    at_root = run_socle("test", "apps/a.yaml", cwd=tmp_path)
    below = run_socle("test", "a.yaml", cwd=tmp_path / "apps")
    assert at_root.code == below.code == 1, at_root.err + below.err
    assert "banned" in at_root.out and "banned" in below.out


@pytest.mark.parametrize("engine", ["compiled", *ENGINES])
def test_a_policy_saved_with_a_byte_order_mark_and_crlf_is_read(tmp_path: Path,
                                                                 engine: str) -> None:
    # (Notepad's UTF-8: conftest reads it; socle stopped at "invalid character", and with the
    # opa engine found no package and passed everything)
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_bytes(
        b'\xef\xbb\xbfpackage main\r\nimport rego.v1\r\n\r\ndeny contains "cm" if {\r\n'
        b'  input.kind == "ConfigMap"\r\n}\r\n')
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    r = run_socle("test", "-p", "policy", "--engine", engine, "a.yaml", cwd=tmp_path)
    assert r.code == 1, r.err
    assert "a.yaml:1: high ConfigMap a: cm [main.deny]" in r.out


def test_a_character_utf8_cannot_hold_is_written_as_its_escape(tmp_path: Path) -> None:
    # the last line of defence: if a lone surrogate reaches the output (no reader lets one
    # through now), the console writes its escape instead of stopping with a traceback
    (tmp_path / "a.yaml").write_text("a: 1\n", encoding="utf-8")
    code = ("import sys\n"
            "import socle.cli.parse as p\n"
            "p.go_json = lambda value, indent, sort=True: '{\"a\": \"x\\ud800y\"}'\n"
            "from socle.cli.main import console\n"
            "sys.argv = ['socle', 'parse', 'a.yaml']\n"
            "console()\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60, check=False)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == 0
    assert json.loads(proc.stdout) == {"a": "x\ud800y"}  # (json reads the escape back)


def test_a_run_that_tests_nothing_says_so(tmp_path: Path) -> None:
    # a namespace with no rule (a typo, a pattern matching no package): conftest says
    # "0 tests" and passes; socle passes too and says why on stderr
    policy = tmp_path / "policy"
    policy.mkdir()
    (policy / "p.rego").write_text('package k8s\n\ndeny contains "x" if true\n')
    (tmp_path / "cm.yaml").write_text("kind: ConfigMap\n")
    for names in (["-n", "k9s"], ["-n", "k9*"]):
        r = run_socle("test", "-p", str(policy), *names, str(tmp_path / "cm.yaml"))
        assert (r.code, r.out) == (0, "")
        assert r.err == (f"socle test: no deny, warn or violation rule in namespace {names[1]} "
                         "of the policies: nothing was tested (conftest passes such a run too)\n")
    r = run_socle("test", "-p", str(policy), "-n", "k8s", str(tmp_path / "cm.yaml"))
    assert r.code == 1 and r.err == ""
