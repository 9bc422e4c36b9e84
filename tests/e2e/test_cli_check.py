"""`socle check` end to end: validate + test + scan in one pass, one report, one exit code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from socle_testing import ROOT, SLOW_POLICY, Result, run_socle

# `check` is registered in socle.cli.main by the lead; until then the tests register it.
_RUN = ("import sys; from socle.cli.main import COMMANDS, main, register\n"
        "if 'check' not in COMMANDS:\n"
        "    register('check', 'socle.cli.check', 'validate, test and scan in one pass')\n"
        "sys.exit(main())")


def run_check(*args: str, stdin: str | None = None, cwd: Path | str | None = None) -> Result:
    env = dict(os.environ)
    env.pop("CI", None)
    proc = subprocess.run([sys.executable, "-c", _RUN, "check", *args],
                          input=stdin.encode() if stdin is not None else None,
                          capture_output=True, cwd=cwd, env=env, timeout=180, check=False)
    return Result(proc.returncode, proc.stdout.decode("utf-8", "replace"),
                  proc.stderr.decode("utf-8", "replace"))


def deployment(name: str = "web", *, privileged: bool = False, replicas: Any = 2,
               escalation: bool = False, extra_container: str = "",
               labels: str = "{app: web, app.kubernetes.io/part-of: shop}") -> str:
    sc = "privileged: true" if privileged else "allowPrivilegeEscalation: " + (
        "true" if escalation else "false")
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
  namespace: shop
  labels: {labels}
spec:
  replicas: {replicas}
  selector:
    matchLabels: {{app: {name}}}
  template:
    metadata:
      labels: {{app: {name}}}
    spec:
      containers:
        - name: app
          image: registry.example.com/shop/{name}:1.0.0
          securityContext:
            {sc}
{extra_container}"""


SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: shop
spec:
  selector: {{app: {selector}}}
  ports:
    - port: 80
"""

POLICY = """\
package main

import rego.v1

deny contains msg if {
\tinput.kind == "Deployment"
\tnot input.metadata.labels["app.kubernetes.io/part-of"]
\tmsg := sprintf("%s has no part-of label", [input.metadata.name])
}

warn contains msg if {
\tinput.kind == "Deployment"
\tinput.spec.replicas < 2
\tmsg := sprintf("%s runs one replica", [input.metadata.name])
}
"""

# Only the two oldest controls, so that these tests do not move when controls are added.
CONFIG = """\
validate:
  strict: true
scan:
  controls: [SCL-001, SCL-002]
"""


def repo(tmp: Path, files: dict[str, str], config: str = CONFIG,
         policy: str | None = POLICY) -> Path:
    root = tmp / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "socle.yaml").write_text(config)
    if policy is not None:
        (root / "policy").mkdir()
        (root / "policy" / "main.rego").write_text(policy)
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def findings(r: Result) -> list[dict[str, Any]]:
    assert r.out.strip(), r.err
    data: dict[str, Any] = json.loads(r.out)
    out: list[dict[str, Any]] = data["findings"]
    return out


def by_source(items: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in items:
        out.setdefault(f["source"], set()).add(f["ruleId"])
    return out


def test_example_repository_passes_all_three_checks() -> None:
    r = run_check("--summary", str(ROOT / "examples" / "repo"))
    assert r.code == 0, r.out + r.err
    assert "Checks: validate, test, scan" in r.out
    assert "Invalid: 0, Errors: 0" in r.out


def test_one_report_keeps_each_findings_source(tmp_path: Path) -> None:
    bad = deployment(privileged=True, labels="{app: web}", replicas='"two"')
    root = repo(tmp_path, {"apps/web.yaml": bad})
    r = run_check("-o", "json", str(root))
    assert r.code == 1, r.err
    got = by_source(findings(r))
    assert got["schema"] == {"schema/type"}
    assert got["policy"] == {"main.deny"}
    assert got["security"] == {"SCL-001", "SCL-002"}  # privileged always allows escalation
    for f in findings(r):
        assert f["file"].endswith("web.yaml") and f["line"] > 0


def test_clean_input_exits_0_and_lists_what_ran(tmp_path: Path) -> None:
    root = repo(tmp_path, {"apps/web.yaml": deployment() + "---\n" +
                           SERVICE.format(name="web", selector="web")})
    r = run_check("--summary", str(root))
    assert r.code == 0, r.out + r.err
    assert "Checks: validate, test, scan" in r.out


@pytest.mark.parametrize(("flag", "gone"), [("--no-validate", "schema"),
                                            ("--no-test", "policy"),
                                            ("--no-scan", "security")])
def test_each_checker_can_be_turned_off(tmp_path: Path, flag: str, gone: str) -> None:
    bad = deployment(privileged=True, labels="{app: web}", replicas='"two"')
    root = repo(tmp_path, {"web.yaml": bad})
    r = run_check("-o", "json", flag, str(root))
    assert r.code == 1
    got = by_source(findings(r))
    assert gone not in got
    assert len(got) == 2


def test_config_sections_give_each_checker_its_defaults(tmp_path: Path) -> None:
    # an unknown field fails only under validate.strict; SCL-002 is out of the framework
    extra = "          unknownField: 1\n"
    text = deployment(escalation=True, extra_container=extra)
    root = repo(tmp_path, {"web.yaml": text})
    r = run_check("-o", "json", str(root))
    got = by_source(findings(r))
    assert got == {"schema": {"schema/additional-properties"}, "security": {"SCL-002"}}
    (root / "socle.yaml").write_text("validate:\n  strict: false\nscan:\n  controls: [SCL-001]\n")
    r = run_check("-o", "json", str(root))
    assert r.code == 0, r.out + r.err
    assert findings(r) == []


def test_severity_thresholds_follow_each_section(tmp_path: Path) -> None:
    # SCL-002 is medium: scan.severity-threshold high lets it pass, as `socle scan` would
    root = repo(tmp_path, {"web.yaml": deployment(escalation=True)},
                config=CONFIG + "  severity-threshold: high\n")
    r = run_check("-o", "json", str(root))
    assert r.code == 0, r.err
    assert by_source(findings(r)) == {"security": {"SCL-002"}}
    r = run_check("--severity-threshold", "medium", str(root))
    assert r.code == 1


def test_policy_warnings_fail_only_with_fail_on_warn(tmp_path: Path) -> None:
    root = repo(tmp_path, {"web.yaml": deployment(replicas=1)})
    r = run_check("-o", "json", str(root))
    assert r.code == 0, r.err
    assert by_source(findings(r)) == {"policy": {"main.warn"}}
    (root / "socle.yaml").write_text(CONFIG + "test:\n  fail-on-warn: true\n")
    assert run_check(str(root)).code == 1


def test_policy_flag_and_framework_flag_override_the_config(tmp_path: Path) -> None:
    root = repo(tmp_path, {"web.yaml": deployment(labels="{app: web}")}, policy=None)
    r = run_check("-o", "json", str(root))  # no policy folder: test is skipped
    assert r.code == 0, r.err
    other = tmp_path / "rules"
    other.mkdir()
    (other / "p.rego").write_text(POLICY)
    r = run_check("-o", "json", "--policy", str(other), str(root))
    assert r.code == 1
    assert by_source(findings(r)) == {"policy": {"main.deny"}}
    # a framework without SCL-002 (pss-baseline) drops the medium finding
    (root / "socle.yaml").write_text("scan:\n  controls: [SCL-002]\n")
    esc = repo(tmp_path / "b", {"web.yaml": deployment(escalation=True)},
               config="scan:\n  controls: [SCL-001, SCL-002]\n", policy=None)
    assert run_check(str(esc)).code == 1
    r = run_check("-o", "json", "--framework", "pss-baseline", str(esc))
    assert r.code == 0, r.out + r.err


def test_missing_configured_policy_folder_is_a_usage_error(tmp_path: Path) -> None:
    root = repo(tmp_path, {"web.yaml": deployment()},
                config=CONFIG + "test:\n  policy: [nowhere]\n", policy=None)
    r = run_check(str(root))
    assert r.code == 2
    assert "nowhere" in r.err and "does not exist" in r.err
    assert "Traceback" not in r.err


def test_malformed_yaml_is_one_error_with_file_line_exit_2(tmp_path: Path) -> None:
    root = repo(tmp_path, {"bad.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
                           "web.yaml": deployment(privileged=True)})
    r = run_check("-o", "json", str(root))
    assert r.code == 2
    items = findings(r)
    parse = [f for f in items if f["ruleId"] == "input/parse-error"]
    assert len(parse) == 1  # reported once, not by each checker
    assert parse[0]["file"].endswith("bad.yaml") and parse[0]["line"] >= 3
    assert {"SCL-001"} <= {f["ruleId"] for f in items}  # the other file is still checked
    assert "Traceback" not in r.err


def test_cross_document_checks_run_after_the_gather_phase(tmp_path: Path) -> None:
    root = repo(tmp_path, {"a/web.yaml": deployment(),
                           "b/svc.yaml": SERVICE.format(name="web", selector="webb")})
    r = run_check("-o", "json", str(root))
    assert r.code == 1
    rules = {f["ruleId"] for f in findings(r)}
    assert rules == {"k8s/service-selector-no-match"}


def test_standard_input(tmp_path: Path) -> None:
    root = repo(tmp_path, {})
    r = run_check("-o", "json", "-", stdin=deployment(privileged=True), cwd=root)
    assert r.code == 1, r.err
    assert by_source(findings(r)) == {"security": {"SCL-001", "SCL-002"}}


def test_sarif_output_carries_all_sources(tmp_path: Path) -> None:
    bad = deployment(privileged=True, labels="{app: web}", replicas='"two"')
    root = repo(tmp_path, {"web.yaml": bad})
    out = tmp_path / "check.sarif"
    r = run_check("-o", "sarif", "--output-file", str(out), str(root))
    assert r.code == 1
    sarif = json.loads(out.read_text())
    rules = {res["ruleId"] for run in sarif["runs"] for res in run["results"]}
    assert {"schema/type", "main.deny", "SCL-001"} <= rules


def test_all_cores_give_the_same_report_as_one(tmp_path: Path) -> None:
    files = {}
    for i in range(60):  # > 256 KiB in all, so the work is spread over processes
        name = f"app{i:02d}"
        text = deployment(name, privileged=i % 7 == 0, escalation=i % 5 == 0,
                          labels="{app: x}" if i % 11 == 0 else
                          "{app: x, app.kubernetes.io/part-of: shop}")
        text += "---\n" + SERVICE.format(name=name, selector=name if i % 13 else "nobody")
        if i % 9 == 0:  # List items travel between processes too
            item = deployment(name + "-listed", privileged=True).replace("\n", "\n    ")
            text += "---\napiVersion: v1\nkind: List\nitems:\n  - " + item.rstrip() + "\n"
        text += "# " + "padding " * 600 + "\n"
        files[f"apps/{name}.yaml"] = text
    # with a cross-resource control (SCL-043): documents come back from the workers for it
    # (a NetworkPolicy in the input keeps it in the second phase)
    files["apps/np.yaml"] = ("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\n"
                             "metadata:\n  name: db\nspec:\n  podSelector:\n"
                             "    matchLabels: {app: db}\n")
    root = repo(tmp_path, files, config=CONFIG.replace("SCL-002]", "SCL-002, SCL-043]"))
    one = run_check("-o", "json", "-n", "1", str(root))
    two = run_check("-o", "json", "-n", "2", str(root))
    assert one.code == two.code == 1, one.err + two.err

    def key(f: dict[str, Any]) -> tuple[str, int, str, str]:
        return (f["file"], f["line"], f["ruleId"], f["message"])

    assert sorted(map(key, findings(one))) == sorted(map(key, findings(two)))
    assert {"schema", "policy", "security"} == set(by_source(findings(one)))


def test_one_large_file_or_stdin_is_shared_by_the_workers_with_the_same_report(
        tmp_path: Path) -> None:
    # over a megabyte in one stream: the workers share it in pieces, and the report (cross
    # checks, policies, controls, document indexes and lines) is the one worker's, byte for byte
    docs = []
    for i in range(700):
        name = f"app{i:03d}"
        docs.append(deployment(name, privileged=i % 7 == 0, escalation=i % 5 == 0,
                               replicas=1 if i % 3 == 0 else 2,
                               labels="{app: x}" if i % 11 == 0 else
                               "{app: x, app.kubernetes.io/part-of: shop}"))
        docs.append(SERVICE.format(name=name, selector=name if i % 13 else "nobody"))
        docs.append("# " + "padding " * 150 + "\n")
    text = "---\n".join(docs)
    root = repo(tmp_path, {"all.yaml": text},
                config=CONFIG.replace("SCL-002]", "SCL-002, SCL-043]"))
    assert (root / "all.yaml").stat().st_size > 1024 * 1024
    one = run_check("-o", "json", "-n", "1", "all.yaml", cwd=root)
    two = run_check("-o", "json", "-n", "2", "all.yaml", cwd=root)
    assert one.code == two.code == 1, one.err + two.err
    assert one.out == two.out
    assert {"schema", "policy", "security"} == set(by_source(findings(one)))
    piped = run_check("-o", "json", "-n", "2", "-", stdin=text, cwd=root)
    assert piped.code == 1, piped.err
    assert piped.out == one.out.replace('"all.yaml"', '"stdin"')


def test_the_time_limit_holds_for_pieces_of_a_large_file_this_process_checks(
        tmp_path: Path) -> None:
    # the run checks pieces of a large file itself beside its worker: a policy that loops is
    # stopped at the time limit there too, as in the worker and for whole files
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "slow.rego").write_text(SLOW_POLICY)
    text = "---\n".join(deployment(f"app{i:03d}") + "# " + "padding " * 150 + "\n"
                        for i in range(800))
    (tmp_path / "all.yaml").write_text(text)
    assert (tmp_path / "all.yaml").stat().st_size > 1024 * 1024
    (tmp_path / "socle.yaml").write_text("test:\n  policy: policy\n  timeout: 1\n")
    got = run_check("--no-scan", "--no-validate", "-n", "2", "all.yaml", cwd=tmp_path)
    assert got.code == 2, got.err
    assert "policy evaluation took longer than 1s" in got.err
    assert "Traceback" not in got.err


def test_engine_flag_picks_the_rego_engine_for_policies_and_controls(tmp_path: Path) -> None:
    bad = deployment(privileged=True, labels="{app: web}")
    root = repo(tmp_path, {"apps/web.yaml": bad})
    compiled = run_check("-o", "json", "--engine", "compiled", str(root))
    regorus = run_check("-o", "json", "--engine", "regorus", str(root))
    assert compiled.code == regorus.code == 1, compiled.err + regorus.err
    assert findings(compiled) == findings(regorus)
    assert {"policy", "security"} <= set(by_source(findings(compiled)))
    bogus = run_check("--engine", "nope", str(root))
    assert bogus.code == 2 and "invalid choice: 'nope'" in bogus.err


def test_each_file_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from socle.check import CheckOptions, check_paths
    from socle.formats import yaml as yaml_format
    from socle.policy.conftest import TestOptions
    from socle.schema.validator import ValidateOptions
    from socle.security.runner import ScanOptions

    root = repo(tmp_path, {f"f{i}.yaml": deployment(f"w{i}", privileged=True)
                           for i in range(5)})
    calls: list[str] = []
    real = yaml_format.iter_documents

    def counting(data: Any, file: str = "-", *a: Any, **k: Any) -> Any:
        calls.append(file)
        return real(data, file, *a, **k)

    monkeypatch.setattr(yaml_format, "iter_documents", counting)
    options = CheckOptions(validate=ValidateOptions(), test=TestOptions(
        policies=[str(root / "policy")]), scan=ScanOptions(include=["SCL-001"]), workers=1)
    report = check_paths([str(root)], options)
    inputs = [c for c in calls if c.startswith(str(root))]  # (not the controls' metadata)
    assert sorted(inputs) == sorted(str(root / f"f{i}.yaml") for i in range(5))
    assert {f.source for f in report.findings} == {"security"}
    assert len(report.findings) == 5


def test_nothing_to_run_and_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    root = repo(tmp_path, {"web.yaml": deployment()})
    r = run_check("--no-validate", "--no-test", "--no-scan", str(root))
    assert r.code == 2 and "nothing to check" in r.err
    r = run_check("--severity-threshold", "severe", str(root))
    assert r.code == 2 and "severe" in r.err
    (root / "socle.yaml").write_text("check:\n  no-such-option: 1\n")
    r = run_check(str(root))
    assert r.code == 2 and "no-such-option" in r.err
    assert "Traceback" not in r.err


def test_policies_see_the_null_documents_conftest_tests_as_socle_test_does(
        tmp_path: Path) -> None:
    # an empty file, a trailing ---, a part with only comments, a ~: conftest tests null for
    # each, and so do `socle test` and the policy step of `socle check`, in a file read whole
    # or cut into pieces for the workers (over a megabyte)
    import shutil

    fixtures = ROOT / "tests" / "compat" / "conftest" / "empty-documents"
    shutil.copytree(fixtures, tmp_path, dirs_exist_ok=True)
    big = [f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: m{i}\n  labels: {{owner: me}}\n"
           f"data:\n  pad: '{'x' * 2000}'\n" for i in range(600)]
    big[300] = "# a part with only a comment, in the middle of the stream\n"
    (tmp_path / "big.yaml").write_text("---\n".join(big) + "---\n", encoding="utf-8")
    assert (tmp_path / "big.yaml").stat().st_size > 1024 * 1024

    def rows(r: Result) -> list[tuple[Any, ...]]:
        assert r.code == 1, r.err
        return sorted((f["file"], f["line"], f["ruleId"], f["message"])
                      for f in json.loads(r.out)["findings"])

    tested = rows(run_socle("test", "-p", "policy", "-o", "json", ".", cwd=tmp_path))
    for workers in ("1", "2"):
        checked = rows(run_check("--no-validate", "--no-scan", "-p", "policy", "-o", "json",
                                 "-n", workers, ".", cwd=tmp_path))
        assert checked == tested
    nulls = [r for r in tested if r[3] == "no kind"]
    # empty.yaml, comments.yaml, markers.yaml (2), trailing.yaml, mixed.yaml (3: its header,
    # the ~, the comment), crlf.yaml, directive.yaml, array.yaml (2: its array, one input
    # with no kind, and the trailing ---), big.yaml (2: the comment, the trailing ---)
    assert len(nulls) == 14
    assert ("big.yaml", 2401, "main.warn", "no kind") in nulls  # the comment's part


def test_a_null_json_file_is_still_validated_when_policies_run(tmp_path: Path) -> None:
    # (null YAML documents go to the policies alone; JSON is read as before by every checker)
    import shutil

    shutil.copytree(ROOT / "tests" / "compat" / "conftest" / "empty-documents" / "policy",
                    tmp_path / "policy")
    (tmp_path / "n.json").write_text("null\n", encoding="utf-8")
    r = run_check("--no-scan", "-p", "policy", "-o", "json", "n.json", cwd=tmp_path)
    assert r.code == 2, r.err
    rules = sorted(f["ruleId"] for f in json.loads(r.out)["findings"])
    assert rules == ["input/missing-kind", "main.deny", "main.warn"]


@pytest.mark.parametrize(("config", "command", "message"), [
    ("validate:\n  strict: maybe\n", "validate",
     "socle.yaml:2: validate.strict: expected true or false, got 'maybe'"),
    ("validate:\n  strict: true\n  kubernetes-version: 1.30\n", "check",
     "socle.yaml:3: validate.kubernetes-version: 1.3 is a number here (YAML and TOML read 1.30 "
     "as 1.3): write it in quotes"),
    ("validate:\n  schema-location: 5\n  skip: [ConfigMap, {a: b}]\n", "validate",
     "socle.yaml:3: validate.skip: expected a value or a list of values, got a mapping"),
    ("test:\n  policy: {a: b}\n", "test",
     "socle.yaml:2: test.policy: expected a value or a list of values, got a mapping"),
    ("test:\n  timeout: fast\n", "check",
     "socle.yaml:2: test.timeout: invalid value 'fast' (could not convert string to float: "
     "'fast')"),
    ("scan:\n  engine: nope\n", "scan",
     "socle.yaml:2: scan.engine: 'nope' is not one of regorus, opa, compiled"),
    ("color: purple\n", "validate", "socle.yaml:1: color: 'purple' is not one of auto, always, "
     "never"),
])
def test_config_values_of_the_wrong_kind_are_one_line_errors(tmp_path: Path, config: str,
                                                             command: str,
                                                             message: str) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "socle.yaml").write_text(config)
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    r = run_socle(command, "a.yaml", cwd=tmp_path)
    assert r.code == 2
    assert r.err == f"socle {command}: {tmp_path / message}\n"


def test_config_values_as_the_command_line_takes_them(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / "pyproject.toml").write_text(
        '[tool.socle.validate]\nstrict = true\nkubernetes-version = "1.30"\nskip = "Secret"\n'
        'workers = 1\n[tool.socle.scan]\nframework = ["nsa"]\ncompliance-threshold = 80\n')
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    r = run_socle("check", "--no-test", "a.yaml", cwd=tmp_path)
    assert r.code in (0, 1), r.err


@pytest.mark.parametrize(("command", "flag"), [("check", "--ignore-filename-pattern"),
                                               ("validate", "--ignore-filename-pattern"),
                                               ("test", "--ignore")])
def test_unreadable_files_of_a_helm_chart_say_how_to_render_or_skip_it(
        tmp_path: Path, command: str, flag: str) -> None:
    chart = tmp_path / "charts" / "web"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: web\nversion: 0.1.0\n")
    (chart / "templates" / "deployment.yaml").write_text(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels:\n"
        "    {{- include \"web.labels\" . | nindent 4 }}\n")
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text("package main\n\ndeny contains 1 if false\n")
    args = ["-p", "policy"] if command == "test" else []
    r = run_socle(command, *args, "charts", cwd=tmp_path)
    assert r.code == 2
    hint = (f"(in the Helm chart charts/web: render it, `helm template charts/web | socle "
            f"{command} -`, or leave it out with {flag})")
    line = next(x for x in r.out.splitlines() if "templates/deployment.yaml" in x)
    assert "malformed YAML" in line and hint in line


def test_conftest_verify_flags_are_taken(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        'package main\n\ndeny contains "cm" if input.kind == "ConfigMap"\n\n'
        'test_cm if deny["cm"] with input as {"kind": "ConfigMap"}\n')
    r = run_socle("verify", "-p", "policy", "--quiet", "--no-color", cwd=tmp_path)
    assert (r.code, r.err) == (0, "") and "PASS: 1/1" in r.out


@pytest.mark.parametrize("args", [["test", "-p", "policy", "--no-color", "--quiet"],
                                  ["test", "-p", "policy", "--junit-hide-message"],
                                  ["validate", "--no-color"], ["check", "--no-color"]])
def test_conftest_and_ci_flags_are_taken(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        'package main\n\ndeny contains "cm" if input.kind == "ConfigMap"\n')
    (tmp_path / "a.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: 1}\n")
    r = run_socle(*args, "a.yaml", cwd=tmp_path)
    assert r.code == 1, r.err
    assert "a.yaml:" in r.out and "\x1b[" not in r.out


def test_no_color_turns_colour_off(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"
                                     "data: {k: 1}\n")
    assert "\x1b[" in run_socle("validate", "--color", "always", "a.yaml", cwd=tmp_path).out
    r = run_socle("validate", "--color", "always", "--no-color", "a.yaml", cwd=tmp_path)
    assert r.code == 1 and "a.yaml:4:" in r.out and "\x1b[" not in r.out


@pytest.mark.parametrize("strict", [False, True])
def test_a_failing_builtin_is_undefined_unless_the_config_says_show_builtin_errors(
        tmp_path: Path, strict: bool) -> None:
    # as conftest: to_number("abc") leaves the rule undefined; test.show-builtin-errors (the
    # flag of socle test) makes it the file's error
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        'package main\n\ndeny contains "big" if to_number(input.metadata.name) > 1\n\n'
        'deny contains "seen" if input.kind == "ConfigMap"\n')
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: abc\n")
    (tmp_path / "socle.yaml").write_text(
        f"test:\n  policy: [policy]\n  show-builtin-errors: {'true' if strict else 'false'}\n")
    res = run_check("--no-scan", "--no-validate", "-o", "json", "cm.yaml", cwd=tmp_path)
    messages = sorted(f["message"] for f in findings(res))
    if strict:
        assert res.code == 2 and messages == ["could not parse string as number"], messages
    else:
        assert res.code == 1 and messages == ["seen"], messages


def test_scores_are_made_where_the_report_or_the_gate_reads_them(tmp_path: Path) -> None:
    """A text report shows no scores (the run leaves them out) but the compliance gate still
    reads them; JSON shows them."""
    (tmp_path / ".git").mkdir()
    (tmp_path / "app.yaml").write_text(deployment(privileged=True, labels="{app: web}"))
    (tmp_path / "socle.yaml").write_text("scan:\n  compliance-threshold: 100\n")
    r = run_socle("check", "--no-test", "app.yaml", cwd=tmp_path)
    assert r.code == 1 and "socle check: compliance below 100%" in r.err, r.err
    r = run_socle("check", "--no-test", "-o", "json", "app.yaml", cwd=tmp_path)
    assert json.loads(r.out)["scores"]["overall"]["complianceScore"] < 100
    (tmp_path / "socle.yaml").write_text("scan: {}\n")
    r = run_socle("check", "--no-test", "-o", "sarif", "app.yaml", cwd=tmp_path)
    assert r.code == 1 and json.loads(r.out)["runs"][0]["results"]


def test_conftest_settings_are_read_by_test_not_by_check(tmp_path: Path) -> None:
    # conftest.toml and CONFTEST_* are the current folder's and the shell's: `socle test`
    # reads them as conftest does, `socle check` gives the same answer from any folder
    (tmp_path / ".git").mkdir()
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "p.rego").write_text(
        'package k8s\n\ndeny contains "no ConfigMap" if input.kind == "ConfigMap"\n')
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "conftest.toml").write_text('policy = "rules"\nnamespace = "k8s"\n')
    tested = run_socle("test", "cm.yaml", cwd=tmp_path)
    assert tested.code == 1 and "no ConfigMap [k8s.deny]" in tested.out, tested.err
    checked = run_check("--summary", "cm.yaml", cwd=tmp_path)
    assert checked.code == 0, checked.out + checked.err
    assert "note: test: no policy folder" in checked.out
