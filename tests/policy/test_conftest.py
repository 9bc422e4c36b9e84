"""conftest semantics of the runner, on fixtures in conftest's own layout."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from socle.core.errors import UsageError
from socle.core.finding import Report, Severity
from socle.policy import conftest as conftest_mod
from socle.policy.conftest import (
    Runner,
    TestOptions,
    bind_file_builtins,
    discover_rules,
    exit_code,
    input_files,
    load_data,
    parse_combined_config_files,
    parse_config,
    resolve_from_policy,
    run,
    strip_failure_prefix,
    tracing_engine,
)
from socle.policy.engine import PolicyError, available

FIXTURES = Path(__file__).resolve().parents[1] / "compat" / "conftest"


@pytest.fixture
def chdir() -> Iterator[object]:
    old = os.getcwd()

    def go(name: str) -> None:
        os.chdir(FIXTURES / name)

    yield go
    os.chdir(old)


def _by_rule(report: Report) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for f in report.sorted_findings():
        out.setdefault(f.rule_id, []).append(f.message)
    return out


def test_kubernetes_example(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("kubernetes")
    opts = TestOptions()
    report = run(["deployment.yaml", "service.yaml", "good.json"], opts)
    rules = _by_rule(report)
    assert rules["main.deny"] == [
        "Containers must not run as root in Deployment hello-kubernetes"]
    assert rules["main.violation_latest_tag"] == [
        "image paulbouwer/hello-kubernetes:latest uses the latest tag"]
    assert rules["main.warn_replicas"] == [
        "Deployment hello-kubernetes has fewer than 2 replicas"]
    # the privileged container is excepted, not failed
    assert rules["main.deny_privileged"] == ["deny_privileged is excepted by data.main.exception"]
    sev = {f.rule_id: f.severity for f in report.findings}
    assert sev["main.deny"] is Severity.HIGH
    assert sev["main.warn_replicas"] is Severity.MEDIUM
    assert sev["main.deny_privileged"] is Severity.INFO
    assert exit_code(report, opts) == 1
    # one result per document: two deployments, a service, the good one
    assert len(report.documents) == 4
    second = next(f for f in report.findings if f.rule_id == "main.deny_privileged")
    assert (second.file, second.line, second.document_index) == ("deployment.yaml", 21, 1)


def test_metadata_goes_to_references(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("kubernetes")
    report = run(["deployment.yaml"], TestOptions())
    f = next(f for f in report.findings if f.rule_id == "main.violation_latest_tag")
    assert f.references == {"details": ['{"container": "hello-kubernetes"}'],
                            "severity": ["high"]}
    assert f.resource.name == "hello-kubernetes" and f.source == "policy"


def test_suppress_exceptions_and_exit_codes(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("kubernetes")
    opts = TestOptions(suppress_exceptions=True)
    report = run(["deployment.yaml"], opts)
    assert not [f for f in report.findings if f.severity is Severity.INFO]
    assert exit_code(report, TestOptions(no_fail=True)) == 0
    good = run(["good.json"], TestOptions())
    assert good.findings == [] and exit_code(good, TestOptions()) == 0


def test_warnings_fail_only_with_fail_on_warn(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("namespaces")
    opts = TestOptions(namespaces=["team.labels"])
    report = run(["nokind.yaml"], opts)
    assert [f.rule_id for f in report.findings] == ["team.labels.warn"]
    assert exit_code(report, opts) == 0
    assert exit_code(report, TestOptions(fail_on_warn=True)) == 1


def test_namespaces(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("namespaces")
    main_only = run(["configmap.yaml", "nokind.yaml"], TestOptions())
    assert {f.rule_id for f in main_only.findings} == {"main.deny"}
    both = run(["configmap.yaml", "nokind.yaml"], TestOptions(all_namespaces=True))
    assert {f.rule_id for f in both.findings} == {
        "main.deny", "team.labels.deny_owner", "team.labels.warn"}
    several = run(["configmap.yaml"], TestOptions(namespaces=["main", "team.labels"]))
    assert {f.rule_id for f in several.findings} == {"team.labels.deny_owner",
                                                     "team.labels.warn"}


def test_data_files(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("data")
    report = run(["pod.yaml"], TestOptions(data=["data"]))
    assert _by_rule(report) == {
        "main.deny": ["image docker.io/library/busybox:1 is not from an allowed registry"],
        "main.warn": ["namespace kube-system is excluded from admission"]}
    assert load_data(["data"]) == {
        "exclusions": {"namespaces": ["kube-system"]},
        "registries": {"allowed": ["registry.example.com/", "ghcr.io/example/"]}}


def test_data_in_subfolders_goes_under_their_names(tmp_path: Path) -> None:
    (tmp_path / "team" / "a").mkdir(parents=True)
    (tmp_path / "team" / "a" / "data.json").write_text('{"x": 1}')
    (tmp_path / "top.yaml").write_text("other: 2\n")
    assert load_data([str(tmp_path)]) == {"team": {"a": {"x": 1}}, "other": 2}


def test_combine(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("combine")
    report = run(["deployment.yaml", "service.yaml"], TestOptions(combine=True))
    assert [(f.file, f.message) for f in report.findings] == [
        ("Combined", "Deployment api has no Service named api (in deployment.yaml)")]


def test_parse_config_builtins(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("builtins")
    report = run(["configmap.yaml"], TestOptions())
    assert sorted(f.message for f in report.findings if f.rule_id == "main.deny") == [
        "settings enables debug in app.json", "settings sets level trace in log.yaml"]
    assert parse_config("yaml", "a: 1\n") == {"a": 1}
    assert parse_combined_config_files(["configmap.yaml"])[0]["contents"]["kind"] == "ConfigMap"


@pytest.mark.parametrize("engine", ["regorus"] + (["opa"] if available("opa") else []))
def test_file_builtins_resolve_against_the_policy_folder(chdir, engine: str) -> None:  # type: ignore[no-untyped-def]
    """conftest joins the path to the calling policy file's folder (not the current one), and
    orders the combined files by path; same results from the fixture folder and from /."""
    chdir("builtins")
    here = run(["configmap.yaml"], TestOptions(engine=engine))
    assert sorted(f.message for f in here.findings if f.rule_id == "main.warn") == [
        'settings files: ["settings/extra.yaml", "settings/limits.yaml"]',
        "settings has 2 keys (limit 1)"]
    root = str(FIXTURES / "builtins")
    os.chdir("/")
    there = run([root + "/configmap.yaml"], TestOptions(policies=[root + "/policy"],
                                                        engine=engine))
    assert sorted(f.message for f in there.findings if f.rule_id == "main.warn") == [
        f'settings files: ["{root}/settings/extra.yaml", "{root}/settings/limits.yaml"]',
        "settings has 2 keys (limit 1)"]
    assert there.errors == 0


def test_file_builtin_paths_are_joined_as_go_does() -> None:
    assert resolve_from_policy("policy/sub", "../../x.yaml") == "x.yaml"
    assert resolve_from_policy("policy", "/etc/x.yaml") == "policy/etc/x.yaml"
    assert resolve_from_policy("", "a/./b.yaml") == "a/b.yaml"
    src = 'x := parse_config_file("a.yaml") # parse_config_file("b")\ny := "parse_config_file("\n'
    assert bind_file_builtins(src, "p/q.rego") == (
        'x := socle.conftest.parse_config_file("p", "a.yaml") # parse_config_file("b")\n'
        'y := "parse_config_file("\n')


def test_trace_switches_to_opa_once_and_prints_per_query(chdir, capsys) -> None:  # type: ignore[no-untyped-def]
    if not available("opa"):
        pytest.skip("opa-golib-python-bindings not installed")
    chdir("builtins")
    conftest_mod._TRACE_NOTED.clear()
    report = run(["configmap.yaml"], TestOptions(trace=True))
    err = capsys.readouterr().err
    assert err.count("--trace: evaluating with the opa engine") == 1
    assert "file: configmap.yaml | query: data.main.deny" in err
    assert "TRAC | Eval input.kind = \"ConfigMap\"" in err
    # tracing changes nothing in the results
    assert sorted(f.message for f in report.findings) == sorted(
        f.message for f in run(["configmap.yaml"], TestOptions()).findings)


def test_trace_without_a_tracing_engine_is_a_usage_error(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from socle.policy import engine as engine_mod

    monkeypatch.setattr(engine_mod, "available", lambda name: name != "opa")
    with pytest.raises(UsageError, match="--trace needs the opa engine"):
        tracing_engine("regorus")


def test_v0_policies(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("v0")
    report = run(["."], TestOptions(rego_version="v0"))
    rules = _by_rule(report)
    assert sorted(rules["main.violation_ports"]) == [
        "port 80 is privileged", "violation_ports is excepted by data.main.exception"]
    assert rules["main.warn"] == ["names starting with hello are discouraged"] * 2
    with pytest.raises(PolicyError):
        run(["."], TestOptions())  # v0 syntax is an error in the default v1 mode


def test_top_level_arrays_are_checked_per_element(tmp_path: Path) -> None:
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "p.rego").write_text(
        'package main\ndeny contains sprintf("item %v", [input.n]) if input.n > 1\n')
    (tmp_path / "list.json").write_text('[{"n": 1}, {"n": 2}, {"n": 3}]')
    report = run([str(tmp_path / "list.json")],
                 TestOptions(policies=[str(tmp_path / "policy")]))
    assert sorted(f.message for f in report.findings) == ["item 2", "item 3"]
    assert len(report.documents) == 3


def test_object_without_msg_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text('package main\ndeny contains {"reason": "x"} if true\n')
    (tmp_path / "in.json").write_text("{}")
    with pytest.raises(PolicyError, match="without a msg"):
        run([str(tmp_path / "in.json")], TestOptions(policies=[str(tmp_path / "p.rego")]))


def test_bad_inputs_are_counted_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "p.rego").write_text('package main\ndeny contains "d" if input.bad\n')
    (tmp_path / "broken.yaml").write_text("a: [1, 2\n")
    (tmp_path / "ok.yaml").write_text("bad: true\n")
    opts = TestOptions(policies=[str(tmp_path / "p.rego")])
    report = run([str(tmp_path)], opts)
    assert report.errors == 1
    assert exit_code(report, opts) == 2
    assert any(f.rule_id == "main.deny" for f in report.findings)
    err = next(f for f in report.findings if f.source == "input")
    assert err.file.endswith("broken.yaml") and err.line >= 1


def test_ignore_and_discovery(chdir) -> None:  # type: ignore[no-untyped-def]
    chdir("kubernetes")
    files = input_files(["."], ignore=r"service")
    # named as conftest names them: joined and cleaned ("." and "x.yaml" make "x.yaml")
    assert "service.yaml" not in files and "deployment.yaml" in files
    assert not any(f.startswith("./") for f in files)
    assert not any(f.endswith(".rego") for f in files)
    with pytest.raises(UsageError):
        input_files(["missing.yaml"])
    with pytest.raises(UsageError):
        input_files(["."], ignore="(")


def test_rule_discovery_and_prefixes() -> None:
    rules = discover_rules({"a.rego": "package main\ndeny_x contains 1 if true\n"
                                      "deny_x contains 2 if true\nwarn := 1\nhelper := 2\n"
                                      "denyx := 3\nviolation_a_b contains 1 if true\n"})
    assert rules == {"main": {"deny_x": 2, "warn": 1, "violation_a_b": 1}}
    assert strip_failure_prefix("deny_foo") == "foo"
    assert strip_failure_prefix("violation_foo_bar") == "foo_bar"
    assert strip_failure_prefix("warn_foo") == "warn_foo"


def test_missing_policy_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        Runner(TestOptions(policies=[str(tmp_path / "nope")]))


class _Cycle:
    """Cyclic garbage a policy engine might leave behind (weak-referenceable)."""

    def __init__(self) -> None:
        self.me = self


def test_a_run_pauses_the_collector_and_still_frees_cycles(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """socle test runs with the cycle collector paused (its full passes over the report and
    the compiled policies cost ~5% of a large run), yet cyclic garbage made while checking
    a file is freed a few hundred files later, not kept to the end; the collector is on again
    afterwards."""
    import gc
    import weakref

    (tmp_path / "p.rego").write_text('package main\ndeny contains "no" if input.n > 1\n')
    for i in range(600):
        (tmp_path / f"in{i:03d}.json").write_text(f'{{"n": {i}}}')
    enabled: list[bool] = []
    cycles: list[weakref.ref[_Cycle]] = []
    real = Runner.check

    alive: list[int] = []  # at the 500th file, the first 200 files' cycles still alive

    def check(self: Runner, target: object, report: Report) -> None:
        enabled.append(gc.isenabled())
        cycles.append(weakref.ref(_Cycle()))
        if len(cycles) == 500:
            alive.append(sum(ref() is not None for ref in cycles[:200]))
        real(self, target, report)  # type: ignore[arg-type]

    monkeypatch.setattr(Runner, "check", check)
    assert gc.isenabled()
    report = run([str(tmp_path)], TestOptions(policies=[str(tmp_path / "p.rego")]))
    assert len(report.findings) == 598
    assert enabled and not any(enabled)
    assert gc.isenabled()
    assert alive == [0]  # freed along the way, not kept to the end
