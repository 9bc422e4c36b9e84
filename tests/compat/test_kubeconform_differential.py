"""socle validate and kubeconform v0.7.0 give every document the same verdict.

Two differentials, both offline (kubeconform reads the schemas socle exports):

* the benchmark's generator writes its small corpus (300 documents in 30 files: Deployments,
  Services, ConfigMaps, Ingresses, CRDs and custom resources, with one document of each kind of
  mistake) and both tools must agree document by document, and with the generator;
* small manifests whose validity depends on how YAML 1.1 types a plain scalar
  (``replicas: 0x10``, ``value: on``, ``name: yes`` ...), where a YAML 1.2 parser would differ
  from kubeconform (go-yaml v2, as kubectl).

Skipped when no kubeconform binary is found ($KUBECONFORM, PATH, $(go env GOPATH)/bin).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

import crd_random
import manifest_random
from socle_testing import ROOT, load_module, run_socle

pytestmark = pytest.mark.kubeconform



bench = load_module("socle_bench_validate_run", ROOT / "bench" / "validate" / "run.py")


@pytest.fixture(scope="module")
def kubeconform() -> str:
    path = bench.find_kubeconform()
    if path is None:
        pytest.skip("kubeconform not built (go install github.com/yannh/kubeconform/cmd/"
                    "kubeconform@v0.7.0, or set $KUBECONFORM)")
    return str(path)


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory) -> str:
    """socle's bundled schemas, exported in kubeconform's layout by the real command."""
    target = tmp_path_factory.mktemp("schemas")
    r = run_socle("schemas", "export", "--kubernetes-version", bench.K8S_VERSION, "--strict",
                  "--dir", str(target))
    assert r.code == 0, r.err
    assert (target / f"v{bench.K8S_VERSION}-standalone-strict" / "deployment-apps-v1.json"
            ).is_file()
    return str(target)


def _socle_json(path: str, *extra: str, codes: tuple[int, ...] = (0, 1)) -> dict[str, Any]:
    r = run_socle("validate", "-strict", "-kubernetes-version", bench.K8S_VERSION,
                  "-o", "json", "--verbose", *extra, path)
    assert r.code in codes, r.err
    data: dict[str, Any] = json.loads(r.out)
    return data


def _kubeconform_json(kc: str, path: str, schemas: str, catalog: str | None = None
                      ) -> dict[str, Any]:
    args = ["-kubernetes-version", bench.K8S_VERSION,
            "-schema-location", os.path.join(schemas, bench.STANDALONE)]
    if catalog:
        args += ["-schema-location", os.path.join(catalog, bench.CATALOG)]
    return _kubeconform_report(kc, path, "-strict", *args)


def _kubeconform_report(kc: str, path: str, *args: str) -> dict[str, Any]:
    """kubeconform's JSON report (-verbose) on ``path`` with ``args``."""
    proc = subprocess.run([kc, "-output", "json", "-verbose", *args, path],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def _schema_location(folder: Path, name: str, schema: dict[str, Any]) -> str:
    """``schema`` written as ``folder/name`` (``kind_v1.json``); the -schema-location that
    finds it."""
    folder.mkdir()
    (folder / name).write_text(json.dumps(schema), encoding="utf-8")
    return str(folder / "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")


# --- the benchmark corpus, small ---------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("corpus") / "small"
    n_docs, n_files = bench.generate.SMALL
    manifest = bench.generate.generate(str(folder), n_docs, n_files)
    return str(folder), manifest


def test_generator_is_deterministic_and_covers_every_mistake(
        corpus: tuple[str, dict[str, Any]], tmp_path: Path) -> None:
    folder, manifest = corpus
    again = bench.generate.generate(str(tmp_path / "again"), *bench.generate.SMALL)
    assert again["resources"] == manifest["resources"]
    assert manifest["documents"] == 300 and manifest["files"] == 30
    assert len(bench.corpus_files(folder)) == 30
    mutations = {r.get("mutation") for r in manifest["resources"]} - {None}
    assert mutations == set(bench.generate.MUTATIONS)
    assert {"Deployment", "Service", "ConfigMap", "Ingress", "CustomResourceDefinition",
            "Database", "Certificate", "Rollout", "AlertRule"} <= set(manifest["kinds"])


def test_corpus_verdicts_match_kubeconform(kubeconform: str, schemas: str,
                                           corpus: tuple[str, dict[str, Any]],
                                           tmp_path: Path) -> None:
    folder, manifest = corpus
    catalog = str(tmp_path / "catalog")
    written = bench.build_catalog(folder, catalog)
    assert len(written) == 5  # four CRDs, one of them with two versions

    socle = bench.socle_verdicts(_socle_json(folder), folder)
    kc = bench.kubeconform_verdicts(_kubeconform_json(kubeconform, folder, schemas, catalog),
                                    folder)
    assert len(socle) == len(kc) == manifest["documents"]
    assert bench.compare(bench.passed(socle), bench.passed(kc)) == []
    expected = bench.manifest_verdicts(manifest)
    assert bench.compare(bench.passed(socle), expected) == []
    assert bench.compare(bench.passed(kc), expected) == []
    # socle's extra checks found nothing beyond the planted mistakes
    assert sum(1 for _, v in socle if v != "valid") == manifest["invalid"]


def test_compare_reports_a_flipped_verdict() -> None:
    a = [(("f.yaml", "v1", "ConfigMap", "x"), "valid"), (("f.yaml", "", "", ""), "invalid")]
    b = [(("f.yaml", "v1", "ConfigMap", "x"), "invalid"),
         (("f.yaml", "v1", "Service", "y"), "invalid")]
    problems = bench.compare(a, b)
    assert problems == ["f.yaml: ConfigMap x: valid vs invalid"]
    assert bench.compare(a, [*b, (("g.yaml", "v1", "Pod", "p"), "valid")]) == [
        "f.yaml: ConfigMap x: valid vs invalid", "g.yaml: 1 document(s) valid only in the second"]


# --- YAML 1.1 scalar typing --------------------------------------------------------------------

REPLICAS = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d{i}
spec:
  replicas: {value}
  selector:
    matchLabels: {{app: d{i}}}
  template:
    metadata:
      labels: {{app: d{i}}}
    spec:
      containers:
      - name: c
        image: nginx:1.27
"""

STRING_FIELDS = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: c{i}
  annotations:
    note: {value}
data:
  key: {value}
"""

ENV_VALUE = """\
apiVersion: v1
kind: Pod
metadata:
  name: p{i}
spec:
  containers:
  - name: c
    image: nginx:1.27
    env:
    - name: E
      value: {value}
"""

NAME = """\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {value}
"""

DATA_KEY = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: k{i}
data:
  {value}: v
  short: x
"""

FLOW_KEY = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: f{i}
data: {{{value}: v}}
"""

COMMAND = """\
apiVersion: v1
kind: Pod
metadata:
  name: q{i}
spec:
  containers:
  - name: c
    image: curlimages/curl:8.5.0
    command: [curl, {value}]
"""

# (template, plain scalar, what go-yaml v2 makes of it, so what kubeconform says)
SCALARS: list[tuple[str, str, str]] = [
    (REPLICAS, "0x10", "valid"),  # YAML 1.1 hex int
    (REPLICAS, "017", "valid"),  # YAML 1.1 octal int
    (REPLICAS, "0o17", "valid"),
    (REPLICAS, "1_000", "valid"),  # underscores allowed in 1.1 ints
    (REPLICAS, "1e3", "valid"),  # a float with an integral value is an integer in JSON
    (REPLICAS, "+5", "valid"),
    (REPLICAS, "0b101", "valid"),
    (REPLICAS, "1.0", "valid"),
    (REPLICAS, "~", "valid"),  # replicas is nullable in the published schemas
    (REPLICAS, ".5", "invalid"),
    (REPLICAS, "'3'", "invalid"),
    (REPLICAS, "!!str 3", "invalid"),
    (REPLICAS, "1:20", "invalid"),  # no sexagesimal ints in go-yaml: a string
    (STRING_FIELDS, "yes", "invalid"),  # YAML 1.1 bool where a string is expected
    (STRING_FIELDS, "'yes'", "valid"),
    (STRING_FIELDS, "y", "invalid"),
    (STRING_FIELDS, "n", "invalid"),
    (STRING_FIELDS, "Off", "invalid"),
    (STRING_FIELDS, "tRue", "valid"),  # not a bool spelling: a string
    (STRING_FIELDS, "~", "valid"),
    (STRING_FIELDS, "NULL", "valid"),
    (STRING_FIELDS, "2024-01-01", "valid"),  # timestamps stay strings
    (STRING_FIELDS, "2024-01-01T10:00:00Z", "valid"),
    (STRING_FIELDS, "12:30:00", "valid"),
    (STRING_FIELDS, "0x1F", "invalid"),
    (STRING_FIELDS, "1e3", "invalid"),
    (STRING_FIELDS, ".inf", "invalid"),  # kubeconform cannot even convert it to JSON
    (STRING_FIELDS, "!!str yes", "valid"),
    (ENV_VALUE, "on", "invalid"),
    (ENV_VALUE, "~", "valid"),
    (ENV_VALUE, "''", "valid"),
    (ENV_VALUE, "NO", "invalid"),
    (ENV_VALUE, "2001-12-14 21:59:43.10 -5", "valid"),
    (ENV_VALUE, "1_000", "invalid"),
    (ENV_VALUE, "+5", "invalid"),
    (ENV_VALUE, ".NaN", "invalid"),
    (ENV_VALUE, "=", "valid"),
    (NAME, "yes", "invalid"),
    (NAME, "'yes'", "valid"),
    (NAME, "y", "invalid"),
    # YAML limits an implicit key to 1,024 characters from its first one to the ":" (go-yaml
    # and PyYAML refuse a longer one; rapidyaml takes it)
    (DATA_KEY, "k" * 1024, "valid"),
    (DATA_KEY, "k" * 1025, "invalid"),
    (DATA_KEY, '"' + "k" * 1022 + '"', "valid"),
    (DATA_KEY, '"' + "k" * 1023 + '"', "invalid"),
    (DATA_KEY, '"' + "\\U0001F600" * 110 + '"', "invalid"),  # 110 characters, written 1,102
    (DATA_KEY, "k: " + "v" * 3000 + "\n  other", "valid"),  # a long value is fine
    (FLOW_KEY, "k" * 1100, "invalid"),
    (FLOW_KEY, "k" * 1000, "valid"),
    # go-yaml v2 ends a plain scalar at a "?" in a flow collection, then fails
    (COMMAND, "http://localhost/health?full=1", "invalid"),
    (COMMAND, "'http://localhost/health?full=1'", "valid"),
    (COMMAND, "-fsS #x", "invalid"),  # the comment eats the "]"
    (COMMAND, "-fsS]\t# x", "valid"),  # a tab, then a comment (the template's "]" in it)
]


@pytest.fixture(scope="module")
def scalar_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    folder = tmp_path_factory.mktemp("scalars")
    where: dict[str, str] = {}
    for i, (template, value, _) in enumerate(SCALARS):
        name = f"case-{i:02d}.yaml"
        (folder / name).write_text(template.format(i=i, value=value), encoding="utf-8")
        where[name] = value
    return str(folder), where


def _by_file(verdicts: list[tuple[Any, str]]) -> dict[str, str]:
    return {os.path.basename(key[0]): v for key, v in bench.passed(verdicts)}


def test_yaml_scalar_typing_matches_kubeconform(kubeconform: str, schemas: str,
                                                scalar_dir: tuple[str, dict[str, str]]) -> None:
    folder, values = scalar_dir
    kc = _by_file(bench.kubeconform_verdicts(_kubeconform_json(kubeconform, folder, schemas),
                                             folder))
    # (exit 2: the keys too long for YAML are input errors)
    socle = _by_file(bench.socle_verdicts(_socle_json(folder, codes=(1, 2)), folder))
    assert set(kc) == set(socle) == set(values)
    differ = {f"{values[f]!r} in {f}": (socle[f], kc[f]) for f in values if socle[f] != kc[f]}
    assert differ == {}, "socle vs kubeconform"


def test_yaml_scalar_expectations_hold_for_kubeconform(
        kubeconform: str, schemas: str, scalar_dir: tuple[str, dict[str, str]]) -> None:
    """The table above is what kubeconform does: a change of peer version shows up here."""
    folder, _ = scalar_dir
    kc = _by_file(bench.kubeconform_verdicts(_kubeconform_json(kubeconform, folder, schemas),
                                             folder))
    expected = {f"case-{i:02d}.yaml": verdict for i, (_, _, verdict) in enumerate(SCALARS)}
    assert kc == expected


# --- which files, named how ---------------------------------------------------------------------


@pytest.mark.parametrize("args", [
    ["."], ["./apps"], ["apps/"], ["./apps//web/", "./apps/db.yaml"], ["./apps/../apps"],
])
@pytest.mark.parametrize("patterns", [[r"^\..+"], [r"^\..+", "^apps/web/"],
                                      [r"^\.ci/", r"db\.yaml$"]])
def test_files_are_found_named_and_ignored_as_kubeconform_does(
        kubeconform: str, schemas: str, tmp_path: Path, args: list[str],
        patterns: list[str]) -> None:
    # a user's -ignore-filename-pattern is written against the paths kubeconform walks: in a
    # folder, joined and cleaned ("./apps" and "db.yaml" make "apps/db.yaml"); named on the
    # command line, as given ("^\..+", the usual pattern for hidden files, then ignores
    # "./apps/db.yaml" too). kubeconform walks hidden folders and socle skips them (see
    # docs/validate.md): every case here leaves .ci/ out.
    configmap = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {}\ndata: {{k: v}}\n"
    for rel in ("apps/db.yaml", "apps/web/web.yaml", "apps/web/deep/x.yml", ".ci/ci.yaml",
                "top.yaml"):
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(configmap.format(target.stem))
    ignore = [a for p in patterns for a in ("-ignore-filename-pattern", p)]
    proc = subprocess.run(
        [kubeconform, "-strict", "-output", "json", "-verbose", "-kubernetes-version",
         bench.K8S_VERSION, "-schema-location", os.path.join(schemas, bench.STANDALONE),
         *ignore, *args], capture_output=True, text=True, timeout=120, check=False,
        cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    theirs = sorted(r["filename"] for r in json.loads(proc.stdout)["resources"])
    r = run_socle("validate", "-strict", "-kubernetes-version", bench.K8S_VERSION, "-o", "json",
                  "--verbose", *ignore, *args, cwd=tmp_path)
    assert r.code == 0, r.out + r.err
    ours = sorted(d["file"] for d in json.loads(r.out)["documents"])
    assert ours == theirs


# --- random manifests --------------------------------------------------------------------------


def _verdicts_by_file(verdicts: list[tuple[Any, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, v in bench.passed(verdicts):
        out.setdefault(os.path.basename(key[0]), []).append(v)
    return {f: sorted(v) for f, v in out.items()}


@pytest.mark.parametrize("seed", range(6))
def test_random_manifests_get_kubeconform_verdicts(kubeconform: str, schemas: str,
                                                   tmp_path: Path, seed: int) -> None:
    # 60 files of one to three documents each, of 21 kinds, written in random YAML styles and
    # some of them mutated (tests/manifest_random.py): every document gets kubeconform's
    # verdict, and every file as many documents. (The seeds of the session that wrote this
    # test found one kind of difference: a part of a stream that starts with "...", which
    # go-yaml fails and socle read as empty.)
    folder = str(tmp_path / "m")
    manifest_random.generate(folder, seed)
    socle = _verdicts_by_file(bench.socle_verdicts(
        _socle_json(folder, "--no-extra-checks", codes=(0, 1, 2)), folder))
    kc = _verdicts_by_file(bench.kubeconform_verdicts(
        _kubeconform_json(kubeconform, folder, schemas), folder))
    assert len(kc) == 60
    differ = {f: (socle.get(f), kc.get(f)) for f in sorted(set(socle) | set(kc))
              if socle.get(f) != kc.get(f)}
    assert differ == {}, "socle vs kubeconform, by file"
    assert {"valid", "invalid"} <= {v for vs in kc.values() for v in vs}


# --- formats ------------------------------------------------------------------------------------

FORMATS = ["date-time", "date", "time", "duration", "period", "email", "hostname", "ipv4",
           "ipv6", "uri", "uri-reference", "iri", "iri-reference", "uri-template", "uuid",
           "json-pointer", "relative-json-pointer", "regex", "semver", "idn-email", "int32",
           "byte", "quantity"]
FORMAT_VALUES = [
    "", "x", "2024-01-02T03:04:05Z", "2024-01-02t03:04:05.5+01:00", "2024-01-02 03:04:05Z",
    "2024-01-02T03:04:05", "2024-02-30T00:00:00Z", "2016-12-31T23:59:60Z",
    "2016-12-31T22:59:60-01:00", "2024-01-02T24:00:00Z", "2024-01-02T03:04:05+0100",
    "2024-01-02", "2024-1-2", "03:04:05Z", "03:04:05", "+1:+2:+3Z", "1h30m", "-1.5h", ".5s",
    "5", "0", "1y", "P1D", "PT1H", "P1Y2M3DT4H5M6S", "P1W", "PT", "P1DT", "P1.5D", "P1M1Y",
    "2024-01-02T00:00:00Z/P1D", "P1D/2024-01-02T00:00:00Z", "a@b.c", "@b.c", "a@b", "a..b@c",
    "\"a b\"@c.d", "a@[1.2.3.4]", "a@[IPv6:::1]", "é@x.y", "a.b.", "-a.b", "a_b.c",
    "xn--bcher-kva.example", "bücher.example", "a" * 64 + ".b", "1.2.3.4", "256.1.1.1",
    "01.2.3.4", "+1.2.3.4", "::1", "2001:db8::g", "::ffff:1.2.3.4", "fe80::1%eth0",
    "https://x.test/a?b#c", "http://[::1]:80/", "http://[::1/", "http://::1/", "x:y",
    "/relative", "relative", "a:b/c", ":x", "https://x.test/ a", "http://x.test/%zz",
    "http://host:port/", "http://ü.test/", "http://a b/", "http://u:p@h/", "//h/p",
    "a{", "/a/{b}/c", "/a/{b", "{a}}", "a\\b", "123e4567-e89b-12d3-a456-426614174000",
    "123e4567e89b12d3a456426614174000", "/a/b", "/a~2", "0", "1/a", "0#", "01", "[a-z",
    "(?i)x", "(?=x)", "\\d+", "a{2,}", "\\pL", "\\Q.\\E", "(?x)a", "(a)\\1", "1.2.3",
    "1.2.3-rc.1+b", "1.2.3-01", "01.2.3", "1.2", "aGVsbG8=", "not base64!", "12", "1Gi",
]


def _format_crs(folder: Path) -> dict[str, tuple[str, str]]:
    """One file per format, one custom resource per value; (format, value) by file and name."""
    where: dict[str, tuple[str, str]] = {}
    for i, fmt in enumerate(FORMATS):
        docs = []
        for j, value in enumerate(FORMAT_VALUES):
            name = f"c-{j}"
            where[f"f{i:02d}.yaml/{name}"] = (fmt, value)
            docs.append(f"apiVersion: f.test/v1\nkind: Fmt\nmetadata:\n  name: {name}\n"
                        f"spec:\n  f{i}: {json.dumps(value)}\n")
        (folder / f"f{i:02d}.yaml").write_text("---\n".join(docs), encoding="utf-8")
    return where


def _by_name(verdicts: list[tuple[Any, str]]) -> dict[str, str]:
    return {f"{os.path.basename(key[0])}/{key[3]}": v for key, v in bench.passed(verdicts)}


def test_formats_are_checked_as_kubeconform_checks_them(kubeconform: str,
                                                        tmp_path: Path) -> None:
    # kubeconform compiles a schema that declares no $schema as draft 4 and asserts every
    # format its validator knows (date-time, uri, uuid, duration as Go or ISO 8601 ...):
    # socle refused none of them before. The same schema read by both from a location, and
    # socle converting the same CRD found in its input.
    props = {f"f{i}": {"type": "string", "format": fmt} for i, fmt in enumerate(FORMATS)}
    root = {"type": "object", "properties": {
        "apiVersion": {"type": "string"}, "kind": {"type": "string"},
        "metadata": {"type": "object"},
        "spec": {"type": "object", "properties": props, "additionalProperties": False}}}
    location = _schema_location(tmp_path / "schemas", "fmt_v1.json", root)
    crs = tmp_path / "crs"
    crs.mkdir()
    where = _format_crs(crs)
    kc = _by_name(bench.kubeconform_verdicts(
        _kubeconform_report(kubeconform, str(crs), "-strict", "-schema-location", location),
        str(crs)))
    assert len(kc) == len(where)
    refused = {fmt for key, (fmt, _) in where.items() if kc[key] == "invalid"}
    assert "date-time" in refused and "int32" not in refused and "idn-email" not in refused
    socle = _by_name(bench.socle_verdicts(
        _socle_json(str(crs), "-schema-location", location, codes=(1,)), str(crs)))
    differ = {where[k]: (socle.get(k), kc[k]) for k in where if socle.get(k) != kc[k]}
    assert differ == {}, "socle vs kubeconform: (format, value): (socle, kubeconform)"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "fmts.f.test"},
           "spec": {"group": "f.test", "scope": "Namespaced",
                    "names": {"kind": "Fmt", "plural": "fmts"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": root}}]}}
    (tmp_path / "crd.json").write_text(json.dumps(crd), encoding="utf-8")
    report = _socle_json(str(tmp_path / "crd.json"), str(crs), codes=(1,))
    from_crd = _by_name(bench.socle_verdicts(
        {"documents": [d for d in report["documents"] if d["file"].endswith(".yaml")]},
        str(crs)))
    assert from_crd == socle


def test_bundled_date_times_are_checked_as_kubeconform_default_schemas_do(
        kubeconform: str, schemas: str, tmp_path: Path) -> None:
    # kubeconform's default Kubernetes schemas declare no $schema: a metav1.Time field is
    # checked as a date-time. socle's bundled copies declare 2020-12 (their $defs), which
    # kubeconform would not assert formats in: the exported schema is given to kubeconform
    # without its $schema, as its default location serves it.
    exported = Path(schemas) / f"v{bench.K8S_VERSION}-standalone-strict"
    plain = tmp_path / "plain"
    plain.mkdir()
    schema = json.loads((exported / "cronjob-batch-v1.json").read_text(encoding="utf-8"))
    schema.pop("$schema", None)
    (plain / "cronjob-batch-v1.json").write_text(json.dumps(schema), encoding="utf-8")
    crs = tmp_path / "jobs"
    crs.mkdir()
    values = ["2024-01-02T03:04:05Z", "2024-01-02", "yesterday", "2024-02-30T00:00:00Z", None]
    for i, value in enumerate(values):
        (crs / f"j{i}.yaml").write_text(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: j\n"
            f"  creationTimestamp: {json.dumps(value)}\nspec:\n  schedule: '* * * * *'\n"
            "  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n"
            "          - name: c\n            image: busybox\n          restartPolicy: Never\n",
            encoding="utf-8")
    kc = _by_file(bench.kubeconform_verdicts(_kubeconform_report(
        kubeconform, str(crs), "-strict",
        "-schema-location", str(plain / "{{ .ResourceKind }}-batch-v1.json")), str(crs)))
    socle = _by_file(bench.socle_verdicts(_socle_json(str(crs), codes=(1,)), str(crs)))
    assert kc == socle == {"j0.yaml": "valid", "j1.yaml": "invalid", "j2.yaml": "invalid",
                           "j3.yaml": "invalid", "j4.yaml": "valid"}


# --- CRDs converted as kubeconform's openapi2jsonschema converts them -----------------------------


def _openapi2jsonschema() -> Path:
    path = os.environ.get("OPENAPI2JSONSCHEMA")
    if not path:
        proc = subprocess.run(["go", "env", "GOMODCACHE"], capture_output=True, text=True,
                              check=False)
        path = os.path.join(proc.stdout.strip(), "github.com", "yannh", "kubeconform@v0.7.0",
                            "scripts", "openapi2jsonschema.py")
    if not os.path.isfile(path):
        pytest.skip("kubeconform's scripts/openapi2jsonschema.py not found (go mod download "
                    "github.com/yannh/kubeconform@v0.7.0, or set $OPENAPI2JSONSCHEMA)")
    return Path(path)


@pytest.mark.parametrize("seed", range(12))
def test_random_crds_convert_as_openapi2jsonschema_does(kubeconform: str, tmp_path: Path,
                                                        seed: int) -> None:
    # kubeconform's users convert a CRD with its script and point -schema-location at the
    # result; socle reads the CRD in its input. Every custom resource gets the same verdict.
    # (The seeds of the session that wrote this test found two differences: socle required
    # known fields in anyOf/oneOf branches and read `format: int-or-string` as a branch of its
    # own, where the script leaves lists alone.)
    import sys

    import yaml

    script = _openapi2jsonschema()
    crds = crd_random.generate(str(tmp_path), seed)
    stream = tmp_path / "crds.yaml"
    stream.write_text(yaml.safe_dump_all(crds), encoding="utf-8")
    converted = tmp_path / "schemas"
    converted.mkdir()
    subprocess.run([sys.executable, str(script), str(stream)], cwd=converted, check=True,
                   capture_output=True, timeout=120)
    crs = str(tmp_path / "crs")
    kc = _by_file(bench.kubeconform_verdicts(_kubeconform_report(
        kubeconform, crs, "-strict", "-schema-location",
        str(converted / "{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json")), crs))
    report = _socle_json(crs, "--no-extra-checks", str(stream), codes=(0, 1))
    socle = _by_file(bench.socle_verdicts(
        {"documents": [d for d in report["documents"] if d["file"].endswith(".json")]}, crs))
    assert len(kc) == 72
    differ = {f: (socle.get(f), kc[f]) for f in kc if socle.get(f) != kc[f]}
    assert differ == {}, "socle vs kubeconform: file: (socle, kubeconform)"
    assert set(kc.values()) == {"valid", "invalid"}


# --- patterns ---------------------------------------------------------------------------------

PATTERNS = ["^[[:alpha:]]+$", "^(?i)abc$", "^\\d+$", "^\\w+$", "^\\s*$", "^.$",
            "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "a$", "^a", "\\bx\\b", "^\\S+$", "^\\p{L}+$",
            "^a{2}$", "^[^a]$", "^\\D$", "^\\W$", "^\\x41$", "^[\\d-]+$", "^\\.$", "x*", "^$"]
PATTERN_VALUES = ["123", "١٢٣", "abc", "ABC", "é", "a_b", " ", "\u00a0", "\t", "\r", "\n",
                  "\u2028", "x", "a\n", "\na", "a", "aa", "A", "-1", "x y", "", ".", "\u0001",
                  "abc\n", "\ufeff", "\u000b"]


def test_patterns_match_as_kubeconform_matches_them(kubeconform: str, tmp_path: Path) -> None:
    # kubeconform reads a pattern with Go's regexp: POSIX classes and "(?i)" anywhere (which
    # made socle refuse the whole schema), an ASCII "\s" (socle's ECMA reading matched a
    # no-break space)
    props = {f"p{i}": {"type": "string", "pattern": p} for i, p in enumerate(PATTERNS)}
    location = _schema_location(tmp_path / "schemas", "pat_v1.json", {
        "type": "object", "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"},
            "metadata": {"type": "object"}, "spec": {"type": "object", "properties": props}}})
    crs = tmp_path / "crs"
    crs.mkdir()
    where: dict[str, tuple[str, str]] = {}
    for i, pattern in enumerate(PATTERNS):
        docs = []
        for j, value in enumerate(PATTERN_VALUES):
            where[f"p{i:02d}.yaml/c-{j}"] = (pattern, value)
            docs.append(json.dumps({"apiVersion": "p.test/v1", "kind": "Pat",
                                    "metadata": {"name": f"c-{j}"}, "spec": {f"p{i}": value}}))
        (crs / f"p{i:02d}.yaml").write_text("\n---\n".join(docs) + "\n", encoding="utf-8")
    kc = _by_name(bench.kubeconform_verdicts(
        _kubeconform_report(kubeconform, str(crs), "-strict", "-schema-location", location),
        str(crs)))
    assert len(kc) == len(where) and set(kc.values()) == {"valid", "invalid"}
    socle = _by_name(bench.socle_verdicts(
        _socle_json(str(crs), "-schema-location", location, codes=(1,)), str(crs)))
    differ = {where[k]: (socle.get(k), kc[k]) for k in where if socle.get(k) != kc[k]}
    assert differ == {}, "socle vs kubeconform: (pattern, value): (socle, kubeconform)"


# --- Lists ----------------------------------------------------------------------------------------

LISTS = {
    "items.yaml": """\
apiVersion: v1
kind: List
items:
- {apiVersion: v1, kind: ConfigMap, metadata: {name: a}, data: {k: v}}
- {apiVersion: v1, kind: ConfigMap, metadata: {name: b}, data: {k: 1}}
- {kind: ConfigMap, metadata: {name: c}}
- apiVersion: v1
  kind: List
  items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: d}}
""",
    "lower.yaml": "apiVersion: v1\nkind: list\nitems:\n- {apiVersion: v1, kind: Secret, "
                  "metadata: {name: e}, data: {k: 5}}\n",
    "empty.yaml": "apiVersion: v1\nkind: List\nitems: []\n---\napiVersion: v1\nkind: List\n"
                  "---\napiVersion: v1\nkind: List\nitems: {a: 1}\n",
    "noversion.yaml": "kind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, "
                      "metadata: {name: f}}\n",
    "typed.json": json.dumps({"apiVersion": "v1", "kind": "ConfigMapList", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "g"}, "data": {"k": 2}}]}),
}


def test_lists_are_read_as_kubeconform_reads_them(kubeconform: str, schemas: str,
                                                   tmp_path: Path) -> None:
    # kubeconform reads a document of kind List (in any case) with an apiVersion as its items,
    # one level deep (a List among them is a resource of kind List: no schema), and nothing
    # when "items" is missing or not a list; socle had expanded nested Lists and reported a
    # List without items as a resource with no schema
    for name, text in LISTS.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    report = _kubeconform_json(kubeconform, str(tmp_path), schemas)
    # (kubeconform -verbose lists an empty List with no status, as an empty document)
    report["resources"] = [r for r in report["resources"] if r["status"]]
    kc = _verdicts_by_file(bench.kubeconform_verdicts(report, str(tmp_path)))
    socle = _verdicts_by_file(bench.socle_verdicts(
        _socle_json(str(tmp_path), "--no-extra-checks", codes=(1, 2)), str(tmp_path)))
    assert socle == kc
    assert kc["items.yaml"] == ["invalid", "invalid", "invalid", "valid"]
    assert "empty.yaml" not in kc


def test_whole_floats_are_integers_as_for_kubeconform(kubeconform: str, tmp_path: Path) -> None:
    # kubeconform's documents go from YAML to JSON through Go, where 2.0 becomes 2: an integer
    # for a draft-4 schema (a CRD's, or one without $schema), which draft 4 itself refuses
    location = _schema_location(tmp_path / "schemas", "thing_v1.json", {
        "type": "object", "properties": {"spec": {"type": "object", "properties": {
            "size": {"type": "integer"}, "ratio": {"type": "integer"}}}}})
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.yaml").write_text("apiVersion: x.test/v1\nkind: Thing\nmetadata: {name: a}\n"
                                 "spec: {size: 2.0, ratio: 1e2}\n")
    (docs / "b.json").write_text(json.dumps({"apiVersion": "x.test/v1", "kind": "Thing",
                                             "metadata": {"name": "b"}, "spec": {"size": 3.0}}))
    (docs / "c.yaml").write_text("apiVersion: x.test/v1\nkind: Thing\nmetadata: {name: c}\n"
                                 "spec: {size: 2.5}\n")
    kc = _by_file(bench.kubeconform_verdicts(
        _kubeconform_report(kubeconform, str(docs), "-schema-location", location), str(docs)))
    socle = _by_file(bench.socle_verdicts(
        _socle_json(str(docs), "-schema-location", location, codes=(1,)), str(docs)))
    assert socle == kc == {"a.yaml": "valid", "b.json": "valid", "c.yaml": "invalid"}


# --- reading stdin, and the summary line ---------------------------------------------------------


def test_piped_input_and_summaries_match_kubeconform(kubeconform: str, schemas: str,
                                                     tmp_path: Path) -> None:
    # `helm template . | kubeconform -strict -summary` reads stdin with no path; the summary
    # says "parsing stdin", and has a plural only above one ("0 resource found in 0 file"):
    # scripts and CI logs compare that line, so socle writes it word for word
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n"
    (tmp_path / "empty").mkdir()
    (tmp_path / "none.yaml").write_text("# nothing\n")
    (tmp_path / "one.yaml").write_text(cm % "a")
    (tmp_path / "bad.yaml").write_text(cm % "b" + "---\n" + (cm % "c").replace("v}", "1}"))
    location = os.path.join(schemas, bench.STANDALONE)
    cases: list[tuple[list[str], str | None]] = [
        ([], cm % "p" + "---\n" + cm % "q"), (["-"], cm % "r"), ([], ""), (["-"], None),
        (["empty"], None), (["none.yaml"], None), (["one.yaml"], None),
        (["none.yaml", "one.yaml", "bad.yaml"], None), (["bad.yaml"], None)]
    for paths, stdin in cases:
        feed: dict[str, Any] = {"input": stdin} if stdin is not None else {
            "stdin": subprocess.DEVNULL}
        theirs = subprocess.run(
            [kubeconform, "-strict", "-summary", "-kubernetes-version", bench.K8S_VERSION,
             "-schema-location", location, *paths], cwd=tmp_path, capture_output=True,
            text=True, timeout=120, check=False, **feed)
        ours = run_socle("validate", "-strict", "-summary", "-kubernetes-version",
                         bench.K8S_VERSION, *paths, cwd=tmp_path, stdin=stdin)
        if paths == ["-"] and stdin is None:  # /dev/null: refused by both
            assert "failing to read data from stdin" in theirs.stderr
            assert (ours.code, theirs.returncode) == (2, 1), ours.err
            continue
        summary = [line for line in theirs.stdout.splitlines() if line.startswith("Summary:")]
        assert summary, (paths, theirs.stdout, theirs.stderr)
        assert ours.out.splitlines()[-1] == summary[0], (paths, ours.err)
        assert ours.code == theirs.returncode, (paths, ours.out, theirs.stdout)


def test_named_files_are_read_by_extension_as_kubeconform_reads_them(
        kubeconform: str, schemas: str, tmp_path: Path) -> None:
    # `kubeconform $(git diff --name-only main)`: a named file that is not .yaml, .yml or
    # .json (in any case) is passed over, and every file it reads is read as YAML, which holds
    # JSON (a .json file written in YAML is valid for it)
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n"
    files = {"README.md": "# Notes\n\nnot: [a manifest\n", "Makefile": "all:\n\ttrue\n",
             "notes.txt": cm % "a", "UPPER.YAML": cm % "b", "short.Yml": cm % "c",
             "yaml.JSON": cm % "d", "flow.json": "{apiVersion: v1, kind: ConfigMap, "
             "metadata: {name: e}, data: {k: 1}}\n", "real.json": json.dumps(
                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "f"}})}
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    names = sorted(files)
    location = os.path.join(schemas, bench.STANDALONE)
    theirs = subprocess.run(
        [kubeconform, "-strict", "-summary", "-output", "json", "-verbose",
         "-kubernetes-version", bench.K8S_VERSION, "-schema-location", location, *names],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
        stdin=subprocess.DEVNULL)
    ours = run_socle("validate", "-strict", "-summary", "-o", "json", "--verbose",
                     "--no-extra-checks", "-kubernetes-version", bench.K8S_VERSION, *names,
                     cwd=tmp_path)
    kc = _by_file(bench.kubeconform_verdicts(json.loads(theirs.stdout), str(tmp_path)))
    socle = _by_file(bench.socle_verdicts(json.loads(ours.out), str(tmp_path)))
    assert socle == kc == {"UPPER.YAML": "valid", "short.Yml": "valid", "yaml.JSON": "valid",
                           "flow.json": "invalid", "real.json": "valid"}
    assert (ours.code, theirs.returncode) == (1, 1)
    # each file passed over is named on stderr, once
    assert sorted(ours.err.splitlines()) == [
        f"socle validate: {n}: not a .yaml, .yml or .json file, not read (as kubeconform); "
        "pipe it in (socle validate - < FILE) to validate it"
        for n in ("Makefile", "README.md", "notes.txt")]


_CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
EDGES = {
    "empty.yaml": "", "comment.yaml": "# c\n", "dashes.yaml": "---\n---\n", "dots.yaml": "...\n",
    "list-empty.yaml": "apiVersion: v1\nkind: List\nitems: []\n",
    "list-no-items.yaml": "apiVersion: v1\nkind: List\n",
    "list-nested.yaml": "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: List}\n",
    "empty-between.yaml": _CM + "---\n---\n" + _CM.replace("a\n", "b\n") + "---\n# end\n",
    "no-kind.yaml": "apiVersion: v1\nmetadata:\n  name: a\n", "kind-only.yaml": "kind: ConfigMap\n",
    "kind-empty.yaml": 'apiVersion: v1\nkind: ""\n', "kind-null.yaml": "apiVersion: v1\nkind: ~\n",
    "kind-number.yaml": "apiVersion: v1\nkind: 5\n", "kind-yes.yaml": "apiVersion: v1\nkind: yes\n",
    "api-number.yaml": "apiVersion: 1\nkind: ConfigMap\n", "top-list.yaml": "- a\n- b\n",
    "scalar.yaml": "hello\n", "null.yaml": "~\n",
    "no-metadata.yaml": "apiVersion: v1\nkind: Secret\n",
    "unknown-kind.yaml": "apiVersion: v1\nkind: Nope\nmetadata: {name: a}\n",
    "unknown-group.yaml": "apiVersion: x.example.com/v9\nkind: ConfigMap\nmetadata: {name: a}\n",
    "malformed.yaml": _CM + "data: [\n", "tab.yaml": "apiVersion: v1\nkind: ConfigMap\n\tx: 1\n",
    "crlf-bom.yaml": "\ufeff" + _CM.replace("\n", "\r\n"),
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_edge_documents_get_kubeconform_summary_line(kubeconform: str, schemas: str,
                                                     tmp_path: Path, name: str) -> None:
    # what counts as a resource, and as Valid, Invalid, Error or nothing, for documents at the
    # edges of a stream; the exit code is kubeconform's, except that input socle cannot use
    # (kubeconform's Errors) exits 2, not 1 (docs/validate.md, exit codes)
    (tmp_path / name).write_text(EDGES[name], encoding="utf-8")
    theirs = subprocess.run(
        [kubeconform, "-strict", "-summary", "-kubernetes-version", bench.K8S_VERSION,
         "-schema-location", os.path.join(schemas, bench.STANDALONE), name], cwd=tmp_path,
        capture_output=True, text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    ours = run_socle("validate", "-strict", "-summary", "--no-extra-checks",
                     "-kubernetes-version", bench.K8S_VERSION, name, cwd=tmp_path)
    summary = theirs.stdout.splitlines()[-1]
    assert ours.out.splitlines()[-1] == summary, (ours.out, theirs.stdout)
    errors = ", Errors: 0," not in summary
    assert ours.code == (2 if errors else theirs.returncode), (ours.out, theirs.stdout)
