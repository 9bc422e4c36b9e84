"""``socle webhook manifests`` and ``socle webhook serve`` start-up errors, as a user runs them."""

from __future__ import annotations

import pytest
import yaml

from socle.cli import main as cli


@pytest.fixture(autouse=True)
def _registered() -> None:
    # until the verb is in main.py's table
    if "webhook" not in cli.COMMANDS:
        cli.register("webhook", "socle.cli.webhook", "validating admission webhook")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(["webhook", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_manifests_print_objects_that_agree_with_the_server(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "manifests", "--namespace", "socle", "--service", "gate",
                       "--failure-policy", "Ignore", "--timeout-seconds", "7",
                       "--exclude-namespace", "kube-system", "--exclude-namespace", "infra",
                       "--framework", "pss-baseline")
    assert code == 0
    objs = {o["kind"]: o for o in yaml.safe_load_all(out)}
    hook = objs["ValidatingWebhookConfiguration"]["webhooks"][0]
    assert (hook["failurePolicy"], hook["timeoutSeconds"]) == ("Ignore", 7)
    assert hook["clientConfig"]["service"] == {"name": "gate", "namespace": "socle",
                                               "path": "/validate", "port": 443}
    args = objs["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert " ".join(args).startswith("webhook serve --policy /policies")
    assert "--failure-policy Ignore --timeout 6.5" in " ".join(args)
    assert "--framework pss-baseline" in " ".join(args)
    assert objs["Certificate"]["spec"]["dnsNames"][0] == "gate.socle.svc"
    assert "&id" not in out  # no YAML anchors


def test_manifests_with_a_secret_explain_the_certificate(
        capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "manifests", "-n", "socle", "--service", "gate",
                       "--cert", "secret")
    assert code == 0
    assert out.startswith("# Make a CA")
    kinds = [o["kind"] for o in yaml.safe_load_all(out)]
    assert "Secret" in kinds and "Certificate" not in kinds


@pytest.mark.parametrize(("argv", "says"), [
    (["manifests", "-n", "x", "--service", "y", "--timeout-seconds", "31"],
     "--timeout-seconds must be from 1 to 30"),
    (["manifests", "-n", "x", "--service", "y", "--exclude-namespace", "team-*"],
     "cannot be rendered in a namespaceSelector"),
    (["serve", "--policy", "/no/such/folder", "--insecure-http"],
     "policy folder '/no/such/folder' not found"),
    (["serve", "--policy", "."], "--tls-cert and --tls-key are required"),
    (["serve", "--policy", ".", "--insecure-http", "--severity-threshold", "severe"],
     "--severity-threshold: 'severe' is not one of"),
])
def test_bad_flags_are_one_line_errors_with_exit_2(capsys: pytest.CaptureFixture[str],
                                                   argv: list[str], says: str) -> None:
    code, _, err = run(capsys, *argv)
    assert code == 2
    assert says in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_bad_policy_stops_serve_with_file_and_line(capsys: pytest.CaptureFixture[str],
                                                     tmp_path) -> None:
    (tmp_path / "p.rego").write_text("package main\n\ndeny contains msg if {\n")
    code, _, err = run(capsys, "serve", "--policy", str(tmp_path), "--insecure-http",
                       "--address", "127.0.0.1", "--port", "0", "--workers", "1")
    assert code == 2
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"socle webhook: {tmp_path}/p.rego:")
