"""`socle scan` as a user runs it: exit codes, outputs, gates, config inputs, --fix."""

from __future__ import annotations

import json
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scan_testing import DEPLOYMENT, write_controls
from socle.policy.engine import available
from socle_testing import Result, run_socle

# registers the verb if the command table does not have it yet
_MAIN = ("import sys; from socle.cli import main; "
         "main.COMMANDS.setdefault('scan', ('socle.cli.scan', 'security posture')); "
         "sys.exit(main.main(sys.argv[1:]))")


def scan(*args: str, cwd: Path | None = None) -> Result:
    proc = subprocess.run([sys.executable, "-c", _MAIN, "scan", *args], capture_output=True,
                          cwd=cwd, timeout=120, check=False)
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def _setup(tmp_path: Path, text: str = DEPLOYMENT) -> tuple[Path, list[str]]:
    ctl = write_controls(tmp_path / "controls")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.yaml").write_text(text)
    return tmp_path / "src", ["--controls-dir", str(ctl), "--no-bundled-controls"]


def test_text_output_exit_1_and_summary(tmp_path: Path) -> None:
    src, flags = _setup(tmp_path)
    r = scan(str(src), *flags)
    assert r.code == 1, r.err
    assert "app.yaml:18:13: high Deployment shop/web: container \"web\" runs privileged" in r.out
    assert "[T-001]" in r.out and "Overall: risk" in r.out and "pss-baseline" in r.out


def test_thresholds(tmp_path: Path) -> None:
    src, flags = _setup(tmp_path)
    assert scan(str(src), *flags, "--severity-threshold", "critical").code == 0
    r = scan(str(src), *flags, "--severity-threshold", "critical",
             "--compliance-threshold", "90")
    assert r.code == 1 and "compliance below 90%" in r.err
    assert scan(str(src), *flags, "--controls", "T-002").code == 0


def test_json_has_scores_evidence_fix_and_excepted(tmp_path: Path) -> None:
    text = DEPLOYMENT.replace("  labels: {app: web}\n", "  labels: {app: web}\n  annotations:"
                              "\n    socle.dev/skip: T-001\n    socle.dev/skip-reason: ok\n", 1)
    src, flags = _setup(tmp_path, text.replace("runAsNonRoot: true", "runAsUser: 0"))
    r = scan(str(src), *flags, "-o", "json")
    assert r.code == 1
    data = json.loads(r.out)
    assert [f["ruleId"] for f in data["findings"]] == ["T-002"]
    assert data["findings"][0]["fix"][0]["op"] == "add"
    assert data["findings"][0]["status"] == "failed"
    [exc] = data["excepted"]
    assert exc["status"] == "excepted" and exc["exception"]["reason"] == "ok"
    assert exc["evidence"] is True and data["summary"]["excepted"] == 1
    assert data["scores"]["controls"]["T-001"]["status"] == "passed"
    assert set(data["scores"]["frameworks"]) >= {"nsa", "pss-baseline", "pss-restricted"}


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: list[str] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in ("meta", "br", "link", "img"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_is_well_formed_and_has_the_sections(tmp_path: Path) -> None:
    src, flags = _setup(tmp_path)
    out = tmp_path / "report.html"
    r = scan(str(src), *flags, "-o", "html", "--output-file", str(out))
    assert r.code == 1, r.err
    page = out.read_text()
    parser = _Tags()
    parser.feed(page)
    assert parser.errors == [] and parser.stack == []
    text = " ".join(parser.text)
    for section in ("Scores", "Controls by severity", "Findings by resource", "pss-baseline"):
        assert section in text
    assert "privileged: true" in text  # the code excerpt around the offending line
    assert "replace spec/template/spec/containers/0/securityContext/privileged = false" in text
    assert "<script" not in page and "http://" not in page  # self-contained


def test_markdown_and_sarif(tmp_path: Path) -> None:
    src, flags = _setup(tmp_path)
    md = scan(str(src), *flags, "-o", "markdown").out
    assert "| Critical | High | Medium | Low | Excepted | Files |" in md
    assert "<details><summary>All findings by resource</summary>" in md
    sarif = json.loads(scan(str(src), *flags, "-o", "sarif").out)
    [result] = sarif["runs"][0]["results"]
    assert result["ruleId"] == "T-001"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 18


def test_config_inputs_and_usage_errors(tmp_path: Path) -> None:
    src, flags = _setup(tmp_path)
    (tmp_path / "socle.yaml").write_text("scan:\n  inputs:\n    allowedRegistries: [ghcr.io/]\n")
    (tmp_path / ".git").mkdir()
    r = scan(str(src), *flags, "--controls", "T-004", "-o", "json", cwd=tmp_path)
    assert [f["ruleId"] for f in json.loads(r.out)["findings"]] == ["T-004"]
    r = scan(str(src), *flags, "--controls", "T-004", "--input",
             "allowedRegistries=[registry.example.com/]", cwd=tmp_path)
    assert r.code == 0, r.out
    assert scan(str(src), *flags, "--framework", "soc9").code == 2
    assert scan(str(src), *flags, "--dry-run").code == 2
    r = scan(str(tmp_path / "nope"), *flags)
    assert r.code == 2 and "Traceback" not in r.err


def test_fix_dry_run_then_fix(tmp_path: Path) -> None:
    src, flags = _setup(tmp_path)
    before = (src / "app.yaml").read_text()
    r = scan(str(src), *flags, "--fix", "--dry-run")
    assert r.code == 1 and "+            privileged: false\n" in r.out
    assert "would fix 1 finding in 1 file" in r.err
    assert (src / "app.yaml").read_text() == before
    r = scan(str(src), *flags, "--fix")
    assert r.code == 0, r.out + r.err
    assert "fixed 1 finding in 1 file" in r.err
    assert "privileged: false" in (src / "app.yaml").read_text()


def test_bundled_controls_on_their_own_fixtures() -> None:
    root = Path(__file__).resolve().parents[2] / "src" / "socle" / "security" / "controls"
    r = scan(str(root / "privileged-container" / "fixtures" / "pass.yaml"), "--controls",
             "SCL-001")
    assert r.code == 0, r.out + r.err


@pytest.mark.skipif(not available("opa"), reason="opa-golib-python-bindings is not installed")
@pytest.mark.parametrize("command", ["scan", "check"])
def test_the_opa_engine_runs_in_one_process_and_finishes(tmp_path: Path, command: str) -> None:
    # the OPA bridge is a Go library, whose runtime does not survive fork: with forked
    # workers, `scan --engine opa` on more than one file waited for ever
    for i in range(6):
        (tmp_path / f"app{i}.yaml").write_text(DEPLOYMENT.replace("name: web", f"name: web{i}"))
    args = [command, "-n", "2", "--no-test"] if command == "check" else [command, "-n", "2"]
    by_engine = {}
    for engine in ("opa", "compiled"):
        res = run_socle(*args, "--engine", engine, "-o", "json", str(tmp_path), timeout=60)
        assert res.code == 1, res.err
        by_engine[engine] = sorted((f["ruleId"], f["file"], f["message"])
                                   for f in json.loads(res.out)["findings"])
    assert by_engine["opa"] == by_engine["compiled"] and len(by_engine["opa"]) > 12
