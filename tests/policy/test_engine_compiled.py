"""The compiled engine (Rego compiled to Python) against regorus: same values, same order.

Differential over every bundled control's fixtures, the policy benchmark's policies on a
generated corpus, every Rego policy folder of the test fixtures, and Deployments mutated by
hypothesis; plus the semantics that are easy to get wrong (sets of objects, numbers, sprintf,
undefined, conflicts) and the fallback rules (``with``, custom builtins, ``print``).
"""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from socle.formats.yaml import iter_documents
from socle.policy.engine import Engine, PolicyError, available, create_engine
from socle.policy.engine_compiled import CompiledEngine, main
from socle.policy.v0 import package_of, rule_names
from socle_testing import load_module

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
CONTROLS = ROOT / "src" / "socle" / "security" / "controls"
LIB = CONTROLS / "lib"
FOLDERS = sorted(p for p in CONTROLS.iterdir() if (p / "control.yaml").exists())
BENCH_POLICY = ROOT / "bench" / "policy" / "policy"


def _pair(sources: dict[str, str], data: dict[str, Any] | None = None,
          version: str = "v1") -> tuple[CompiledEngine, Engine]:
    # regorus always reports a failing builtin: compared with it in strict mode (the default,
    # OPA's undefined, is compared with conftest in tests/compat/test_conftest_differential.py,
    # the "semantics" fixtures, and tests/compat/test_rego_fuzz.py)
    compiled = CompiledEngine(rego_version=version, strict_builtin_errors=True)
    regorus = create_engine("regorus", version)
    for engine in (compiled, regorus):
        for path, src in sources.items():
            engine.add_policy(path, src)
        if data:
            engine.add_data(copy.deepcopy(data))
        engine.prepare()
    return compiled, regorus


def _meta(folder: Path) -> dict[str, Any]:
    meta: dict[str, Any] = yaml.safe_load((folder / "control.yaml").read_text())
    return meta


def _inputs(folder: Path) -> dict[str, Any]:
    inputs = dict(_meta(folder).get("inputs") or {})
    override = folder / "fixtures" / "inputs.yaml"
    if override.exists():
        inputs.update(yaml.safe_load(override.read_text()) or {})
    return inputs


def _lib() -> dict[str, str]:
    return {str(p): p.read_text() for p in sorted(LIB.glob("*.rego"))}


def _all_controls() -> dict[str, str]:
    out = _lib()
    for f in FOLDERS:
        out[str(f / "policy.rego")] = (f / "policy.rego").read_text()
    return out


# --- bundled controls ----------------------------------------------------------------------------

def test_every_bundled_control_and_the_library_compile_without_fallback() -> None:
    engine = CompiledEngine()
    for path, src in _all_controls().items():
        engine.add_policy(path, src)
    engine.prepare()
    assert engine.fallback_rules() == {}
    compiled = engine.compiled_rules()
    for f in FOLDERS:
        assert f"socle.controls.{f.name.replace('-', '_')}.deny" in compiled
    assert "socle.lib.k8s.containers" in compiled


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_control_fixtures_give_regorus_results(folder: Path) -> None:
    meta = _meta(folder)
    rule = f"socle.controls.{meta['name'].replace('-', '_')}.deny"
    sources = {**_lib(), str(folder / "policy.rego"): (folder / "policy.rego").read_text()}
    compared = 0
    for kind in ("fail", "pass"):
        path = folder / "fixtures" / f"{kind}.yaml"
        docs = list(iter_documents(path.read_bytes(), str(path)))
        data: dict[str, Any] = {"socle": {"inputs": _inputs(folder)}}
        if meta.get("crossResource"):
            data["socle"]["inventory"] = [d.obj for d in docs]
        compiled, regorus = _pair(sources, data)
        for doc in docs:
            got = compiled.eval_rule(rule, doc.obj)
            assert got == regorus.eval_rule(rule, doc.obj), f"{path}:{doc.line}"
            compared += 1
        # the generated code answered every call itself
        assert compiled.runtime_fallbacks == 0, compiled.last_fallback
    assert compared > 0


# --- realistic workloads mutated by hypothesis ---------------------------------------------------

def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "serviceAccountName": "web",
                    "securityContext": {"runAsNonRoot": True, "runAsUser": 1000,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "initContainers": [{"name": "init", "image": "busybox:1.36",
                                        "command": ["sh", "-c", "true"]}],
                    "containers": [{
                        "name": "app", "image": "registry.example.com/shop/web:1.2.3",
                        "imagePullPolicy": "Always",
                        "ports": [{"containerPort": 8080}],
                        "env": [{"name": "MODE", "value": "prod"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                                      "limits": {"cpu": "500m", "memory": "256Mi"}},
                        "livenessProbe": {"httpGet": {"path": "/", "port": 8080}},
                        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "readOnlyRootFilesystem": True,
                                            "capabilities": {"drop": ["ALL"]}},
                    }],
                    "volumes": [{"name": "cache", "emptyDir": {}}],
                },
            },
        },
    }


_C = ["spec", "template", "spec", "containers", 0]
_P = ["spec", "template", "spec"]
_MUTATIONS: list[tuple[list[Any], Any]] = [
    ([*_C, "securityContext", "privileged"], True),
    ([*_C, "securityContext", "privileged"], "yes"),
    ([*_C, "securityContext", "allowPrivilegeEscalation"], True),
    ([*_C, "securityContext", "readOnlyRootFilesystem"], None),
    ([*_C, "securityContext", "capabilities", "add"], ["NET_ADMIN", "sys_admin", "CAP_NET_RAW"]),
    ([*_C, "securityContext", "capabilities", "drop"], ["all"]),
    ([*_C, "securityContext", "capabilities"], None),
    ([*_C, "securityContext", "runAsUser"], 0),
    ([*_C, "securityContext", "runAsUser"], 1.0),
    ([*_C, "securityContext", "procMount"], "Unmasked"),
    ([*_C, "securityContext", "seccompProfile"], {"type": "Unconfined"}),
    ([*_C, "securityContext"], None),
    ([*_C, "image"], "nginx"),
    ([*_C, "image"], "nginx:latest"),
    ([*_C, "image"], "docker.io/library/nginx@sha256:" + "a" * 64),
    ([*_C, "image"], 42),
    ([*_C, "imagePullPolicy"], "IfNotPresent"),
    ([*_C, "resources"], {}),
    ([*_C, "resources", "limits", "memory"], None),
    ([*_C, "resources", "requests"], None),
    ([*_C, "livenessProbe"], None),
    ([*_C, "readinessProbe"], None),
    ([*_C, "ports"], [{"containerPort": 22, "hostPort": 2222}]),
    ([*_C, "env"], [{"name": "DB_PASSWORD", "value": "hunter2"},
                    {"name": "AWS_KEY", "value": "AKIA" + "B" * 16}]),
    ([*_C, "env"], [{"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]),
    ([*_C, "command"], ["sudo", "run"]),
    ([*_P, "hostNetwork"], True),
    ([*_P, "hostPID"], True),
    ([*_P, "hostIPC"], True),
    ([*_P, "securityContext"], None),
    ([*_P, "securityContext", "runAsNonRoot"], False),
    ([*_P, "securityContext", "sysctls"], [{"name": "kernel.msgmax", "value": "1"}]),
    ([*_P, "volumes"], [{"name": "sock", "hostPath": {"path": "/var/run//docker.sock/"}}]),
    ([*_P, "volumes"], [{"name": "root", "hostPath": {"path": "/"}}]),
    ([*_P, "automountServiceAccountToken"], True),
    ([*_P, "serviceAccountName"], "default"),
    ([*_P, "os"], {"name": "windows"}),
    ([*_P, "initContainers", 0, "restartPolicy"], "Always"),
    ([*_P, "initContainers"], None),
    ([*_P, "ephemeralContainers"], [{"name": "debug", "image": "busybox"}]),
    (["spec", "replicas"], 1),
    (["spec", "replicas"], "3"),
    (["metadata", "namespace"], "kube-system"),
    (["metadata", "annotations"], {"container.apparmor.security.beta.kubernetes.io/app":
                                   "unconfined"}),
    (["metadata"], None),
    (["kind"], "Pod"),
    (["kind"], "CronJob"),
]


def _apply(doc: dict[str, Any], path: list[Any], value: Any) -> None:
    cur: Any = doc
    for key in path[:-1]:
        in_dict = isinstance(cur, dict) and isinstance(cur.get(key), (dict, list))
        in_list = isinstance(cur, list) and isinstance(key, int) and key < len(cur)
        if in_dict or in_list:
            cur = cur[key]
        else:
            return
    last = path[-1]
    if isinstance(cur, dict):
        if value is None:
            cur.pop(last, None)
        else:
            cur[last] = copy.deepcopy(value)
    elif isinstance(cur, list) and isinstance(last, int) and last < len(cur):
        cur[last] = copy.deepcopy(value)


@cache
def _all_inputs() -> dict[str, Any]:
    from socle.security.controls import default_inputs, load_controls

    inputs: dict[str, Any] = default_inputs(load_controls())
    return inputs


@cache
def _all_pair() -> tuple[CompiledEngine, Engine, list[str]]:
    compiled, regorus = _pair(_all_controls(), {"socle": {"inputs": _all_inputs()}})
    rules = [f"socle.controls.{f.name.replace('-', '_')}.deny" for f in FOLDERS]
    return compiled, regorus, rules


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(range(len(_MUTATIONS))), min_size=1, max_size=6),
       st.sampled_from(["Deployment", "Pod", "StatefulSet"]))
def test_mutated_workloads_give_regorus_results(picks: list[int], kind: str) -> None:
    compiled, regorus, rules = _all_pair()
    doc = _deployment()
    if kind == "Pod":
        doc = {"apiVersion": "v1", "kind": "Pod", "metadata": doc["metadata"],
               "spec": doc["spec"]["template"]["spec"]}
        picks = [i for i in picks if _MUTATIONS[i][0][:3] != _P] or picks
    doc["kind"] = kind if kind != "Pod" else "Pod"
    for i in picks:
        path, value = _MUTATIONS[i]
        if kind == "Pod" and path[:3] == _P:
            path = ["spec", *path[3:]]
        _apply(doc, path, value)
    got = compiled.eval_rules(rules, doc)
    want = regorus.eval_rules(rules, doc)
    assert got == want, json.dumps(doc)


def test_the_grouped_scan_query_gives_regorus_results() -> None:
    # the aggregator module the scanner builds: an object comprehension over every deny
    rules = _all_pair()[2]
    entries = ",\n".join(f'"{r}": data.{r}' for r in rules)
    group = ("package socle_scan.gtest\nimport rego.v1\n"
             f"results := {{id: r |\n some id, r in {{\n{entries}\n}}\n count(r) > 0\n}}\n")
    c, r = _pair({**_all_controls(), "<group>": group},
                 {"socle": {"inputs": _all_inputs()}})
    doc = _deployment()
    _apply(doc, [*_C, "securityContext"], None)
    _apply(doc, [*_C, "image"], "nginx:latest")
    got = c.eval_rule("socle_scan.gtest.results", doc)
    assert got == r.eval_rule("socle_scan.gtest.results", doc)
    assert isinstance(got, dict) and len(got) > 3
    assert c.runtime_fallbacks == 0, c.last_fallback
    # the scanner's reading: the same findings, as made (sorted and converted, they are
    # the sorted ones)
    from socle.policy.regoc.runtime import ordered, to_json

    made = c.eval_rule_unsorted("socle_scan.gtest.results", doc)
    assert {k: ordered([to_json(x) for x in v]) for k, v in made.items()} == got


# --- the policy benchmark's policies over a generated corpus ------------------------------------

def _check_rules(engine: Engine) -> tuple[list[str], list[str]]:
    checks: list[str] = []
    tests: list[str] = []
    for src in engine.modules().values():
        pkg = package_of(src)
        for rule, _ in rule_names(src):
            path = f"{pkg}.{rule}"
            if rule.startswith("test_"):
                if path not in tests:
                    tests.append(path)
            elif path not in checks:
                checks.append(path)
    return checks, tests


def test_benchmark_policies_give_regorus_results() -> None:
    gen = load_module("socle_bench_policy_generate", ROOT / "bench" / "policy" / "generate.py")
    corpus = gen.vgen.build(120, 8, 7)
    gen.plant(corpus, 7)
    sources = {str(p): p.read_text() for p in sorted(BENCH_POLICY.glob("*.rego"))}
    compiled, regorus = _pair(sources)
    checks, tests = _check_rules(regorus)
    assert checks and tests
    compared = 0
    for _rel, docs, _fmt in corpus.files:
        for doc in docs:
            obj = json.loads(json.dumps(doc.obj, default=str))
            assert compiled.eval_rules(checks, obj) == regorus.eval_rules(checks, obj)
            compared += 1
    for test in tests:
        assert compiled.eval_rule(test, None) == regorus.eval_rule(test, None), test
    assert compared >= 100
    # only the unit tests (they use `with`) are left to regorus
    checks_left = {r for r in compiled.fallback_rules() if r.split(".")[-1][:5] != "test_"}
    assert checks_left == set()


# --- every Rego policy folder of the test fixtures ----------------------------------------------

def _policy_dirs() -> list[Path]:
    found = []
    for root, dirs, files in os.walk(TESTS):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        p = Path(root)
        if p.name == "policy" and any(f.endswith(".rego") for f in files) \
                and p.parent.name != "semantics":
            found.append(p)
    # (compat/conftest/semantics is where regorus and the strict OPA bridge differ from
    # conftest on purpose: failing builtins, missing values under `not`; compared with
    # conftest in tests/compat/test_conftest_differential.py)
    return found


@pytest.mark.parametrize("policy", _policy_dirs(), ids=lambda p: str(p.relative_to(TESTS)))
def test_fixture_policies_give_regorus_results(policy: Path) -> None:
    from socle.policy.conftest import (
        input_files,
        load_data,
        load_policies,
        parse_file,
        register_builtins,
        targets,
    )

    def build(name: str, version: str) -> Engine:
        e = create_engine(name, version)
        register_builtins(e)
        load_policies(e, [str(policy)])
        data = policy.parent / "data"
        if data.is_dir():
            e.add_data(load_data([str(data)]))
        e.prepare()
        return e

    for version in ("v1", "v0"):
        try:
            regorus, compiled = build("regorus", version), build("compiled", version)
            break
        except PolicyError:
            continue
    else:
        pytest.skip("compiles neither as v1 nor as v0")
    checks, tests = _check_rules(regorus)
    cwd = os.getcwd()
    os.chdir(policy.parent)
    try:
        for f in input_files(["."]):
            if f.startswith(("./policy", "./data")):
                continue
            try:
                docs = parse_file(f)
            except Exception:
                continue
            for t in targets(f, docs):
                want = _outcome(regorus, checks, t.obj)
                assert _outcome(compiled, checks, t.obj) == want, f"{policy}: {f}"
        for test in tests:
            assert _outcome(compiled, [test], None) == _outcome(regorus, [test], None), test
    finally:
        os.chdir(cwd)


def _outcome(engine: Engine, rules: list[str], obj: Any) -> Any:
    out: dict[str, Any] = {}
    for rule in rules:
        try:
            out[rule] = engine.eval_rule(rule, obj)
        except PolicyError as err:
            out[rule] = f"error: {err.message}"
    return out


# --- semantics ----------------------------------------------------------------------------------

SEMANTICS = """package t
import rego.v1

objs contains {"n": n, "k": k} if some k, n in input.nums
mixed := {null, true, 1, 1.0, 2.5, "a", [1], {"a": 1}, {"b": 0}, {1}}
nums := [10 / 2, 7 / 2, 2 * 1.5, input.f, 5 % 3, 0 - input.i, -2]
fmt := [sprintf("%v|%s|%d|%q", [1.0, 2.50, 3, "x\\"y"]),
        sprintf("%v %v", [{"b": [1, "z"], "a": null}, {"x", 1}])]
missing := input.nope.deeper
safe if not input.nope.deeper
count_set := count({x | some x in input.dups})
arr := [x | some x in input.dups]
eqs := [1 == 1.0, [1] == [true], {"a": 1} == {"a": 1.0}, 1 < "a", null < false]
obj[k] := v if some k, v in {"a": 1, "b": input.i}
default d := "none"
d := "set" if input.flag
else_chain := "a" if input.i > 10 else := "b" if input.i > 2 else := "c"
all_pos if every x in input.nums { x > 0 }
first(xs) := xs[0]
nested := [y | some i; input.nums[i] > 1; y := first([i])]
bad := x if { some x in input.nums }
"""


@pytest.fixture(scope="module")
def semantics() -> tuple[CompiledEngine, Engine]:
    return _pair({"t.rego": SEMANTICS})


@pytest.mark.parametrize("rule", ["objs", "nums", "missing", "safe",
                                  "count_set", "arr", "eqs", "obj", "d", "else_chain",
                                  "all_pos", "nested"])
@pytest.mark.parametrize("doc", [
    {"nums": [3, 1, 2, 1.0], "f": 2.0, "i": 3, "dups": [{"a": 1}, {"a": 1.0}, [1], [1]]},
    {"nums": [], "f": 0.5, "i": 30, "flag": True, "dups": ["b", "a", "b"]},
    {"nums": [-1, "x"], "i": 1, "dups": [None, False, 0]},
])
def test_semantics_match_regorus(semantics: tuple[CompiledEngine, Engine], rule: str,
                                 doc: dict[str, Any]) -> None:
    compiled, regorus = semantics
    before = compiled.runtime_fallbacks
    assert compiled.eval_rule(f"t.{rule}", doc) == regorus.eval_rule(f"t.{rule}", doc)
    if rule != "nums" or "f" in doc:  # 0 - input.i with no input.f: a type error
        assert compiled.runtime_fallbacks == before, compiled.last_fallback


def test_sprintf_verbs_print_what_opa_prints(semantics: tuple[CompiledEngine, Engine]) -> None:
    # Go's fmt behind OPA's sprintf: %s of a number is %!s(float64=2.5) (regorus: 2.5); the
    # whole table of verbs and types is compared with conftest (tests/compat/conftest/semantics)
    compiled, _ = semantics
    assert compiled.eval_rule("t.fmt", {}) == ['1|%!s(float64=2.5)|3|"x\\"y"',
                                                '{"a": null, "b": [1, "z"]} {1, "x"}']


def test_sets_of_objects_come_back_deduplicated_in_opa_order(
        semantics: tuple[CompiledEngine, Engine]) -> None:
    compiled, regorus = semantics
    doc = {"nums": [2, 1, 2.0]}
    assert compiled.eval_rule("t.objs", doc) == regorus.eval_rule("t.objs", doc) == [
        {"k": 0, "n": 2}, {"k": 1, "n": 1}, {"k": 2, "n": 2}]
    # OPA's order puts sets after objects (regorus' before them): OPA v1.20 gives this list
    assert compiled.eval_rule("t.mixed", {}) == [
        None, True, 1, 2.5, "a", [1], {"a": 1}, {"b": 0}, [1]]
    assert compiled.runtime_fallbacks == 0
    if available("opa"):  # OPA's own JSON (socle's OpaEngine sorts sets its own way)
        import opa_bindings  # type: ignore[import-untyped]

        opa = opa_bindings.OpaEngine()
        opa.add_policy("t.rego", SEMANTICS)
        assert opa.eval_document("t.mixed") == compiled.eval_rule("t.mixed", {})


VALUES = """package v
import rego.v1

as_set := {x | some x in input.xs}
sets := {{y | some y in x} | some x in input.xs; is_array(x)}
sorted := sort(input.xs)
fmt := sprintf("%v %s", [input.xs, as_set])
less := [[i, j] | some i, a in input.xs; some j, b in input.xs; a < b]
has := [i | some i, x in input.xs; x in as_set]
lits := [[x == 0, x != 1, x < 1, x >= 1.5, x == null, x != null, x == true, x != false] |
	some x in input.xs]
types := [[is_string(x), is_number(x), is_object(x), is_array(x), is_boolean(x), is_null(x)] |
	some x in input.xs]
sizes := [n | some x in input.xs; n := count(x)]
fmts := [[sprintf("<%v>", [x]), sprintf("%v", [x]), sprintf("%v%v", [x, x])] | some x in input.xs]
quoted := [sprintf("%q and %s", [x, x]) | some x in input.xs; is_string(x)]
ints := [sprintf("%d%%", [x]) | some x in input.xs; is_number(x)]
strs := {"a", "b"}
inn := [[x in strs, x in ["a", "ab"], x in {1, "a"}] | some x in input.xs]
idx := [strs[x] | some x in input.xs]
"""

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3),
                     st.sampled_from([0.5, 1.0, 2.0, -1.5]), st.sampled_from(["", "a", "b", "ab"]))
_VALUES = st.recursive(_SCALARS, lambda kids: st.one_of(
    st.lists(kids, max_size=3), st.dictionaries(st.sampled_from(["a", "b", "c"]), kids,
                                                max_size=3)), max_leaves=8)


@pytest.fixture(scope="module")
def values_pair() -> tuple[CompiledEngine, Engine]:
    return _pair({"v.rego": VALUES})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_VALUES, max_size=14))
def test_sets_order_and_equality_of_any_values_match_regorus(
        values_pair: tuple[CompiledEngine, Engine], xs: list[Any]) -> None:
    # small sets compare elements one by one, sets of 8 and more use fingerprints; ordering
    # (sets, sort, sprintf of objects and sets, <) is regorus' value order
    compiled, regorus = values_pair
    doc = {"xs": xs}
    for rule in ("as_set", "sets", "sorted", "fmt", "less", "has", "lits", "types", "sizes",
                 "fmts", "quoted", "ints", "inn", "idx"):
        if rule == "fmt" and not xs:  # an empty set: OPA prints set(), regorus {}
            assert compiled.eval_rule("v.fmt", doc) == "[] set()"
            continue
        if rule == "ints":  # %d of a negative number: OPA prints -1, regorus --1
            if any(type(x) is float for x in xs):
                continue  # (%d of a float: OPA %!d(float64=0.5), regorus an error; see conftest)
            want = _value_or_error(regorus, "v.ints", doc)
            if isinstance(want, list):
                want = [w.replace("--", "-") for w in want]
            assert _value_or_error(compiled, "v.ints", doc) == want
            continue
        assert _value_or_error(compiled, f"v.{rule}", doc) == _value_or_error(
            regorus, f"v.{rule}", doc), rule


def _value_or_error(engine: Engine, rule: str, doc: Any) -> Any:
    try:
        return engine.eval_rule(rule, doc)
    except PolicyError as err:
        return ("error", err.message)


def test_conflicting_complete_rule_is_regorus_error(
        semantics: tuple[CompiledEngine, Engine]) -> None:
    compiled, regorus = semantics
    doc = {"nums": [1, 2]}
    with pytest.raises(PolicyError) as want:
        regorus.eval_rule("t.bad", doc)
    with pytest.raises(PolicyError) as got:
        compiled.eval_rule("t.bad", doc)
    assert got.value.message == want.value.message
    assert compiled.last_fallback.startswith("data.t.bad: Conflict")


STATIC = """package s
import rego.v1

names := {lower(n) | some n in array.concat(data.cfg.names, object.get(data.cfg, "more", []))}
hit if lower(input.name) in names
f(x) := [x, input.name]
g := f(1)
h := count(names) + 1
"""


def test_rules_not_reading_the_input_are_computed_once_until_data_or_policy_change() -> None:
    compiled, regorus = _pair({"s.rego": STATIC}, {"cfg": {"names": ["A"]}})
    static = {".".join(p[1:]) for p, r in compiled._compiled().rules.items() if r.static}
    assert static == {"s.names", "s.h"}  # g reads the input through f
    for name in ("a", "b"):
        for rule in ("s.hit", "s.g", "s.h"):
            assert compiled.eval_rule(rule, {"name": name}) == regorus.eval_rule(
                rule, {"name": name})
    assert compiled.eval_rule("s.g", {"name": "x"}) == [1, "x"]
    for engine in (compiled, regorus):
        engine.add_data({"cfg": {"more": ["B", "C"]}})
    for name in ("a", "b"):
        assert compiled.eval_rule("s.hit", {"name": name}) == regorus.eval_rule(
            "s.hit", {"name": name})
    assert compiled.eval_rule("s.hit", {"name": "b"}) is True
    assert compiled.eval_rule("s.h", {}) == 4
    for engine in (compiled, regorus):
        engine.add_policy("more.rego", "package s\nimport rego.v1\nnames contains \"z\"\n")
    assert compiled.eval_rule("s.h", {}) == regorus.eval_rule("s.h", {}) == 5
    assert compiled.runtime_fallbacks == 0


def test_v0_partial_rules_compile() -> None:
    src = ('package main\n\ndeny[msg] {\n  input.kind == "Pod"\n  c := input.spec.containers[_]\n'
           '  not c.resources\n  msg := sprintf("container %s has no resources", [c.name])\n}\n'
           'labels[k] = v { v := input.metadata.labels[k] }\n')
    compiled, regorus = _pair({"p.rego": src}, version="v0")
    assert compiled.fallback_rules() == {}
    doc = {"kind": "Pod", "metadata": {"labels": {"a": "1"}},
           "spec": {"containers": [{"name": "b"}, {"name": "a", "resources": {}}, {"name": "c"}]}}
    for rule in ("main.deny", "main.labels"):
        assert compiled.eval_rule(rule, doc) == regorus.eval_rule(rule, doc)
    assert compiled.eval_rule("main.deny", doc) == [
        "container b has no resources", "container c has no resources"]


def test_unsupported_rules_fall_back_with_a_reason() -> None:
    src = ('package t\nimport rego.v1\n'
           'w if { input.a with input.a as true }\n'
           'p if { print("hi"); input.a }\n'
           'c := custom(1)\n'
           'dep if w\n'
           'plain := upper(input.s)\n')
    compiled = CompiledEngine()
    regorus = create_engine("regorus")
    for e in (compiled, regorus):
        e.add_builtin("custom", 1, lambda x: x + 1)
        e.add_policy("t.rego", src)
    fallback = compiled.fallback_rules()
    assert fallback["t.w"] == "with"
    assert "print" in fallback["t.p"]
    assert fallback["t.dep"] == "depends on t.w"
    # a builtin added with add_builtin is called by the generated code itself
    assert compiled.compiled_rules() == ["t.c", "t.plain"]
    doc = {"a": False, "s": "x"}
    for rule in ("w", "p", "c", "dep", "plain"):
        assert compiled.eval_rule(f"t.{rule}", doc) == regorus.eval_rule(f"t.{rule}", doc)
    assert compiled.eval_rule("t.c", doc) == 2
    compiled.take_prints()


def test_compile_errors_are_regorus_errors() -> None:
    engine = CompiledEngine()
    with pytest.raises(PolicyError) as err:
        engine.add_policy("bad.rego", "package t\nimport rego.v1\nx := \n")
    assert err.value.file == "bad.rego"


def test_queries_of_a_rule_path_and_others(semantics: tuple[CompiledEngine, Engine]) -> None:
    compiled, regorus = semantics
    doc = {"nums": [1]}
    assert compiled.eval_query("data.t.arr", {"dups": [1]}) == [[1]]
    assert compiled.eval_query("data.t.missing", doc) == []
    assert compiled.eval_query("x := 1 + 1", doc) == regorus.eval_query("x := 1 + 1", doc)


def test_generated_code_can_be_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                       ) -> None:
    p = tmp_path / "p.rego"
    p.write_text('package t\nimport rego.v1\nallow if input.user == "admin"\n')
    assert main([str(p)]) == 0
    out = capsys.readouterr().out
    assert "def r_" in out and "data.t.allow" in out
    assert main([str(tmp_path / "missing.rego")]) == 2


# --- data handed to regorus lazily, compiled programs cached ---------------------------------

_FALLBACK = """package lazy
import rego.v1
answer := data.settings.level
# `with data...` is left to regorus: it must see the data added before
shifted := v if { v := data.settings.level with data.other as {} }
"""


def test_data_reaches_regorus_only_when_something_falls_back() -> None:
    engine = CompiledEngine()
    engine.add_policy("lazy.rego", _FALLBACK)
    given = {"settings": {"level": 3}}
    engine.add_data(given)
    assert engine.eval_rule("lazy.answer", {}) == 3
    assert engine._pending  # nothing fell back yet: regorus has not been given the data
    assert engine.eval_rule("lazy.shifted", {}) == 3  # falls back: regorus sees the data
    assert not engine._pending
    engine.add_data({"settings": {"other": 1}})
    assert given == {"settings": {"level": 3}}  # the caller's object is not merged into


def test_conflicting_data_is_an_error_as_in_regorus() -> None:
    compiled, regorus = CompiledEngine(), create_engine("regorus")
    for engine in (compiled, regorus):
        engine.add_data({"a": {"b": 1}})
        engine.add_data({"a": {"b": 1}})  # the same value twice is fine
    with pytest.raises(PolicyError, match="generated multiple times"):
        regorus.add_data({"a": {"b": 2}})
    with pytest.raises(PolicyError, match="generated multiple times"):
        compiled.add_data({"a": {"b": 2}})


def test_compiled_programs_are_cached_on_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                              ) -> None:
    import socle.policy.engine_compiled as ec

    monkeypatch.setenv("SOCLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ec, "_MEMORY", {})
    source = "package c\nimport rego.v1\nx := input.n + 1\n"
    first = CompiledEngine()
    first.add_policy("c.rego", source)
    assert first.eval_rule("c.x", {"n": 1}) == 2
    files = list((tmp_path / "regoc").glob("*.bin"))
    assert len(files) == 1

    # a new process (no memory cache) takes the program from disk, without compiling
    monkeypatch.setattr(ec, "_MEMORY", {})
    monkeypatch.setattr(ec, "compile_program", lambda *a, **k: pytest.fail("compiled again"))
    second = CompiledEngine()
    second.add_policy("c.rego", source)
    assert second.eval_rule("c.x", {"n": 41}) == 42
    assert second.compiled_rules() == ["c.x"]
    monkeypatch.undo()

    # an entry others may write is not trusted (it is code): compiled again
    monkeypatch.setenv("SOCLE_CACHE_DIR", str(tmp_path))
    os.chmod(files[0], 0o666)
    monkeypatch.setattr(ec, "_MEMORY", {})
    monkeypatch.setattr(ec, "compile_program", lambda *a, **k: pytest.fail("compiled"))
    distrusted = CompiledEngine()
    distrusted.add_policy("c.rego", source)
    with pytest.raises(pytest.fail.Exception, match="compiled"):
        distrusted.prepare()
    monkeypatch.undo()

    # another policy is another entry; a damaged entry is compiled again, not trusted
    monkeypatch.setenv("SOCLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ec, "_MEMORY", {})
    files[0].write_bytes(b"not a cache entry")
    third = CompiledEngine()
    third.add_policy("c.rego", source.replace("+ 1", "+ 2"))
    assert third.eval_rule("c.x", {"n": 1}) == 3
    fourth = CompiledEngine()
    fourth.add_policy("c.rego", source)
    assert fourth.eval_rule("c.x", {"n": 1}) == 2
    assert len(list((tmp_path / "regoc").glob("*.bin"))) == 2


@pytest.mark.skipif(not available("opa"), reason="opa-golib not installed")
def test_undefined_in_one_element_of_a_set_head_drops_that_element_as_opa_does() -> None:
    # OPA keeps the elements whose head is defined; regorus 0.13.0 drops the whole set (a
    # pod with one unnamed container hid every other container's SCL-031 finding).
    src = """package t
import rego.v1
deny contains {"msg": sprintf("%q", [c.name]), "i": i} if {
  some i, c in input.cs
}
"""
    doc = {"cs": [{"name": "a"}, {"noname": 1}, {"name": "b"}]}
    values: dict[str, Any] = {}
    for name in ("compiled", "opa", "regorus"):
        engine = create_engine(name)
        engine.add_policy("t.rego", src)
        try:
            values[name] = engine.eval_rule("t.deny", doc)
        except PolicyError as err:
            values[name] = err.message
    assert values["compiled"] == values["opa"] == [{"i": 0, "msg": '"a"'},
                                                   {"i": 2, "msg": '"b"'}]
    # the regorus gap this documents (docs/engines.md): an empty set, or "not an object"
    assert values["regorus"] in ([], "not an object")


def test_compile_caches_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import socle.policy.engine_compiled as ec

    monkeypatch.setenv("SOCLE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(ec, "_MEMORY", {})
    monkeypatch.setattr(ec, "_MEMORY_ENTRIES", 3)
    monkeypatch.setattr(ec, "_DISK_ENTRIES", 4)
    for n in range(7):  # seven different policies, as a webhook reloading edited files sees
        engine = CompiledEngine()
        engine.add_policy("c.rego", f"package c\nimport rego.v1\nx := {n}\n")
        assert engine.eval_rule("c.x", {}) == n
    assert len(ec._MEMORY) == 3
    assert len(list((tmp_path / "regoc").glob("*.bin"))) == 4


def test_rules_beyond_pythons_limits_fall_back_to_regorus() -> None:
    # 25 nested iterations: more nested blocks than Python compiles (20)
    body = "\n".join(f"  some x{i} in input.a" for i in range(25))
    src = f"package t\nimport rego.v1\nr contains x0 if {{\n{body}\n}}\nok := 1\ns := count(r)\n"
    compiled, regorus = _pair({"t.rego": src})
    for rule in ("t.ok", "t.r", "t.s"):  # one item: 25 nested loops over it stay cheap
        assert compiled.eval_rule(rule, {"a": [7]}) == regorus.eval_rule(rule, {"a": [7]})
    assert "Python's limits" in compiled.fallback_rules()["t.r"]
    assert compiled.fallback_rules()["t.s"] == "depends on t.r"
    assert compiled.compiled_rules() == ["t.ok"]


# --- results as regorus prints them --------------------------------------------------------


def _reference_to_json(v: Any) -> Any:
    """to_json as first written (one comprehension per container): the faster version must
    print every value the same way."""
    from socle.policy.regoc.runtime import RSet, ordered

    t = type(v)
    if t is str or t is int or t is bool or v is None:
        return v
    if t is dict:
        return {k: _reference_to_json(x) for k, x in v.items()}
    if t is list:
        return [_reference_to_json(x) for x in v]
    if t is float:
        return int(v) if v.is_integer() and abs(v) < 2**53 else v
    if t is RSet:
        return [_reference_to_json(x) for x in ordered(v)]
    raise TypeError(f"not a Rego value: {t.__name__}")


def _rset(items: list[Any]) -> Any:
    from socle.policy.regoc.runtime import mkset

    return mkset(items)


_REGO_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**60, 2**60)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1.0, -0.0, 2.0**53])
    | st.text(max_size=4),
    lambda inner: (st.lists(inner, max_size=4)
                   | st.lists(inner, max_size=4).map(_rset)
                   | st.dictionaries(st.text(max_size=3), inner, max_size=4)),
    max_leaves=25)


@given(_REGO_VALUES)
@settings(max_examples=300, deadline=None)
def test_to_json_prints_values_as_before(value: Any) -> None:
    from socle.policy.regoc.runtime import to_json

    got, want = to_json(value), _reference_to_json(value)
    assert json.dumps(got) == json.dumps(want)
    assert [type(x) for x in _leaves(got)] == [type(x) for x in _leaves(want)]


def _leaves(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return [x for k in v for x in (k, *_leaves(v[k]))]
    if isinstance(v, list):
        return [x for item in v for x in _leaves(item)]
    return [v]


def test_to_json_refuses_what_is_not_a_rego_value() -> None:
    from socle.policy.regoc.runtime import to_json

    with pytest.raises(TypeError):
        to_json({"a": [object()]})


def test_any_prefix_and_suffix_match_answer_and_fail_as_opa() -> None:
    from socle.policy.regoc.runtime import BUILTINS, BuiltinError, mkset

    suffix = BUILTINS["strings.any_suffix_match"][1]
    prefix = BUILTINS["strings.any_prefix_match"][1]
    assert suffix("app_file", ["_path", "_file"]) is True
    assert suffix(["a", "b_url"], mkset(["_url"])) is True
    assert suffix("secret", ["_file"]) is False and suffix("x", []) is False
    assert prefix("$(VAR)", ["{{", "$"]) is True and prefix(["a", "b"], "c") is False
    # a non-string anywhere is an error, even after a match (OPA checks every element first;
    # regorus only those it reaches)
    with pytest.raises(BuiltinError):
        suffix("abc", ["c", 5])
    with pytest.raises(BuiltinError):
        suffix("abc", [5, "c"])
    with pytest.raises(BuiltinError):
        prefix(["a", 1], ["z"])


# --- builtins written inline ------------------------------------------------------------------

INLINE = """package b
import rego.v1

x := input.x
y := input.y
has := contains(x, y)
starts := startswith(x, y)
ends := endswith(x, "b")
low := lower(x)
up := upper(x)
trimmed := trim_space(x)
parts := split(x, ",")
no_prefix := trim_prefix(x, "ab")
no_suffix := trim_suffix(x, "ab")
pre := strings.any_prefix_match(x, ["a", "$"])
suf := strings.any_suffix_match(x, {"b", ".c"})
rx := regex.match("^a+b?$", x)
rx_var := regex.match(y, x)
got := object.get(input.o, "a", "dflt")
got_var := object.get(input.o, y, "dflt")
got_path := object.get(input.o, ["a", "b"], "dflt")
got_var_path := object.get(input.o, ["a", y], null)
joined := array.concat(input.p, ["z"])
joined2 := array.concat(input.o, input.p)
# once is_string(x) holds, x is known to be a string
guarded := [lower(x), contains(x, "a"), startswith(x, "a")] if is_string(x)
# a function that iterates, memoised by its string argument
names := ["pass", "key", "tok"]
sensitive(k) if {
	some n in names
	contains(lower(k), n)
}
flags := [sensitive(k) | some k in input.keys]
per_key := {k: v | some k in input.keys; v := sensitive(k)}
"""

_INLINE_RULES = ["has", "starts", "ends", "low", "up", "trimmed", "parts", "no_prefix",
                 "no_suffix", "pre", "suf", "rx", "rx_var", "got", "got_var", "got_path",
                 "got_var_path", "joined", "joined2", "guarded", "flags", "per_key"]
_STRS = st.sampled_from(["", "ab", "a,b,", "aab", "AbC", " x\n", "ab.c", "$v", "é", "b\n",
                         "a+", "[", "pass", "KEY_FILE", "a"])
_ANY = st.one_of(_STRS, st.none(), st.booleans(), st.integers(-1, 2), st.just(1.5),
                 st.lists(_STRS, max_size=2), st.dictionaries(_STRS, _STRS, max_size=2),
                 st.just({"a": {"b": 1, "ab": [2]}}), st.just({"a": [1]}))


@pytest.fixture(scope="module")
def inline_pair() -> tuple[CompiledEngine, Engine]:
    return _pair({"b.rego": INLINE})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(_ANY, _ANY, _ANY, _ANY, st.lists(_ANY, max_size=3))
def test_inline_builtins_answer_and_fail_as_regorus(
        inline_pair: tuple[CompiledEngine, Engine], x: Any, y: Any, o: Any, p: Any,
        keys: list[Any]) -> None:
    # right operand types: the inline code answers; wrong ones: the builtin raises and
    # regorus answers (or reports the error) for the call, exactly as before
    compiled, regorus = inline_pair
    doc = {"x": x, "y": y, "o": o, "p": p, "keys": keys}
    for rule in _INLINE_RULES:
        assert _value_or_error(compiled, f"b.{rule}", doc) == _value_or_error(
            regorus, f"b.{rule}", doc), rule


def test_inline_builtins_take_the_fast_path_only_with_the_right_types() -> None:
    compiled, regorus = _pair({"b.rego": INLINE})
    source = compiled.generated_source()
    # both paths are there: the inline one, and the builtin when the types are not right
    assert "B_contains(" in source and ".startswith(" in source and ".split(','" in source
    doc = {"x": "aab", "y": "a", "o": {"a": {"b": 3}}, "p": [1], "keys": ["Password", "x"]}
    for rule in _INLINE_RULES:
        if rule != "joined2":
            assert compiled.eval_rule(f"b.{rule}", doc) == regorus.eval_rule(f"b.{rule}", doc)
    assert compiled.runtime_fallbacks == 0, compiled.last_fallback
    for rule, doc in [("has", {"x": 1, "y": "a"}), ("low", {"x": ["A"]}),
                      ("low", {"x": "É"}), ("rx", {"x": 5}), ("rx_var", {"x": "a", "y": 3}),
                      ("got", {"o": "not an object"}), ("joined", {"p": "s"}),
                      ("parts", {"x": 2}), ("flags", {"keys": [3]})]:
        before = compiled.runtime_fallbacks
        assert _value_or_error(compiled, f"b.{rule}", doc) == _value_or_error(
            regorus, f"b.{rule}", doc), rule
        # wrong types: errors of the builtin (strict here, so regorus reports them); a
        # non-ASCII case mapping: that one call is asked of regorus, not the whole rule
        assert compiled.runtime_fallbacks == before + (rule != "low" or doc["x"] != "É"), rule


def test_a_regex_ending_in_dollar_is_left_to_the_builtin_before_a_newline() -> None:
    src = 'package r\nimport rego.v1\nm := regex.match("b$", input.s)\n' \
          'v := regex.match(input.p, input.s)\n'
    compiled, regorus = _pair({"r.rego": src})
    for doc in ({"s": "ab", "p": "b$"}, {"s": "ab\n", "p": "b$"}, {"s": "b\nc", "p": "^c"},
                {"s": "x", "p": "(?i)X"}):
        for rule in ("r.m", "r.v"):
            assert _value_or_error(compiled, rule, doc) == _value_or_error(
                regorus, rule, doc), (rule, doc)


def test_functions_not_reading_the_input_are_memoised_until_data_changes() -> None:
    src = """package m
import rego.v1

words := [lower(w) | some g in data.lists; some w in g]
flagged(k) if {
	some w in words
	contains(lower(k), w)
}
# reads the input: memoised per evaluation only
mine(k) if {
	some w in input.words
	contains(k, w)
}
hits := [k | some k in input.keys; flagged(k)]
own := [k | some k in input.keys; mine(k)]
"""
    compiled, regorus = _pair({"m.rego": src}, {"lists": {"a": ["Pass"]}})
    assert "STATIC.get(mk" in compiled.generated_source()
    assert "C.memo.get(mk" in compiled.generated_source()
    docs = [{"keys": ["password", "user", "PASS_FILE"], "words": ["user"]},
            {"keys": ["password", "user"], "words": ["pass"]}]
    for doc in docs:
        for rule in ("m.hits", "m.own"):
            assert compiled.eval_rule(rule, doc) == regorus.eval_rule(rule, doc)
    assert compiled.eval_rule("m.own", docs[0]) == ["user"]
    assert compiled.eval_rule("m.own", docs[1]) == ["password"]
    assert compiled.eval_rule("m.hits", docs[1]) == ["password"]
    for engine in (compiled, regorus):
        engine.add_data({"lists": {"b": ["user"]}})
    assert compiled.eval_rule("m.hits", docs[1]) == regorus.eval_rule("m.hits", docs[1]) == [
        "password", "user"]
    for engine in (compiled, regorus):
        engine.add_policy("n.rego", 'package m\nimport rego.v1\nwords := ["x"] if false\n')
    assert _value_or_error(compiled, "m.hits", docs[0]) == _value_or_error(
        regorus, "m.hits", docs[0])
