"""socle gatekeeper and gator (Gatekeeper v3.23.1, built from the Go module proxy) agree on
the fixture library: the same suites pass and fail case by case (`verify`), and the same
constraints report the same messages on the same objects (`test`).

gator is found as the other Go peers are (bench/common.py ``find_tool``: $GATOR, PATH,
~/.cache/socle-ci/bin where .ci/run installs it, then Go's bin folders); without it the module
is skipped.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rego_random import Policy
from socle_testing import ROOT, load_module, run_socle

FIXTURES = ROOT / "tests" / "compat" / "gatekeeper"


GATOR = load_module("socle_bench_common", ROOT / "bench" / "common.py").find_tool(
    "gator", "GATOR")
if GATOR is None:
    pytest.skip("gator not built (go install github.com/open-policy-agent/gatekeeper/v3/cmd/"
                "gator@v3.23.1, or set $GATOR)", allow_module_level=True)

SUITES = sorted(p.parent.name for p in FIXTURES.glob("*/suite.yaml"))
SAMPLES = sorted((p.parent.name, s.name) for p in FIXTURES.glob("*/template.yaml")
                 for s in (p.parent / "samples").iterdir() if s.is_dir())
_RESULT = re.compile(r"^(\s*)--- (PASS|FAIL|SKIP): (.+?)\s+\(")


def _gator(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert GATOR is not None
    return subprocess.run([GATOR, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, check=False)


Tree = dict[str, tuple[str, dict[str, str]]]  # test -> (its result, {case: result})


def _tree(text: str, cases_first: bool) -> Tree:
    """The tests and cases of a verify run: gator prints go test's way, a test's cases and
    then the test's own result (``cases_first``); socle prints the test, then its cases."""
    tree: Tree = {}
    cases: dict[str, str] = {}
    for line in text.splitlines():
        m = _RESULT.match(line)
        if m is None:
            continue
        if m.group(1):
            cases[m.group(3)] = m.group(2)
            continue
        if not cases_first:
            cases = {}
        tree[m.group(3)] = (m.group(2), cases)
        if cases_first:
            cases = {}
    return tree


def test_every_fixture_is_compared() -> None:
    assert len(SUITES) >= 7 and "failing" in SUITES
    assert len(SAMPLES) >= 8


@pytest.mark.parametrize("suite", SUITES)
def test_verify_passes_and_fails_the_cases_gator_does(suite: str) -> None:
    theirs = _gator("verify", "-v", suite, cwd=FIXTURES)
    ours = run_socle("gatekeeper", "verify", "-v", suite, cwd=FIXTURES)
    expected = _tree(theirs.stdout + theirs.stderr, cases_first=True)
    assert expected, theirs.stdout + theirs.stderr  # (the comparison proves something)
    assert _tree(ours.out, cases_first=False) == expected, ours.out
    assert (ours.code == 0) == (theirs.returncode == 0), (ours.out, theirs.stdout)
    if suite == "failing":
        assert ours.code == 1


def _gator_violations(report: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    out: Counter[tuple[str, ...]] = Counter()
    for v in report:
        c, o = v["constraint"], v.get("violatingObject") or {}
        meta = o.get("metadata") or {}
        out[(f"{c['kind']}/{c['metadata']['name']}", o.get("kind", ""),
             meta.get("namespace", ""), meta.get("name", ""), v["msg"])] += 1
    return out


def _socle_violations(report: dict[str, Any]) -> Counter[tuple[str, ...]]:
    out: Counter[tuple[str, ...]] = Counter()
    for f in report["findings"]:
        r = f["resource"]
        out[(f["ruleId"], r["kind"], r["namespace"], r["name"], f["message"])] += 1
    return out


@pytest.mark.parametrize(("folder", "sample"), SAMPLES)
def test_test_reports_the_violations_gator_reports(folder: str, sample: str) -> None:
    # each object file on its own: gator tests only the first of several objects with the
    # same kind, namespace and name (two AdmissionReviews have none), socle tests them all
    base = FIXTURES / folder
    extra = ["-f", "sync.yaml"] if (base / "sync.yaml").is_file() else []
    objects = sorted(p.name for p in (base / "samples" / sample).glob("*.yaml")
                     if p.name != "constraint.yaml") or [None]
    for name in objects:
        files = ["-f", "template.yaml", "-f", f"samples/{sample}/constraint.yaml", *extra]
        if name is not None:
            files += ["-f", f"samples/{sample}/{name}"]
        theirs = _gator("test", *files, "-o", "json", cwd=base)
        ours = run_socle("gatekeeper", "test", *files, "-o", "json", cwd=base)
        if theirs.returncode not in (0, 1) or not theirs.stdout.strip().startswith(("[", "null")):
            # gator refused the input (a template or parameters it rejects): so must socle
            assert ours.code == 2, (name, theirs.stdout + theirs.stderr, ours.out, ours.err)
            continue
        expected = _gator_violations(json.loads(theirs.stdout) or [])  # (none: null)
        got = _socle_violations(json.loads(ours.out))
        # the two documented differences (docs/gatekeeper.md, "Migrating from gator"):
        missing = [k for k in expected if "missing Namespace" in k[4]]
        if missing:
            # a namespaceSelector without the Namespace: gator reports a violation saying
            # so (exit 1), socle an input error naming the Namespace (exit 2)
            errors = [k for k in got if k[0] == "gatekeeper/error"]
            assert len(errors) == len(missing) and "Namespace" in errors[0][4], got
            for k in missing:
                del expected[k]
            for k in errors:
                del got[k]
            assert got == expected, name
            assert (ours.code, theirs.returncode) == (2, 1)
            continue
        if name is not None and _is_review(base / "samples" / sample / name):
            # gator test reads an AdmissionReview as an object of that kind (nothing here
            # matches it); socle reviews its request, as gator verify does
            assert not expected
            assert all(k[1] == "Pod" for k in got), got
            continue
        assert got == expected, name
        assert ours.code == theirs.returncode, (name, ours.err, theirs.stderr)


def _is_review(path: Path) -> bool:
    return "\nkind: AdmissionReview" in "\n" + path.read_text(encoding="utf-8")


# --- random templates -------------------------------------------------------------------------

@pytest.mark.parametrize(("seed", "version"), [(s, "v1") for s in range(21, 25)]
                         + [(s, "v0") for s in range(51, 54)])
def test_random_templates_report_what_gator_reports(tmp_path: Path, seed: int,
                                                    version: str) -> None:
    # the conftest fuzzer's rules as a template's violations over ConfigMaps: Rego v1 source,
    # or Gatekeeper's default v0 (with future.keywords), whose `not` Gatekeeper still rewrites
    gen = Policy(seed)
    rules = []
    for i in range(60):
        head, body = gen.rule(i).replace("input.", "input.review.object.").split(" if {", 1)
        rules.append(f'violation contains {{"msg": {head[len("deny contains "):]}}} if {{{body}')
    rego = ("package k8sfuzz\n" + ("import future.keywords\n" if version == "v0" else "")
            + "\n" + "\n".join(rules) + "\n")
    code = ({"rego": rego} if version == "v0" else
            {"code": [{"engine": "Rego", "source": {"rego": rego, "version": "v1"}}]})
    template = {"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
                "metadata": {"name": "k8sfuzz"},
                "spec": {"crd": {"spec": {"names": {"kind": "K8sFuzz"}}},
                         "targets": [{"target": "admission.k8s.gatekeeper.sh", **code}]}}
    constraint = {"apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sFuzz",
                  "metadata": {"name": "c"},
                  "spec": {"match": {"kinds": [{"apiGroups": [""], "kinds": ["ConfigMap"]}]}}}
    files = ["template.yaml", "constraint.yaml"]
    (tmp_path / "template.yaml").write_text(json.dumps(template), encoding="utf-8")
    (tmp_path / "constraint.yaml").write_text(json.dumps(constraint), encoding="utf-8")
    for j in range(15):
        doc = {**gen.document(), "apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": f"cm{j:02d}", "namespace": "default"}}
        (tmp_path / f"cm{j:02d}.yaml").write_text(json.dumps(doc), encoding="utf-8")
        files.append(f"cm{j:02d}.yaml")
    args = [x for f in files for x in ("-f", f)]
    theirs = _gator("test", *args, "-o", "json", cwd=tmp_path)
    ours = run_socle("gatekeeper", "test", *args, "-o", "json", cwd=tmp_path)
    expected = _gator_violations(json.loads(theirs.stdout) or [])
    # gator's OPA hands integers to Go's fmt as int, conftest's (which socle follows) as
    # int64: sprintf("%s", [1]) is %!s(int=1) in gator, %!s(int64=1) in conftest and socle
    got = Counter({(*k[:4], k[4].replace("(int64=", "(int=")): n
                   for k, n in _socle_violations(json.loads(ours.out)).items()})
    assert sum(expected.values()) > 30  # (the comparison proves something)
    assert {"missing": sorted(expected - got)[:10], "extra": sorted(got - expected)[:10]} == {
        "missing": [], "extra": []}
    assert ours.code == theirs.returncode


# --- random match blocks --------------------------------------------------------------------

_MATCH_NAMESPACES = ["default", "prod", "prod-a", "dev", "kube-system", "team-x"]
_MATCH_LABELS = [{"app": "web"}, {"app": "db", "tier": "back"}, {"tier": "front"}, {},
                 {"env": "prod"}, {"app": "web", "env": "dev"}]
_MATCH_KINDS = [("v1", "ConfigMap"), ("v1", "Pod"), ("apps/v1", "Deployment"),
                ("v1", "Namespace"), ("networking.k8s.io/v1", "Ingress")]


def _random_selector(r: Any) -> dict[str, Any]:
    s: dict[str, Any] = {}
    if r.random() < 0.6:
        pairs = sorted({("app", "web"), ("tier", "back"), ("env", "prod"), ("app", "db")})
        s["matchLabels"] = dict(r.sample(pairs, r.randint(1, 2)))
    if r.random() < 0.5:
        exprs = []
        for _ in range(r.randint(1, 2)):
            op = r.choice(["In", "NotIn", "Exists", "DoesNotExist"])
            e: dict[str, Any] = {"key": r.choice(["app", "tier", "env", "team"]), "operator": op}
            if op in ("In", "NotIn"):
                e["values"] = r.sample(["web", "db", "back", "front", "prod", "dev"],
                                       r.randint(1, 3))
            exprs.append(e)
        s["matchExpressions"] = exprs
    return s


def _random_match(r: Any) -> dict[str, Any]:
    m: dict[str, Any] = {}
    if r.random() < 0.7:
        m["kinds"] = [{"apiGroups": r.choice([[""], ["apps"], ["*"], ["", "apps"]]),
                       "kinds": r.choice([["ConfigMap"], ["Pod", "Deployment"], ["*"],
                                          ["Namespace"], ["Ingress"]])}
                      for _ in range(r.randint(1, 2))]
    if r.random() < 0.3:
        m["namespaces"] = r.sample(["default", "prod", "prod-*", "*-a", "dev", "kube-*"],
                                   r.randint(1, 2))
    if r.random() < 0.3:
        m["excludedNamespaces"] = r.sample(["default", "prod*", "kube-system", "*-x"],
                                           r.randint(1, 2))
    if r.random() < 0.3:
        m["labelSelector"] = _random_selector(r)
    if r.random() < 0.3:
        m["namespaceSelector"] = _random_selector(r)
    if r.random() < 0.25:
        m["scope"] = r.choice(["*", "Namespaced", "Cluster"])
    if r.random() < 0.2:
        m["name"] = r.choice(["obj-1", "obj-*", "*-2", "ns-prod*"])
    return m


@pytest.mark.parametrize("seed", range(12))
def test_random_matches_select_what_gator_selects(tmp_path: Path, seed: int) -> None:
    # constraints with random `match` blocks (kinds, namespaces and excludedNamespaces with
    # globs, label and namespace selectors, scope, name) over namespaced objects and
    # Namespaces, some Namespaces missing: the same (constraint, object) pairs match, and a
    # namespaceSelector that needs a missing Namespace is an error for that constraint alone
    # (socle made it an error for the whole object, dropping its other violations). gator
    # knows an unlabelled Namespace "default" it was not given.
    import random

    r = random.Random(seed)
    rego = 'package k8shit\n\nviolation contains {"msg": "hit"} if { true }\n'
    files = {"template.json": {
        "apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
        "metadata": {"name": "k8shit"},
        "spec": {"crd": {"spec": {"names": {"kind": "K8sHit"}}},
                 "targets": [{"target": "admission.k8s.gatekeeper.sh", "code": [
                     {"engine": "Rego", "source": {"version": "v1", "rego": rego}}]}]}}}
    for c in range(8):
        files[f"c{c}.json"] = {"apiVersion": "constraints.gatekeeper.sh/v1beta1",
                               "kind": "K8sHit", "metadata": {"name": f"c{c}"},
                               "spec": {"match": _random_match(r)}}
    for ns in _MATCH_NAMESPACES:
        if r.random() < 0.8:
            files[f"ns-{ns}.json"] = {"apiVersion": "v1", "kind": "Namespace", "metadata": {
                "name": ns, "labels": r.choice(_MATCH_LABELS)}}
    for i in range(20):
        api_version, kind = r.choice(_MATCH_KINDS)
        meta = {"name": f"obj-{i}", "labels": r.choice(_MATCH_LABELS)}
        if kind == "Namespace":
            meta["name"] = f"ns-{r.choice(['prod', 'x', 'dev'])}{i}"
        else:
            meta["namespace"] = r.choice(_MATCH_NAMESPACES)
        files[f"o{i:02d}.json"] = {"apiVersion": api_version, "kind": kind, "metadata": meta}
    for name, obj in files.items():
        (tmp_path / name).write_text(json.dumps(obj), encoding="utf-8")
    args = [x for f in files for x in ("-f", f)]
    theirs = json.loads(_gator("test", *args, "-o", "json", cwd=tmp_path).stdout) or []
    ours = json.loads(run_socle("gatekeeper", "test", *args, "-o", "json", cwd=tmp_path).out)
    skip = ("ConstraintTemplate", "K8sHit")  # (cluster-scoped: see docs/gatekeeper.md)
    expected = Counter(
        (v["constraint"]["metadata"]["name"], v["violatingObject"]["kind"],
         v["violatingObject"]["metadata"]["name"],
         "error" if v["msg"].startswith("unable to match constraints") else v["msg"])
        for v in theirs if v["violatingObject"]["kind"] not in skip)
    got = Counter(
        (f["message"].split(":")[0].rpartition("/")[2] if f["ruleId"] == "gatekeeper/error"
         else f["ruleId"].rpartition("/")[2], f["resource"]["kind"], f["resource"]["name"],
         "error" if f["ruleId"] == "gatekeeper/error" else f["message"])
        for f in ours["findings"] if f["resource"]["kind"] not in skip)
    assert sum(expected.values()) > 10
    assert {"missing": sorted(expected - got)[:10], "extra": sorted(got - expected)[:10]} == {
        "missing": [], "extra": []}


# --- constraint parameters ------------------------------------------------------------------

_PARAMETER_SCHEMA = {
    "dt": {"type": "string", "format": "date-time"}, "uri": {"type": "string", "format": "uri"},
    "email": {"type": "string", "format": "email"}, "uuid": {"type": "string", "format": "uuid"},
    "dur": {"type": "string", "format": "duration"}, "ipv4": {"type": "string", "format": "ipv4"},
    "blank": {"type": "string", "pattern": "^\\s*$"},
    "letters": {"type": "string", "pattern": "^[[:alpha:]]+$"},
    "port": {"x-kubernetes-int-or-string": True}, "opt": {"type": "string", "nullable": True},
    "mode": {"type": "string", "enum": ["a", "b"]}, "count": {"type": "integer"},
    "ratio": {"type": "number"}, "obj": {"type": "object", "properties": {"x": {"type": "string"}}},
    "list": {"type": "array", "items": {"type": "string"}},
    "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True,
             "properties": {"x": {"type": "string"}}},
}
_PARAMETERS = [
    {"dt": "yesterday"}, {"dt": "2024-01-02T03:04:05Z"}, {"uri": "relative/path"},
    {"uri": "https://x.test"}, {"email": "nope"}, {"uuid": "nope"}, {"dur": "5s"},
    {"dur": "P1D"}, {"dur": "nope"}, {"ipv4": "1.2.3"}, {"blank": "\u00a0"}, {"blank": " "},
    {"letters": "abc"}, {"letters": "ab1"}, {"port": 5}, {"port": "http"}, {"port": True},
    {"opt": None}, {"mode": "c"}, {"count": 1.5}, {"count": 2.0}, {"ratio": "1"},
    {"obj": {"x": "a", "y": 1}}, {"list": [1]}, {"unknown": 1}, {"count": "3"},
    {"free": {"x": "a", "y": 1}},
]


def test_constraint_parameters_are_checked_as_gator_checks_them(tmp_path: Path) -> None:
    # formats and patterns as Go reads them, unknown fields refused (socle had dropped the
    # formats, let unknown fields through and refused the whole template for a POSIX class)
    template = {"apiVersion": "templates.gatekeeper.sh/v1", "kind": "ConstraintTemplate",
                "metadata": {"name": "k8sparams"},
                "spec": {"crd": {"spec": {"names": {"kind": "K8sParams"}, "validation": {
                    "openAPIV3Schema": {"type": "object", "properties": _PARAMETER_SCHEMA}}}},
                    "targets": [{"target": "admission.k8s.gatekeeper.sh", "rego":
                                 'package k8sparams\nviolation[{"msg": "x"}] { false }\n'}]}}
    (tmp_path / "template.json").write_text(json.dumps(template), encoding="utf-8")
    differ = {}
    for i, params in enumerate(_PARAMETERS):
        name = f"c{i:02d}.json"
        (tmp_path / name).write_text(json.dumps({
            "apiVersion": "constraints.gatekeeper.sh/v1beta1", "kind": "K8sParams",
            "metadata": {"name": f"c{i:02d}"}, "spec": {"parameters": params}}),
            encoding="utf-8")
        theirs = _gator("test", "-f", "template.json", "-f", name, cwd=tmp_path).returncode == 0
        ours = run_socle("gatekeeper", "test", "-f", "template.json", "-f", name,
                         cwd=tmp_path).code == 0
        if theirs != ours:
            differ[json.dumps(params)] = {"gator": theirs, "socle": ours}
    assert differ == {}


@pytest.mark.parametrize(("files", "stdin"), [
    (["-f", "empty.yaml"], None), (["-f", "comments.yaml"], None), (["-f", "none"], None),
    (["-f", "empty.yaml", "-f", "comments.yaml"], None), ([], ""), ([], "# only\n---\n")])
def test_no_input_is_an_error_as_in_gator(tmp_path: Path, files: list[str],
                                          stdin: str | None) -> None:
    # `helm template ... | gator test -f policies/` after a render that printed nothing:
    # gator says "no input data identified" (exit 1); a gate must not pass on nothing
    (tmp_path / "empty.yaml").write_text("")
    (tmp_path / "comments.yaml").write_text("# nothing here\n---\n")
    (tmp_path / "none").mkdir()
    assert GATOR is not None
    theirs = subprocess.run([GATOR, "test", *files], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, check=False, input=stdin,
                            stdin=None if stdin is not None else subprocess.DEVNULL)
    ours = run_socle("gatekeeper", "test", *files, cwd=tmp_path, stdin=stdin)
    assert theirs.returncode == 1 and "no input data identified" in theirs.stderr
    assert ours.code == 2 and ours.out == ""
    assert ours.err.startswith("socle gatekeeper: no input data identified: ")


_CEL_HEAD = """apiVersion: templates.gatekeeper.sh/v1
kind: ConstraintTemplate
metadata:
  name: {lower}
spec:
  crd:
    spec:
      names:
        kind: {kind}
  targets:
  - target: admission.k8s.gatekeeper.sh
    code:
    - engine: K8sNativeValidation
      source:
"""
_CONSTRAINT = ("---\napiVersion: constraints.gatekeeper.sh/v1beta1\nkind: {kind}\n"
               "metadata: {{name: c-{lower}}}\n")
_CEL_OBJECTS = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n"
                "spec: {replicas: 1}\n")


def _cel_differential(tmp_path: Path, sources: dict[str, str], policy: str | None
                      ) -> Counter[tuple[str, ...]]:
    """Each kind's CEL source as a template and a constraint, over a ConfigMap (no spec) and
    a Deployment, in gator and socle (with --default-k8s-native-validation-failure-policy
    when ``policy``): the same violations and exit code; gator's violations."""
    for kind, source in sources.items():
        names = {"lower": kind.lower(), "kind": kind}
        (tmp_path / f"{kind}.yaml").write_text(
            _CEL_HEAD.format(**names) + source + _CONSTRAINT.format(**names))
    (tmp_path / "objects.yaml").write_text(_CEL_OBJECTS)
    files = [x for f in sorted(p.name for p in tmp_path.glob("*.yaml")) for x in ("-f", f)]
    extra = [] if policy is None else [f"--default-k8s-native-validation-failure-policy={policy}"]
    theirs = _gator("test", *files, *extra, "-o", "json", cwd=tmp_path)
    ours = run_socle("gatekeeper", "test", *files, *extra, "-o", "json", cwd=tmp_path)
    expected = _gator_violations(json.loads(theirs.stdout) or [])
    assert _socle_violations(json.loads(ours.out)) == expected
    assert ours.code == theirs.returncode == 1
    return expected


_FAILING = """        validations:
        - expression: "object.spec.replicas > 1"
          message: "one replica"
"""


@pytest.mark.parametrize("flag", [None, "Fail", "Ignore"])
def test_cel_failure_policy_as_in_gator(tmp_path: Path, flag: str | None) -> None:
    # an expression that fails to evaluate (a ConfigMap has no spec): a violation under
    # failurePolicy Fail, nothing under Ignore; a source without one takes the flag's default
    expected = _cel_differential(tmp_path, {
        "K8sNoPolicy": _FAILING, "K8sFail": "        failurePolicy: Fail\n" + _FAILING,
        "K8sIgnore": "        failurePolicy: Ignore\n" + _FAILING}, flag)
    errors = {k[0] for k in expected if "resulted in error" in k[4]}
    assert errors == ({"K8sFail/c-k8sfail"} | ({"K8sNoPolicy/c-k8snopolicy"}
                                              if flag != "Ignore" else set()))


_MATCHING = """        matchConditions:
        - name: has-spec
          expression: "object.spec.replicas > 0"
        variables:
        - name: reps
          expression: "object.spec.replicas"
        validations:
        - expression: {expression}
          messageExpression: "'replicas: ' + string(variables.reps)"
          message: "named x"
"""


@pytest.mark.parametrize("policy", [None, "Ignore"])
def test_cel_match_conditions_and_variables_as_in_gator(tmp_path: Path,
                                                        policy: str | None) -> None:
    # a matchCondition that fails to evaluate does not skip the object (gator goes on to the
    # validations); a variable that fails fails what uses it, in gator's words
    expected = _cel_differential(tmp_path, {
        "K8sUsesVar": _MATCHING.format(expression='"variables.reps > 1"'),
        "K8sIgnoresVar": _MATCHING.format(expression="\"object.metadata.name != 'x'\"")},
        policy)
    assert any('composited variable "reps" fails to evaluate' in k[4] for k in expected) == \
        (policy is None)
