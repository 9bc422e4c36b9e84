"""Pod and container hardening controls (SCL-002 .. SCL-029): exact findings for the cases where
pod-level and container-level settings interact, inputs, fixes that must compose, and the same
answers from both Rego engines."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from socle.formats.yaml import iter_documents
from socle.policy.engine import Engine, available, create_engine
from socle.security.fix import apply_op

CONTROLS = Path(__file__).resolve().parents[2] / "src" / "socle" / "security" / "controls"
MINE = sorted(p.name for p in CONTROLS.iterdir()
              if (p / "control.yaml").exists()
              and "SCL-002" <= yaml.safe_load((p / "control.yaml").read_text())["id"] <= "SCL-029")


def _meta(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CONTROLS / name / "control.yaml").read_text())
    return data


@cache
def _engine(name: str, kind: str = "regorus", inputs: str = "") -> Engine:
    engine = create_engine(kind, "v1")
    for lib in sorted((CONTROLS / "lib").glob("*.rego")):
        engine.add_policy(str(lib), lib.read_text())
    engine.add_policy(name, (CONTROLS / name / "policy.rego").read_text())
    values = dict(_meta(name).get("inputs") or {})
    values.update(yaml.safe_load(inputs) or {})
    engine.add_data({"socle": {"inputs": values}})
    return engine


def findings(name: str, doc: Any, kind: str = "regorus", inputs: str = "") -> list[dict[str, Any]]:
    engine = _engine(name, kind, inputs)
    out = engine.eval_query(f"data.socle.controls.{name.replace('-', '_')}.deny", doc)
    return sorted(out[0] if out else [], key=lambda f: (f["path"], f["msg"]))


def pod(spec: str) -> Any:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": yaml.safe_load(spec)}


def deployment(spec: str) -> Any:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"selector": {"matchLabels": {"app": "d"}},
                     "template": {"metadata": {"labels": {"app": "d"}},
                                  "spec": yaml.safe_load(spec)}}}


TPL = ["spec", "template", "spec"]


def test_run_as_root_container_false_overrides_pod_true() -> None:
    doc = deployment("""
securityContext: {runAsNonRoot: true}
initContainers: [{name: init, image: i}]
containers:
  - {name: web, image: w}
  - {name: legacy, image: l, securityContext: {runAsNonRoot: false}}
""")
    assert findings("run-as-root", doc) == [{
        "msg": 'container "legacy" sets runAsNonRoot to false and may run as root',
        "path": [*TPL, "containers", 1, "securityContext", "runAsNonRoot"],
        "evidence": False}]


def test_run_as_root_uid_alone_is_not_enough_and_pod_uid_0_counts_even_if_overridden() -> None:
    doc = pod("""
securityContext: {runAsUser: 0}
containers: [{name: api, image: a, securityContext: {runAsUser: 10001}}]
""")
    got = findings("run-as-root", doc)
    assert [(f["path"], f["evidence"]) for f in got] == [
        (["spec", "containers", 0, "securityContext", "runAsNonRoot"], "unset"),
        (["spec", "securityContext", "runAsUser"], 0),
    ]
    assert got[0]["msg"] == ('container "api" may run as root: neither it nor the pod sets '
                             "runAsNonRoot: true")


def test_seccomp_missing_is_one_pod_level_finding_for_the_containers_without_a_profile() -> None:
    doc = deployment("""
initContainers: [{name: init, image: i}]
containers:
  - {name: web, image: w, securityContext: {seccompProfile: {type: RuntimeDefault}}}
  - {name: side, image: s}
""")
    path = [*TPL, "securityContext", "seccompProfile", "type"]
    assert findings("seccomp-profile-missing", doc) == [{
        "msg": 'no seccomp profile for "init", "side": set seccompProfile type RuntimeDefault '
               "on the pod or on each container",
        "path": path, "evidence": ["init", "side"],
        "fix": [{"op": "add", "path": path, "value": "RuntimeDefault"}]}]
    fixed = copy.deepcopy(doc)
    for op in findings("seccomp-profile-missing", doc)[0]["fix"]:
        fixed = apply_op(fixed, op)
    assert findings("seccomp-profile-missing", fixed) == []
    windows = deployment("{os: {name: windows}, containers: [{name: w, image: w}]}")
    assert findings("seccomp-profile-missing", windows) == []


def test_seccomp_unconfined_at_pod_level_counts_even_when_every_container_overrides() -> None:
    doc = pod("""
securityContext: {seccompProfile: {type: Unconfined}}
containers: [{name: a, image: a, securityContext: {seccompProfile: {type: RuntimeDefault}}}]
""")
    assert [f["path"] for f in findings("seccomp-unconfined", doc)] == [
        ["spec", "securityContext", "seccompProfile", "type"]]
    assert findings("seccomp-profile-missing", doc) == []


def test_low_ids_follow_the_value_each_container_runs_with() -> None:
    overridden = pod("""
securityContext: {runAsUser: 1000, runAsGroup: 1000}
containers: [{name: a, image: a, securityContext: {runAsUser: 20000, runAsGroup: 20000}}]
""")
    assert findings("low-user-group-id", overridden) == []
    inherited = pod("""
securityContext: {runAsUser: 1000}
containers:
  - {name: a, image: a}
  - {name: b, image: b}
""")
    got = findings("low-user-group-id", inherited)
    assert len(got) == 1  # one finding for the pod-level value, not one per container
    assert got[0]["path"] == ["spec", "securityContext", "runAsUser"]
    custom = findings("low-user-group-id", inherited, inputs="lowIdMaximum: 999")
    assert custom == []


def test_privilege_escalation_messages_and_no_fix_where_the_api_would_reject_it() -> None:
    doc = pod("""
containers:
  - {name: a, image: a, securityContext: {privileged: true}}
  - {name: b, image: b, securityContext: {allowPrivilegeEscalation: "false"}}
  - {name: c, image: c, securityContext: {capabilities: {add: [CAP_SYS_ADMIN]}}}
""")
    got = findings("allow-privilege-escalation", doc)
    assert [("fix" in f) for f in got] == [False, True, False]
    assert got[1]["msg"] == ('container "b" allows privilege escalation: allowPrivilegeEscalation '
                             'is the string "false", not the boolean false')
    assert findings("allow-privilege-escalation", pod(
        "{os: {name: windows}, containers: [{name: w, image: w}]}")) == []


def test_capability_fixes_from_three_controls_compose() -> None:
    doc = pod("""
containers:
  - {name: a, image: a, securityContext: {capabilities: {add: [CAP_CHOWN, SYS_ADMIN]}}}
""")
    names = ["dangerous-capabilities", "capabilities-not-dropped", "net-raw-capability"]
    ops: list[Any] = []
    for name in names:
        for f in findings(name, doc):
            ops.extend(op for op in f.get("fix", []) if op not in ops)
    fixed = copy.deepcopy(doc)
    for op in ops:
        fixed = apply_op(fixed, op)
    caps = fixed["spec"]["containers"][0]["securityContext"]["capabilities"]
    assert caps == {"add": ["CHOWN"], "drop": ["ALL", "NET_RAW"]}
    assert findings("dangerous-capabilities", fixed) == []
    assert findings("net-raw-capability", fixed) == []
    # Restricted still refuses CHOWN, and says so without offering to remove it.
    left = findings("capabilities-not-dropped", fixed)
    assert [(f["evidence"], "fix" in f) for f in left] == [("CHOWN", False)]


def test_host_path_inputs_match_whole_path_segments() -> None:
    doc = deployment("""
containers: [{name: a, image: a}]
volumes:
  - {name: logs, hostPath: {path: /var/log/}}
  - {name: other, hostPath: {path: /var/logs-secret}}
""")
    got = findings("host-path-volume", doc, inputs="allowedHostPaths: [/var/log]")
    assert [f["evidence"] for f in got] == ["/var/logs-secret"]


def test_runtime_socket_through_a_parent_directory_but_not_a_lookalike() -> None:
    doc = pod("""
containers: [{name: a, image: a}]
volumes:
  - {name: run, hostPath: {path: //run/containerd/}}
  - {name: running, hostPath: {path: /var/running}}
""")
    assert findings("container-runtime-socket", doc) == [{
        "msg": 'volume "run" mounts node directory /run/containerd, which holds the container '
               "runtime socket /run/containerd/containerd.sock",
        "path": ["spec", "volumes", 0, "hostPath", "path"], "evidence": "/run/containerd"}]


def test_requests_default_to_limits_and_plain_init_containers_need_no_request() -> None:
    doc = deployment("""
initContainers: [{name: wait, image: w}]
containers: [{name: a, image: a, resources: {limits: {cpu: 500m, memory: 256Mi}}}]
""")
    assert findings("cpu-request-missing", doc) == []
    assert findings("memory-request-missing", doc) == []
    assert [f["path"] for f in findings("cpu-limit-missing", doc)] == [
        [*TPL, "initContainers", 0, "resources", "limits", "cpu"]]


def test_probes_are_not_required_from_pods_that_run_to_completion() -> None:
    assert findings("liveness-probe-missing", pod(
        "{restartPolicy: OnFailure, containers: [{name: a, image: a}]}")) == []
    assert [f["path"] for f in findings("readiness-probe-missing", pod(
        "{containers: [{name: a, image: a, livenessProbe: {tcpSocket: {port: 80}}}]}"))] == [
        ["spec", "containers", 0, "readinessProbe"]]


def _fixture_docs(name: str) -> list[Any]:
    out = []
    for kind in ("fail", "pass"):
        path = CONTROLS / name / "fixtures" / f"{kind}.yaml"
        out.extend(d.obj for d in iter_documents(path.read_bytes(), str(path)))
    return out


@pytest.mark.skipif(not available("opa"), reason="OPA bindings not installed")
@pytest.mark.parametrize("name", MINE)
def test_both_engines_give_the_same_findings(name: str) -> None:
    for doc in _fixture_docs(name):
        assert findings(name, doc, "opa") == findings(name, doc, "regorus"), doc["metadata"]
