"""Policies written against conftest's parsed structures work unchanged in ``socle test``.

Each input is a file in its tool's own format; each policy indexes the structure conftest
gives that format (``input[i].Cmd`` for Dockerfiles, ``input.resource.T[name][_]`` for
Terraform, ``-attr`` for XML ...).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from socle.core.finding import Report
from socle.policy.conftest import TestOptions, parse_config, run

HERE = Path(__file__).resolve().parent / "fixtures" / "formats"
POLICY = HERE / "policy"


def _messages(report: Report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in report.sorted_findings():
        out.setdefault(f.rule_id, []).append(f.message)
    return {k: sorted(v) for k, v in out.items()}


def _run(inputs: list[str], policy: str) -> Report:
    report = run([str(HERE / i) for i in inputs], TestOptions(policies=[str(POLICY / policy)]))
    assert report.errors == 0
    return report


def test_dockerfile_policy_sees_the_command_list() -> None:
    got = _messages(_run(["Dockerfile"], "docker.rego"))
    assert got["main.deny"] == ["stage 1 installs curl"]
    assert got["main.warn"] == ["COPY changes owner: --chown=10001:10001"]


def test_dockerfile_without_user_and_untagged_image() -> None:
    report = run([str(HERE / "Dockerfile")], TestOptions(policies=[str(POLICY / "docker.rego")]))
    assert "runs as root" not in _messages(report)["main.deny"]
    inline = parse_config("dockerfile", "FROM ubuntu\nRUN wget x\n")
    # parse_config gives what conftest's parser gives: a list holding the command list
    assert [c["Cmd"] for c in inline[0]] == ["from", "run"]


def test_terraform_policy_indexes_hcl2json_blocks() -> None:
    got = _messages(_run(["main.tf"], "terraform.rego"))
    assert got["main.deny"] == [
        "ALB listener http uses HTTP",
        "S3 bucket public is public",
        "security group web allows SSH from 10.0.0.0/8",
    ]
    assert got["main.warn"] == ["versioning is Enabled"]


def test_tfvars_is_hcl2_too() -> None:
    value = parse_config("hcl2", (HERE / "prod.tfvars").read_text())
    assert value["replicas"] == 3
    assert value["allowed_cidrs"][1] == "192.168.0.0/16"


def test_ini_policy_sees_typed_values() -> None:
    got = _messages(_run(["grafana.ini"], "ini.rego"))
    assert "main.deny" not in got  # port 3000, sign-up false, basic auth true: all typed
    assert got["main.warn"] == ["alert evaluation timeout 3.5"]


def test_dotenv_policy() -> None:
    got = _messages(_run(["app.env"], "dotenv.rego"))
    assert got["main.deny"] == ["DB_USER should not be root"]
    assert got["main.warn"] == ["EMPTY is empty"]


def test_xml_policy_indexes_goxml2json_shape() -> None:
    got = _messages(_run(["pom.xml"], "xml.rego"))
    assert got["main.deny"] == ["log4j-core 2.14.1 is vulnerable"]
    assert got["main.warn"] == ["java 17"]


@pytest.mark.parametrize(("fixture", "message"), [
    ("config.toml", "forced permanent redirect from /old"),
    ("application.properties", "datasource password is a default"),
    ("devcontainer.jsonc", "dev container shop runs as root"),
])
def test_toml_properties_jsonc_policies(fixture: str, message: str) -> None:
    got = _messages(_run([fixture], "other.rego"))
    assert got["main.deny"] == [message]


def test_folder_run_picks_every_conftest_format() -> None:
    report = run([str(HERE)], TestOptions(policies=[str(POLICY / "dotenv.rego")]))
    assert report.errors == 0
    assert report.files == 9  # the policy folder's .rego files are not inputs
