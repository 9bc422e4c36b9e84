"""``socle gatekeeper test`` and ``socle gatekeeper verify`` as a user runs them."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from socle.cli.main import main

G = os.path.join(os.path.dirname(__file__), "..", "compat", "gatekeeper")


@pytest.fixture(autouse=True)
def _cwd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(os.path.join(G, ".."))  # keep paths short in messages


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["gatekeeper", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_test_reports_deny_violations_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", "-f", "gatekeeper/allowedrepos/template.yaml",
                       "-f", "gatekeeper/allowedrepos/samples")
    assert code == 1
    lines = out.strip().splitlines()
    assert len(lines) == 2
    assert all("[K8sAllowedRepos/repo-must-be-internal]" in ln for ln in lines)
    assert any("example_disallowed.yaml:1: high Pod default/frontend: container <frontend> "
               "has an invalid image repo <nginx:1.25.3>" in ln for ln in lines)


def test_warn_only_violations_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", "-f", "gatekeeper/disallowedtags/template.yaml",
                       "-f", "gatekeeper/disallowedtags/samples/no-latest")
    assert code == 0
    assert out.count(": medium ") == 2
    code, out, _ = run(capsys, "test", "--deny-only", "-f",
                       "gatekeeper/disallowedtags/template.yaml", "-f",
                       "gatekeeper/disallowedtags/samples/no-latest")
    assert code == 0 and out == ""


def test_json_output_and_cel(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "test", "-o", "json", "-f", "gatekeeper/replicalimits/template.yaml",
                       "-f", "gatekeeper/replicalimits/samples/replicas-2-to-10/")
    assert code == 1
    data = json.loads(out)
    msgs = sorted(f["message"] for f in data["findings"])
    assert msgs == ["the replica count 1 is outside the allowed ranges: 2-10",
                    "the replica count 40 is outside the allowed ranges: 2-10"]
    assert {f["ruleId"] for f in data["findings"]} == {"K8sReplicaLimits/replicas-2-to-10"}
    assert {f["source"] for f in data["findings"]} == {"policy"}


def test_image_flag_is_refused_not_ignored(capsys: pytest.CaptureFixture[str]) -> None:
    # (ignored, the image's policies would not run and what they deny would pass)
    code, _, err = run(capsys, "test", "--image", "ghcr.io/x/policies:1", "-f",
                       "gatekeeper/requiredlabels/template.yaml", "-f",
                       "gatekeeper/requiredlabels/samples/all-must-have-owner/constraint.yaml",
                       "-f", "gatekeeper/requiredlabels/samples/all-must-have-owner/"
                             "example_allowed.yaml")
    assert code == 2
    assert err == ("socle gatekeeper: --image ghcr.io/x/policies:1: policy images are not "
                   "pulled by gatekeeper test; pull the image's files (socle pull oci://REF "
                   "--policy DIR, or your registry tool) and give the folder with -f DIR\n")


def test_bad_input_exits_2_with_file_and_line(capsys: pytest.CaptureFixture[str],
                                              tmp_path: Any) -> None:
    bad = tmp_path / "t.yaml"
    bad.write_text("---\napiVersion: templates.gatekeeper.sh/v1\nkind: ConstraintTemplate\n"
                   "metadata: {name: wrong}\nspec:\n  crd: {spec: {names: {kind: K8sX}}}\n"
                   "  targets: [{target: admission.k8s.gatekeeper.sh, rego: 'package x'}]\n")
    code, _, err = run(capsys, "test", "-f", str(bad))
    assert code == 2
    assert f"{bad}:2: " in err and "lowercase of the kind" in err
    assert "Traceback" not in err
    code, _, err = run(capsys, "test", "-f", "gatekeeper/requiredlabels")  # a bad-parameters
    assert code == 2 and "labels-given-as-a-string" in err                # sample is in there


def test_verify_library_passes(capsys: pytest.CaptureFixture[str]) -> None:
    dirs = [f"gatekeeper/{d}" for d in ("allowedrepos", "disallowedtags", "privilegedcontainer",
                                        "replicalimits", "requiredlabels", "uniqueingresshost")]
    code, out, _ = run(capsys, "verify", *dirs)
    assert code == 0, out
    assert "FAIL" not in out
    assert out.strip().splitlines()[-1] == "27 passed, 0 failed"
    assert "    --- PASS: example-disallowed (" in out
    assert out.count("ok\tgatekeeper/") == 6


def test_verify_failing_assertion_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "gatekeeper/...")
    assert code == 1
    assert "--- FAIL: expects-no-violation-but-gets-one" in out
    assert "got 1 violations but want none" in out
    assert "FAIL\tgatekeeper/failing/suite.yaml" in out
    assert out.strip().splitlines()[-1] == "36 passed, 1 failed"


def test_verify_run_filter_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "verify", "gatekeeper/...", "--run", "allowed$", "-o", "json")
    data = json.loads(out)
    ran = [(t["name"], c["name"]) for s in data for t in s["tests"] for c in t["cases"]
           if not c["skipped"]]
    assert ran and all(c.endswith("allowed") for _, c in ran)
    assert code == 0  # the failing case is filtered out


def test_verify_without_suites_is_a_usage_error(capsys: pytest.CaptureFixture[str],
                                                tmp_path: Any) -> None:
    code, _, err = run(capsys, "verify", str(tmp_path))
    assert code == 2 and "no Suite" in err
    code, _, err = run(capsys, "verify", "--run", "a//b//c", "gatekeeper/...")
    assert code == 2 and "at most one" in err


def test_cel_or_rego_for_a_template_with_both(capsys: pytest.CaptureFixture[str]) -> None:
    files = ["-f", "gatekeeper/privilegedcontainer/template.yaml", "-f",
             "gatekeeper/privilegedcontainer/samples/psp-privileged-container/constraint.yaml",
             "-f", "gatekeeper/privilegedcontainer/samples/psp-privileged-container/"
                   "example_disallowed.yaml"]
    code, out, _ = run(capsys, "test", *files)
    assert code == 1
    assert out.count("\n") == 1 and "not allowed (cel): shell, sysctl" in out
    code, out, _ = run(capsys, "test", "--enable-k8s-native-validation=false", *files)
    assert code == 1
    assert out.count("\n") == 2 and "(cel)" not in out
    assert "Privileged container is not allowed: shell, securityContext: " in out
