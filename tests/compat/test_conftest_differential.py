"""socle test / parse / verify against a real conftest binary (v0.71.1), same inputs.

* ``test``: every fixture policy folder under tests/compat/conftest/ and the benchmark's policy
  set (bench/policy/policy, over a small generated corpus) are run by both tools with ``-o
  json``; the failures, warnings and exceptions of every file (namespace, message, count) must
  be the same. Exceptions are compared by the rule name they excuse: conftest's message is its
  query (``data.main.exception[_][_] == "name"``), socle's names the rule.
* ``parse``: ``conftest parse`` and ``socle parse`` print the same text for a fixture of every
  format socle reads.
* ``verify``: both tools run the ``*_test.rego`` files (plus a failing, an erroring and a
  ``todo_`` test) and agree on each test's outcome.

Where the tools differ on purpose, the test asserts the difference. Where socle still differs
from conftest by mistake, the test is a strict ``xfail`` naming the difference, so fixing it
turns the test red until the mark is removed.

conftest is found in $CONFTEST, then PATH, then $(go env GOPATH)/bin; without it the module
is skipped (CI: ``go install github.com/open-policy-agent/conftest@v0.71.1``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from socle_testing import conftest_peer

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "compat" / "conftest"
FORMATS = ROOT / "tests" / "compat" / "fixtures" / "formats"
BENCH_POLICY = ROOT / "bench" / "policy" / "policy"



pytestmark = pytest.mark.conftest

bench, CONFTEST, SOCLE = conftest_peer()


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=300, env=env)


def _findings(args: list[str], cwd: Path) -> tuple[Counter[Any], int, Counter[Any], int]:
    """(socle's findings, socle's exit code, conftest's findings, conftest's exit code)."""
    s = _run([*SOCLE, "test", *args, "-o", "json"], cwd)
    c = _run([str(CONFTEST), "test", *args, "-o", "json"], cwd)
    assert s.returncode in (0, 1), s.stderr
    assert c.returncode in (0, 1), c.stderr
    return (bench.socle_results(json.loads(s.stdout)), s.returncode,
            bench.conftest_results(json.loads(c.stdout)), c.returncode)


def _assert_same(args: list[str], cwd: Path) -> Counter[Any]:
    socle, s_code, conftest, c_code = _findings(args, cwd)
    assert bench.compare(socle, conftest) == []
    assert s_code == c_code
    return conftest


# --- socle test -------------------------------------------------------------------------------

# fixture folder -> arguments (run from inside the folder: file names as given)
CASES: dict[str, list[list[str]]] = {
    "builtins": [["-p", "policy", "configmap.yaml"]],
    "combine": [["--combine", "-p", "policy", "deployment.yaml", "service.yaml"]],
    "data": [["-p", "policy", "-d", "data", "pod.yaml"]],
    # conftest tests null for an empty file, a trailing ---, a part with only comments, a ~
    "empty-documents": [["-p", "policy", "array.yaml", "comments.yaml", "crlf.yaml",
                         "directive.yaml", "empty.yaml", "markers.yaml", "mixed.yaml",
                         "trailing.yaml"], ["-p", "policy", "."]],
    "kubernetes": [["-p", "policy", "deployment.yaml", "service.yaml", "good.json"],
                   ["-p", "policy", "."]],
    "namespaces": [["--all-namespaces", "-p", "policy", "configmap.yaml", "nokind.yaml"],
                   ["-n", "team.labels", "-p", "policy", "configmap.yaml", "nokind.yaml"]],
    "v0": [["--rego-version", "v0", "-p", "policy", "deployment.yaml", "legacy.yaml",
            "service.yaml"]],
    # failing builtins (undefined), values missing under `not` (the query fails), sprintf's
    # verbs on every type and arithmetic on floats, as OPA
    "semantics": [["-p", "policy", "deployment.yaml", "configmap.yaml", "bare.json",
                   "service.yaml", "values.json", "containers.json", "words.json"]],
}


def test_every_fixture_folder_is_compared() -> None:
    folders = {p.parent.name for p in FIXTURES.glob("*/policy")}
    assert folders == set(CASES)


@pytest.mark.parametrize(("folder", "args"), [(f, a) for f, cases in CASES.items()
                                              for a in cases],
                         ids=lambda v: v if isinstance(v, str) else " ".join(v))
def test_fixture_findings_match(folder: str, args: list[str]) -> None:
    found = _assert_same(args, FIXTURES / folder)
    assert found  # every fixture reports something: an empty comparison proves nothing


@pytest.fixture(scope="module")
def small_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The policy benchmark's small corpus (300 documents in 30 files), planted problems."""
    out = tmp_path_factory.mktemp("policy-bench") / "corpus"
    bench.generate.generate(str(out), 300, 30)
    return out


ENGINES = ["regorus"] + (["opa"] if bench.opa_available() else [])


@pytest.mark.parametrize("engine", ENGINES)
def test_bench_policy_findings_match(small_corpus: Path, engine: str) -> None:
    corpus = small_corpus.name
    s = _run([*SOCLE, "test", "--engine", engine, "-p", str(BENCH_POLICY), corpus, "-o", "json"],
             small_corpus.parent)
    c = _run([str(CONFTEST), "test", "-p", str(BENCH_POLICY), corpus, "-o", "json"],
             small_corpus.parent)
    assert (s.returncode, c.returncode) == (1, 1), s.stderr + c.stderr
    socle = bench.socle_results(json.loads(s.stdout))
    conftest = bench.conftest_results(json.loads(c.stdout))
    assert bench.compare(socle, conftest) == []
    kinds = bench.kinds(conftest)
    # every rule of the set fires somewhere, and the exception rule excuses something
    assert kinds["fail"] > 50 and kinds["warn"] > 20 and kinds["exception"] > 0
    fired = {m.split(":")[0] for (_f, _ns, k, m) in conftest if k == "exception"}
    assert fired == {"main.exception"}


def _write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


EXCEPTIONS = {
    "policy/p.rego": """package main

deny_a contains "a fired" if input.a

warn_b contains "b fired" if input.b

deny_c contains "c never fires" if false

warn contains "plain warning" if input.b

violation_d contains {"msg": "d fired", "why": "metadata"} if input.d

exception contains ["a", "b", "c"] if input.exempt

exception contains ["a"] if input.exempt

exception contains rules if {
	input.exempt
	rules := ["", "d"]
}
""",
    "exempt.json": '{"a": true, "b": true, "d": true, "exempt": true}\n',
    "plain.json": '{"a": true, "b": true, "d": true}\n',
    "list.json": '[{"a": true, "exempt": true}, {"b": true}]\n',
    "docs.yaml": "a: true\nexempt: true\n---\nb: true\nd: true\n",
}


def test_exceptions_as_conftest_counts_them(tmp_path: Path) -> None:
    """An exception excuses warn_ rules too, the bare rule names through "", and is reported
    once per group naming the rule, whether or not the rule had results."""
    _write(tmp_path, EXCEPTIONS)
    found = _assert_same(["-p", "policy", "exempt.json", "plain.json", "list.json",
                          "docs.yaml"], tmp_path)
    assert found[("exempt.json", "main", "exception", "main.exception: a")] == 2
    assert found[("exempt.json", "main", "exception", "main.exception: c")] == 1
    assert found[("plain.json", "main", "fail", "d fired")] == 1


def test_combine_gives_one_entry_per_document(tmp_path: Path) -> None:
    _write(tmp_path, {
        "policy/p.rego": """package main

deny contains msg if {
	some entry in input
	not is_object(entry.contents)
	msg := sprintf("%s: contents is not one document", [entry.path])
}

deny contains msg if {
	n := count([e | some e in input; e.path == "docs.yaml"])
	msg := sprintf("docs.yaml gives %d entries", [n])
}
""",
        "docs.yaml": "kind: A\n---\nkind: B\n",
        "list.json": '[{"kind": "C"}, {"kind": "D"}]\n',
        "one.yaml": "kind: E\n",
    })
    found = _assert_same(["--combine", "-p", "policy", "docs.yaml", "list.json", "one.yaml"],
                         tmp_path)
    assert found == Counter({("Combined", "main", "fail", "docs.yaml gives 2 entries"): 1})


def test_boolean_rule_is_a_pass_in_both(tmp_path: Path) -> None:
    """A boolean ``deny if ...`` that is true is no failure for conftest (v0.71.1): nor for
    socle (docs/test.md)."""
    _write(tmp_path, {"policy/p.rego": "package main\n\ndeny_bool if input.a\n",
                      "in.json": '{"a": true}\n'})
    socle, s_code, conftest, c_code = _findings(["-p", "policy", "in.json"], tmp_path)
    assert conftest == Counter() and c_code == 0
    assert socle == Counter() and s_code == 0


# --- socle parse ------------------------------------------------------------------------------

PARSE: list[Any] = [
    pytest.param(FIXTURES / "kubernetes", ["deployment.yaml"], id="yaml-multi-document"),
    pytest.param(FIXTURES / "kubernetes", ["service.yaml"], id="yaml"),
    pytest.param(FIXTURES / "kubernetes", ["good.json"], id="json"),
    pytest.param(FORMATS, ["config.toml"], id="toml"),
    pytest.param(FORMATS, ["grafana.ini"], id="ini"),
    pytest.param(FORMATS, ["main.tf"], id="hcl2"),
    pytest.param(FORMATS, ["prod.tfvars"], id="hcl2-tfvars"),
    pytest.param(FORMATS, ["app.env"], id="dotenv"),
    pytest.param(FORMATS, ["application.properties"], id="properties"),
    pytest.param(FIXTURES / "kubernetes", ["deployment.yaml", "service.yaml", "good.json"],
                 id="several-files"),
    pytest.param(FORMATS, ["Dockerfile"], id="dockerfile"),
    *(pytest.param(FIXTURES / "empty-documents", [name], id=f"yaml-{name}")
      for name in ("array.yaml", "comments.yaml", "crlf.yaml", "directive.yaml", "empty.yaml",
                   "markers.yaml", "mixed.yaml", "trailing.yaml")),
    pytest.param(FORMATS, ["pom.xml"], id="xml"),
    pytest.param(FIXTURES / "kubernetes", ["--combine", "deployment.yaml", "service.yaml"],
                 id="combine"),
]


@pytest.mark.parametrize(("cwd", "args"), PARSE)
def test_parse_prints_what_conftest_prints(cwd: Path, args: list[str]) -> None:
    s = _run([*SOCLE, "parse", *args], cwd)
    c = _run([str(CONFTEST), "parse", *args], cwd)
    assert c.returncode == 0, c.stderr
    assert s.returncode == 0, s.stderr
    assert json.loads(s.stdout) == json.loads(c.stdout)
    assert s.stdout == c.stdout


def test_parse_jsonc(tmp_path: Path) -> None:
    """Comments: the same value. Trailing commas: socle drops them (docs/formats.md),
    conftest v0.71.1 refuses the file."""
    original = (FORMATS / "devcontainer.jsonc").read_text(encoding="utf-8")
    strict = re.sub(r",(\s*[\]}])", r"\1", original)
    assert strict != original
    (tmp_path / "strict.jsonc").write_text(strict, encoding="utf-8")
    s = _run([*SOCLE, "parse", "strict.jsonc"], tmp_path)
    c = _run([str(CONFTEST), "parse", "strict.jsonc"], tmp_path)
    assert (s.returncode, c.returncode) == (0, 0), s.stderr + c.stderr
    assert s.stdout == c.stdout and json.loads(s.stdout)["remoteUser"] == "root"
    without_commas = c.stdout

    s = _run([*SOCLE, "parse", str(FORMATS / "devcontainer.jsonc")], tmp_path)
    c = _run([str(CONFTEST), "parse", str(FORMATS / "devcontainer.jsonc")], tmp_path)
    assert c.returncode != 0 and "jsonc" in c.stderr + c.stdout
    assert s.returncode == 0 and json.loads(s.stdout) == json.loads(without_commas)


# --- socle verify -----------------------------------------------------------------------------

EXTRA_V1 = """package main

test_fails if {
	x := count(input)
	x == 99
}

test_errors if {
	x := 1 / 0
	x == 1
}

todo_test_later if {
	false
}
"""

EXTRA_V0 = """package main

test_fails {
	x := count(input)
	x == 99
}

todo_test_later {
	false
}
"""

VERIFY = {"kubernetes": ([], EXTRA_V1), "v0": (["--rego-version", "v0"], EXTRA_V0),
          "bench": ([], EXTRA_V1), "semantics": ([], EXTRA_V1)}


def _conftest_verdicts(out: str) -> dict[str, str] | Counter[str]:
    """conftest verify -o json names failed and skipped tests only: {name: FAIL|SKIP} plus a
    count of passes under "PASS"."""
    verdicts: Counter[str] = Counter()
    named: dict[str, str] = {}
    for r in json.loads(out) or ():  # (null when no test ran)
        verdicts["PASS"] += r.get("successes", 0)
        for f in r.get("failures") or []:
            named[f["msg"]] = "FAIL"
        for f in r.get("skipped") or []:
            named[f["msg"]] = "SKIP"
    return {**named, "PASS": str(verdicts["PASS"])}


def _socle_verdicts(out: str) -> dict[str, str]:
    named: dict[str, str] = {}
    passes = 0
    for line in out.splitlines():
        m = re.match(r"^(data\.\S+): (PASS|FAIL|SKIP) \(", line)
        if m and m.group(2) == "PASS":
            passes += 1
        elif m:
            named[m.group(1)] = m.group(2)
    return {**named, "PASS": str(passes)}


@pytest.mark.parametrize("folder", sorted(VERIFY))
def test_verify_outcomes_match(tmp_path: Path, folder: str) -> None:
    source = BENCH_POLICY if folder == "bench" else FIXTURES / folder / "policy"
    assert list(source.glob("*_test.rego"))
    shutil.copytree(source, tmp_path / "policy")
    flags, extra = VERIFY[folder]
    (tmp_path / "policy" / "extra_test.rego").write_text(extra, encoding="utf-8")
    s = _run([*SOCLE, "verify", *flags, "-p", "policy", "-v"], tmp_path)
    c = _run([str(CONFTEST), "verify", *flags, "-p", "policy", "-o", "json"], tmp_path)
    assert s.returncode == c.returncode == 1, s.stderr + c.stderr
    socle, conftest = _socle_verdicts(s.stdout), _conftest_verdicts(c.stdout)
    assert socle == conftest
    assert socle["data.main.test_fails"] == "FAIL"
    assert socle["data.main.todo_test_later"] == "SKIP"
    assert int(socle["PASS"]) >= 3


@pytest.mark.parametrize("args", [["."], ["./apps"], ["./apps//web/", "./apps/db.yaml"]])
@pytest.mark.parametrize("ignore", [[], ["--ignore", r"^\..+"], ["--ignore", "^apps/web/"],
                                    ["--ignore", "yaml|yml"]])
def test_files_are_found_named_and_ignored_as_conftest_does(
        tmp_path: Path, args: list[str], ignore: list[str]) -> None:
    # --ignore is written against the paths conftest walks: in a folder, joined and cleaned
    # ("./apps" and "db.yaml" make "apps/db.yaml"); named on the command line, as given
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "all.rego").write_text(
        'package main\n\nimport rego.v1\n\ndeny contains "seen" if input.kind\n')
    for rel in ("apps/db.yaml", "apps/web/web.yaml", "apps/web/deep/x.yml", "top.yaml"):
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {target.stem}\n")
    s = _run([*SOCLE, "test", "-p", "policy", *ignore, *args, "-o", "json"], tmp_path)
    c = _run([str(CONFTEST), "test", "-p", "policy", *ignore, *args, "-o", "json"], tmp_path)
    theirs = sorted(r["filename"] for r in json.loads(c.stdout or "[]") if r.get("failures"))
    if not theirs:  # (conftest: nothing left to test is an error; socle says so too)
        assert c.returncode != 0 and s.returncode == 2, (c.stdout, s.stdout, s.stderr)
        return
    assert c.returncode == 1 and s.returncode == 1, (c.stderr, s.stderr)
    ours = sorted({f["file"] for f in json.loads(s.stdout)["findings"]})
    assert ours == theirs


# --- dotenv, mistyped ---------------------------------------------------------------------------

_DOTENV = """\
# comment
export DB_HOST=localhost
DB_PORT=5432
QUOTED="hello world"
SINGLE='raw $VAR'
EMPTY=
EXPANDED="${DB_HOST}:${DB_PORT}"
ESCAPED="line1\\nline2"
MULTI="first
  second \\" still
third"
SPACES = around
"""
_DOTENV_SLIPS = [" ", "=", ":", "#", '"', "'", "\\", "\n", "\r", "\t", "x", "$", "{x}", "export "]


def test_mistyped_dotenv_files_read_as_conftest_reads_them(tmp_path: Path) -> None:
    """gotenv v1.6 (conftest v0.71.1): quoted values over several lines, CR line ends, what is
    refused. 150 slips of a file, each read by both (socle in this process)."""
    import random

    from socle.core.errors import InputError
    from socle.formats import dotenv

    rng = random.Random(20261127)
    wrong = []
    for case in range(150):
        text = _DOTENV
        for _ in range(rng.randint(1, 2)):
            at = rng.randrange(len(text))
            if rng.random() < 0.7:
                text = text[:at] + rng.choice(_DOTENV_SLIPS) + text[at:]
            else:
                text = text[:at] + text[at + 1:]
        folder = tmp_path / str(case)
        folder.mkdir()
        (folder / "app.env").write_bytes(text.encode())
        c = _run([str(CONFTEST), "parse", "app.env"], folder)
        theirs = json.loads(c.stdout) if c.returncode == 0 else "refused"
        try:
            docs = dotenv.parse(text.encode(), "app.env")
            mine: Any = docs[0].obj if docs else None
        except InputError:
            mine = "refused"
        if mine != theirs:
            wrong.append((text, mine, theirs))
    assert not wrong, wrong[:2]


_DOCKERFILE_LINES = [
    "HEALTHCHECK --interval=30 CMD true", "HEALTHCHECK --interval=30s: CMD true",
    "HEALTHCHECK --interval=999us CMD true", "HEALTHCHECK --timeout=-1s CMD true",
    "HEALTHCHECK --retries=x CMD true", "HEALTHCHECK --retries=-1 CMD true",
    "HEALTHCHECK --interval=1s --interval=2s CMD true",
    "HEALTHCHECK --interval=1m30s --timeout=.5s --start-period=0 --retries=+3 CMD true",
    'CMD   ["a"]  b  ', 'RUN --network=none ["x", "y"] z', 'ONBUILD CMD ["c"] d',
    'SHELL ["/bin/sh", "-c"] x', 'ENTRYPOINT ["a"]\t',
]


def _parse_both(folder: Path, name: str, text: str) -> tuple[str, str] | None:
    """``parse`` by both of a file holding ``text``: None when both read it alike, else
    (conftest's error, socle's) when both refuse it (anything else fails the test)."""
    (folder / name).write_bytes(text.encode())
    c = _run([str(CONFTEST), "parse", name], folder)
    s = _run([*SOCLE, "parse", name], folder)
    if c.returncode == 0:
        assert s.returncode == 0, s.stderr
        assert json.loads(s.stdout) == json.loads(c.stdout)
        return None
    assert s.returncode == 2, s.stdout
    return c.stderr, s.stderr


@pytest.mark.parametrize("line", _DOCKERFILE_LINES)
def test_dockerfile_instructions_read_or_refused_as_conftest_does(tmp_path: Path,
                                                                  line: str) -> None:
    refused = _parse_both(tmp_path, "Dockerfile", f"FROM alpine:3.20\n{line}\n")
    if refused is not None:
        theirs, mine = refused
        theirs = theirs.split("process dockerfile instructions: ", 1)[1].rsplit(", path:")[0]
        assert mine == f"socle parse: Dockerfile:2: {theirs}\n"


_HCL = [
    'a = "x\\qy"', 'a = "x\\u00ry"', 'a = "two\nlines"', "a = 1 b = 2", "a = 1 /* c */ b = 2",
    "b { c = 1 } d = 2", "b {\n  c = 1}", 'provider "aws"\n{\n  a = 1\n}',
    "a = {\n  x = 1   y = 2\n}", "a = 1\nb =\r 2",
    'b { c = 1 }\nd = {p = 1, q = 2}\ne = "x${1 +\n2}y"\nf = {\n  p = 1 # c\n  q = 2,\n}',
    "g = <<EOT\nx\nEOT\nh = 1\n# a comment\rwith a CR",
    "b { a = 1 c = 2 }", 'b { c "x" { d = 1 } }', "b { a = 1\n  c = 2\n}",
    "b { # c\n  a = 1\n}\nd { e = 1 }",
    'a = "\\ud800"', 'a = "x"\nb = "\\U00110000"', 'a = "\\U0010FFFF"',
]


@pytest.mark.parametrize("text", _HCL)
def test_hcl_read_or_refused_as_conftest_does(tmp_path: Path, text: str) -> None:
    refused = _parse_both(tmp_path, "main.tf", f"{text}\n")
    if refused is not None:
        theirs, mine = refused
        # (conftest: "[:LINE,COL-...: Summary; Detail.]"; socle: "main.tf:LINE: Summary; Detail.")
        found = re.search(r"\[:(\d+),(\d+)-[\d,]+: (.+?\.)(?: :\d|\], path)", theirs)
        assert found is not None, theirs
        line, column, message = found.groups()
        assert mine in (f"socle parse: main.tf:{line}: {message}\n",
                        f"socle parse: main.tf:{line}:{column}: {message}\n")


@pytest.mark.parametrize("text", ["apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
                                  '{"a": 1}', "a = 1\n", "- 1\n---\nb: 2\n"])
def test_standard_input_is_yaml_unless_told_otherwise(tmp_path: Path, text: str) -> None:
    # (`helm template . | conftest test -` : conftest reads standard input as YAML)
    c = subprocess.run([str(CONFTEST), "parse", "-"], input=text, capture_output=True, text=True,
                       cwd=tmp_path, timeout=60, check=False)
    s = subprocess.run([*SOCLE, "parse", "-"], input=text, capture_output=True, text=True,
                       cwd=tmp_path, timeout=60, check=False)
    assert (s.returncode, json.loads(s.stdout)) == (c.returncode, json.loads(c.stdout))


@pytest.mark.parametrize("text", [
    "a: .inf\n", "a:\n- 1\n- -.Inf\n", "a: .NaN\n", "a: !!float .inf\n", "data:\n  .inf: a\n",
    "a: 1e400\n", "...\n---\na: 1\n", "# c\n...\n---\na: 1\n", "a: 1\n---\n...\n",
    "a: 1\n...\n---\nb: 2\n", "---\n...\n---\na: 1\n",
])
def test_yaml_read_or_refused_as_conftest_does(tmp_path: Path, text: str) -> None:
    # go-yaml behind conftest cannot turn .inf or .nan into JSON, and fails a part of a
    # stream that starts with "...": socle refuses the file too (exit 2, where conftest's is 1)
    refused = _parse_both(tmp_path, "f.yaml", text)
    if refused is not None:
        theirs, mine = refused
        assert ("unsupported value" in theirs) == ("JSON can hold" in mine)
        assert ("did not find expected node content" in theirs) == ("no document" in mine)


@pytest.mark.parametrize("text", [
    '{"a": "\\ud800"}', '{"\\udc00k": "\\ud83d\\ude00"}', '{"a": 1e400}', '{"a": -1e400}',
    '{"a": NaN}', '{"a": Infinity}', '[-Infinity]', '{"a": 1e308, "b": 2.5e-400}',
    '{"a": 1, "a": 2}',
])
def test_json_read_or_refused_as_conftest_does(tmp_path: Path, text: str) -> None:
    # Python's JSON reader takes NaN and Infinity, makes 1e400 infinite (`socle parse`
    # printed `Infinity`) and keeps a lone surrogate, which crashed `socle parse` with a
    # traceback; Go's refuses the first two and makes the last U+FFFD
    refused = _parse_both(tmp_path, "f.json", text)
    if refused is not None:
        theirs, mine = refused
        assert "unmarshal" in theirs or "invalid character" in theirs
        assert "is not a number JSON can hold" in mine, mine


@pytest.mark.parametrize(("name", "text"), [
    ("main.tf", "a = 1e400\n"), ("main.tf", "a = 1e308\nb = -1.7976931348623157e309\n"),
    ("app.properties", "a=\\ud800\nb=x\\udfffy\n"),
])
def test_numbers_and_surrogates_read_or_refused_as_conftest_does(tmp_path: Path, name: str,
                                                                   text: str) -> None:
    # a number past a float's range in HCL (conftest cannot unmarshal it into a Go float),
    # an escaped lone surrogate in a properties file (U+FFFD for conftest; socle printed a
    # traceback)
    refused = _parse_both(tmp_path, name, text)
    if refused is not None:
        theirs, mine = refused
        assert "cannot unmarshal number" in theirs and "larger than a float" in mine


# --- conftest's own configuration ----------------------------------------------------------------

_CONFIGURED = {
    "rules/p.rego": 'package k8s\n\ndeny contains msg if {\n\tinput.kind == "ConfigMap"\n\t'
                    'msg := sprintf("no ConfigMap: %s", [input.metadata.name])\n}\n\n'
                    'warn contains "an Other" if input.kind == "Other"\n',
    "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    "other.yaml": "kind: Other\n",
}
_SETTINGS = {"toml": 'Policy = "rules"\nnamespace = ["k8s"]\nfail-on-warn = true\n',
             "yaml": "policy: [rules]\nnamespace: k8s\nfail-on-warn: true\n",
             "json": '{"policy": "rules", "namespace": "k8s", "fail-on-warn": true}'}


@pytest.mark.parametrize("setup", ["toml", "yaml", "json", "env", "config-file", "flags-win"])
def test_conftest_configuration_is_read_as_conftest_reads_it(tmp_path: Path, setup: str) -> None:
    # a conftest user's conftest.toml (or .yaml, .json, -c FILE) and CONFTEST_* variables:
    # the same policies, namespaces and exit codes as conftest, flags over variables over file
    _write(tmp_path, _CONFIGURED)
    env = {**os.environ, "NO_COLOR": "1"}
    args: list[str] = []
    if setup in _SETTINGS:
        (tmp_path / f"conftest.{setup}").write_text(_SETTINGS[setup], encoding="utf-8")
    elif setup == "env":
        env.update(CONFTEST_POLICY="rules", CONFTEST_NAMESPACE="k8s",
                   CONFTEST_FAIL_ON_WARN="true")
    elif setup == "config-file":
        (tmp_path / "ci").mkdir()
        (tmp_path / "ci" / "settings.toml").write_text(_SETTINGS["toml"], encoding="utf-8")
        args = ["-c", "ci/settings.toml"]
    else:  # the file says otherwise; the command line wins
        (tmp_path / "conftest.toml").write_text('policy = "nowhere"\nnamespace = "nothing"\n',
                                                encoding="utf-8")
        args = ["-p", "rules", "-n", "k8s", "--fail-on-warn"]
    for files in (["other.yaml"], ["cm.yaml", "other.yaml"]):
        s = subprocess.run([*SOCLE, "test", *args, *files, "-o", "json"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, env=env)
        c = subprocess.run([str(CONFTEST), "test", *args, *files, "-o", "json"], cwd=tmp_path,
                           capture_output=True, text=True, timeout=300, env=env)
        theirs = bench.conftest_results(json.loads(c.stdout))
        assert bench.compare(bench.socle_results(json.loads(s.stdout)), theirs) == [], s.stderr
        # a warning fails (fail-on-warn): 1 for both; a failure too, which conftest then
        # tells apart with 2 (socle keeps 2 for input it cannot use: docs/test.md)
        assert (s.returncode, c.returncode) == (1, 2 if "cm.yaml" in files else 1)
        assert theirs[("other.yaml", "k8s", "warn", "an Other")] == 1


_PACKAGES = {f"rules/{name.replace('.', '_')}.rego":
             f'package {name}\n\ndeny contains "{name} fired" if input.kind == "ConfigMap"\n'
             for name in ("main", "k8s", "k8s.simple", "k8s.simple.deployment", "other.sub")}


@pytest.mark.parametrize("namespaces", [
    "k8s*", "k8s.*", "*", "*.sub", "o?her.sub", "[ko]*", "[^k]*", "[!k]*", "[a-l]*.simple",
    "k8s,other.sub", "k8s*,main", "[z-a]*", "k\\8s", "nothing*", "{k8s,main}"])
def test_namespace_patterns_choose_what_conftest_chooses(tmp_path: Path, namespaces: str
                                                         ) -> None:
    # conftest's -n takes comma-separated values and Go path.Match wildcards, `*` across dots
    # (`-n 'k8s.*'`): socle tested a namespace literally named "k8s*", i.e. nothing, and passed
    _write(tmp_path, {**_PACKAGES, "rules2/extra.rego":
                      'package extra\n\ndeny contains "extra fired" if true\n',
                      "cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"})
    args = ["-p", "rules,rules2", "-n", namespaces, "cm.yaml"]
    socle, s_code, theirs, c_code = _findings(args, tmp_path)
    assert bench.compare(socle, theirs) == []
    assert s_code == c_code
    if namespaces == "k8s.*":
        assert {k[1] for k in theirs} == {"k8s.simple", "k8s.simple.deployment"}


@pytest.mark.parametrize("namespaces", ["[", "[]", "[a-]"])
def test_a_namespace_pattern_go_refuses_is_an_error(tmp_path: Path, namespaces: str) -> None:
    _write(tmp_path, {**_PACKAGES, "cm.yaml": "kind: ConfigMap\n"})
    args = ["-p", "rules", "-n", namespaces, "cm.yaml"]
    c = _run([str(CONFTEST), "test", *args], tmp_path)
    s = _run([*SOCLE, "test", *args], tmp_path)
    assert c.returncode == 1 and "syntax error in pattern" in c.stderr
    assert s.returncode == 2 and s.stderr == (f"socle test: namespace pattern {namespaces!r}: "
                                              "syntax error in pattern\n")


def test_stdin_filename_names_standard_input_as_in_conftest(tmp_path: Path) -> None:
    # `helm template . | conftest test --stdin-filename chart.yaml -`: findings name the file
    _write(tmp_path, _CONFIGURED)
    stream = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: Other\n"
    args = ["-p", "rules", "-n", "k8s", "--stdin-filename", "deploy/app.yaml", "-", "-o", "json"]
    env = {**os.environ, "NO_COLOR": "1"}
    s = subprocess.run([*SOCLE, "test", *args], cwd=tmp_path, input=stream,
                       capture_output=True, text=True, timeout=300, env=env)
    c = subprocess.run([str(CONFTEST), "test", *args], cwd=tmp_path, input=stream,
                       capture_output=True, text=True, timeout=300, env=env)
    theirs = bench.conftest_results(json.loads(c.stdout))
    assert bench.compare(bench.socle_results(json.loads(s.stdout)), theirs) == [], s.stderr
    assert {k[0] for k in theirs} == {"deploy/app.yaml"}
    assert s.returncode == c.returncode == 1


@pytest.mark.parametrize("namespaces", [None, "main", "k8s.sub", "k8s*", "main,k8s.sub", "none"])
def test_verify_namespaces_choose_what_conftest_chooses(tmp_path: Path,
                                                       namespaces: str | None) -> None:
    _write(tmp_path, {
        "policy/a_test.rego": "package main\n\ntest_a if true\n",
        "policy/b_test.rego": "package k8s.sub\n\ntest_b if true\n\ntest_c if false\n",
        "policy/c_test.rego": "package k8s\n\ntest_d if true\n"})
    flags = [] if namespaces is None else ["-n", namespaces]
    s = _run([*SOCLE, "verify", *flags, "-p", "policy", "-v"], tmp_path)
    c = _run([str(CONFTEST), "verify", *flags, "-p", "policy", "-o", "json"], tmp_path)
    assert _socle_verdicts(s.stdout) == _conftest_verdicts(c.stdout), s.stdout + s.stderr
    assert s.returncode == c.returncode, (s.returncode, c.returncode)
